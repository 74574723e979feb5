use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;

use aca_data::{fetch, Archive, DataError, Dataset, DatasetKind, Fetched, LoadOptions};
use md5::{Digest, Md5};

use crate::write_cifar10_dir;

/// Serves `body` to every request on a loopback port, `times` requests at most; returns the URL.
pub(crate) fn serve(body: Vec<u8>, times: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().take(times) {
            let mut stream = stream.unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}/cifar-10-binary.tar.gz")
}

/// A small cifar-10-binary.tar.gz in the official layout, built by the test.
fn small_archive() -> (Vec<u8>, aca_data::RawImages) {
    let src = tempfile::tempdir().unwrap();
    let (train, _) = write_cifar10_dir(src.path(), 2);
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    tar.append_dir_all(
        "cifar-10-batches-bin",
        src.path().join("cifar-10-batches-bin"),
    )
    .unwrap();
    (tar.into_inner().unwrap().finish().unwrap(), train)
}

fn md5_hex(bytes: &[u8]) -> String {
    format!("{:x}", Md5::digest(bytes))
}

#[test]
fn fetch_downloads_verifies_and_unpacks_from_loopback() {
    let (archive_bytes, train) = small_archive();
    let url = serve(archive_bytes.clone(), 1);
    let archive = Archive {
        url,
        md5: md5_hex(&archive_bytes),
        ..Archive::official(DatasetKind::Cifar10).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut last = (0, None);
    let got = fetch(&archive, dir.path(), |done, total| last = (done, total)).unwrap();
    assert_eq!(
        got,
        Fetched::Downloaded(dir.path().join("cifar-10-batches-bin"))
    );
    assert_eq!(
        last,
        (archive_bytes.len() as u64, Some(archive_bytes.len() as u64))
    );
    // Only the dataset folder is left: no partial archive, no staging folder.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["cifar-10-batches-bin"]);
    let data = Dataset::load(
        DatasetKind::Cifar10,
        &LoadOptions {
            data_dir: Some(dir.path().into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(data.train.label_list(), &train.labels[..]);
    // A second fetch finds it complete and downloads nothing (the server is gone).
    let again = fetch(&archive, dir.path(), |_, _| {}).unwrap();
    assert!(matches!(again, Fetched::AlreadyPresent(_)));
}

#[test]
fn wrong_checksum_leaves_nothing_that_looks_like_a_dataset() {
    let (archive_bytes, _) = small_archive();
    let url = serve(archive_bytes, 1);
    let archive = Archive {
        url,
        ..Archive::official(DatasetKind::Cifar10).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let err = fetch(&archive, dir.path(), |_, _| {}).unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("expected the published c32a1d4ab5d03f1284b67883e8d87530"),
        "{msg}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn unreachable_server_is_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x.tar.gz", listener.local_addr().unwrap());
    drop(listener);
    let archive = Archive {
        url: url.clone(),
        ..Archive::official(DatasetKind::Cifar100).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let msg = fetch(&archive, dir.path(), |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with(&format!("downloading {url}:")), "{msg}");
    assert!(!dir.path().join("cifar-100-binary").exists());
    // A --dir the fetch made itself is not left behind, empty.
    let made = dir.path().join("new/data");
    fetch(&archive, &made, |_, _| {}).unwrap_err();
    assert!(!made.exists(), "a failed fetch left {}", made.display());
}
