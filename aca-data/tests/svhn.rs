//! SVHN's MATLAB 5 files: read, split, normalised, fetched; bad files refused by field.

use aca_data::{
    fetch, read_svhn_mat, write_svhn_mat, Archive, Dataset, DatasetKind, Fetched, LoadOptions,
    Packing,
};

/// `n` 3x32x32 images whose every pixel encodes (image, channel, row, column) differently, so a
/// transposition or a swapped channel shows, and labels cycling through 0-9.
fn images(n: usize) -> (Vec<u8>, Vec<u16>) {
    let mut px = Vec::with_capacity(n * 3072);
    for i in 0..n {
        for c in 0..3 {
            for h in 0..32 {
                for w in 0..32 {
                    px.push(((i * 7 + c * 50 + h * 3 + w) % 256) as u8);
                }
            }
        }
    }
    ((px), (0..n).map(|i| (i % 10) as u16).collect())
}

#[test]
fn both_forms_of_the_mat_file_read_back_in_nchw_with_digit_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = images(12);
    for compressed in [false, true] {
        let path = dir.path().join(format!("x{compressed}.mat"));
        write_svhn_mat(&path, &px, &labels, compressed).unwrap();
        let raw = read_svhn_mat(&path).unwrap();
        assert_eq!(raw.shape, [3, 32, 32]);
        assert_eq!(raw.labels, labels, "10 in the file is the digit 0");
        assert!(raw.pixels == px, "compressed {compressed}: pixels moved");
    }
}

#[test]
fn the_dataset_loads_with_robust_darts_statistics_from_dir_or_dir_svhn() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("svhn");
    std::fs::create_dir_all(&nested).unwrap();
    let (px, labels) = images(20);
    write_svhn_mat(&nested.join("train_32x32.mat"), &px, &labels, true).unwrap();
    let (tpx, tlabels) = images(10);
    write_svhn_mat(&nested.join("test_32x32.mat"), &tpx, &tlabels, false).unwrap();
    for data_dir in [dir.path().to_path_buf(), nested.clone()] {
        let data = Dataset::load(
            DatasetKind::Svhn,
            &LoadOptions {
                data_dir: Some(data_dir),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(data.info.classes, 10);
        assert_eq!((data.info.channels, data.info.size), (3, 32));
        assert_eq!(data.info.mean, [0.4377, 0.4438, 0.4728]);
        assert_eq!(data.info.std, [0.1980, 0.2010, 0.1970]);
        assert_eq!(data.train.label_list(), &labels[..]);
        assert_eq!(data.test.label_list(), &tlabels[..]);
    }
    let e = Dataset::load(
        DatasetKind::Svhn,
        &LoadOptions {
            data_dir: Some(dir.path().join("nowhere")),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("set data_dir to a folder holding train_32x32.mat"),
        "{e}"
    );
}

#[test]
fn truncated_or_misshapen_files_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (px, labels) = images(4);
    let good = dir.path().join("good.mat");
    write_svhn_mat(&good, &px, &labels, false).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.mat");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let e = read_svhn_mat(&cut).unwrap_err().to_string();
    assert!(e.contains("cut.mat") && e.contains("truncated"), "{e}");
    // A label out of 1-10.
    let bad = dir.path().join("bad.mat");
    write_svhn_mat(&bad, &px, &[1, 2, 3, 11], false).unwrap();
    let e = read_svhn_mat(&bad).unwrap_err().to_string();
    assert!(e.contains("`y` label 3 is 11"), "{e}");
    // Not an SVHN file: no X.
    let other = dir.path().join("other.mat");
    std::fs::write(&other, &bytes[..128]).unwrap();
    let e = read_svhn_mat(&other).unwrap_err().to_string();
    assert!(e.contains("no array `X`"), "{e}");
    let text = dir.path().join("text.mat");
    std::fs::write(&text, "not a mat file").unwrap();
    let e = read_svhn_mat(&text).unwrap_err().to_string();
    assert!(e.contains("not a little-endian MATLAB 5 file"), "{e}");
}

#[test]
fn svhn_is_fetched_file_by_file_into_svhn() {
    let official = Archive::all_official(DatasetKind::Svhn, false);
    let names: Vec<_> = official.iter().map(|a| a.files[0]).collect();
    assert_eq!(names, ["train_32x32.mat", "test_32x32.mat"]);
    assert_eq!(Archive::all_official(DatasetKind::Svhn, true).len(), 3);
    assert!(official.iter().all(|a| a.packing == Packing::File
        && a.url.starts_with("http://ufldl.stanford.edu/housenumbers/")));
    let (px, labels) = images(3);
    let src = tempfile::tempdir().unwrap();
    let file = src.path().join("train_32x32.mat");
    write_svhn_mat(&file, &px, &labels, true).unwrap();
    let body = std::fs::read(&file).unwrap();
    let md5 = format!("{:x}", <md5::Md5 as md5::Digest>::digest(&body));
    let url = crate::fetch::serve(body, 1);
    let archive = Archive {
        url,
        md5,
        ..official[0].clone()
    };
    let dir = tempfile::tempdir().unwrap();
    let got = fetch(&archive, dir.path(), |_, _| {}).unwrap();
    assert_eq!(got, Fetched::Downloaded(dir.path().join("svhn")));
    assert_eq!(
        read_svhn_mat(&dir.path().join("svhn/train_32x32.mat"))
            .unwrap()
            .labels,
        labels
    );
    let names: Vec<_> = std::fs::read_dir(dir.path().join("svhn"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["train_32x32.mat"], "no partial file left");
    assert!(matches!(
        fetch(&archive, dir.path(), |_, _| {}).unwrap(),
        Fetched::AlreadyPresent(_)
    ));
    // A wrong checksum leaves no file.
    let (px2, _) = images(2);
    write_svhn_mat(&file, &px2, &[1, 2], false).unwrap();
    let url = crate::fetch::serve(std::fs::read(&file).unwrap(), 1);
    let fresh = tempfile::tempdir().unwrap();
    let e = fetch(&Archive { url, ..archive }, fresh.path(), |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("expected the published"), "{e}");
    assert!(!fresh.path().join("svhn").exists());
}
