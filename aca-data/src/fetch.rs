//! Downloading the official CIFAR archives and SVHN files: MD5-checked, unpacked or moved into
//! place atomically.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::read::GzDecoder;
use md5::{Digest, Md5};
use tracing::info;

use crate::error::{DataError, Result};
use crate::kind::DatasetKind;

/// A downloadable archive and what it must unpack to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// The dataset it holds.
    pub dataset: DatasetKind,
    /// Where to download it from.
    pub url: String,
    /// Its published MD5, lowercase hex.
    pub md5: String,
    /// The folder it unpacks to.
    pub folder: &'static str,
    /// Files that folder must hold.
    pub files: &'static [&'static str],
    /// A `.tar.gz` archive, or the file itself.
    pub packing: Packing,
}

/// How a download holds its dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// A `.tar.gz` archive that unpacks to the folder (CIFAR).
    TarGz,
    /// The one file of [`Archive::files`] itself, moved into the folder (SVHN's `.mat` files).
    File,
}

impl Archive {
    /// The official archive of a dataset, with its published checksum (CIFAR only; the MNIST
    /// family comes from Debian's packages or the user's files).
    pub fn official(kind: DatasetKind) -> Option<Self> {
        let (url, md5, folder, files): (&str, &str, &'static str, &'static [&'static str]) =
            match kind {
                DatasetKind::Cifar10 => (
                    "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                    "c32a1d4ab5d03f1284b67883e8d87530",
                    "cifar-10-batches-bin",
                    &[
                        "data_batch_1.bin",
                        "data_batch_2.bin",
                        "data_batch_3.bin",
                        "data_batch_4.bin",
                        "data_batch_5.bin",
                        "test_batch.bin",
                    ],
                ),
                DatasetKind::Cifar100 => (
                    "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                    "03b5dce01913d631647c71ecec9e9cb8",
                    "cifar-100-binary",
                    &["train.bin", "test.bin"],
                ),
                DatasetKind::Svhn => return Self::svhn(false).into_iter().next(),
                DatasetKind::FashionMnist | DatasetKind::Mnist | DatasetKind::Folder => {
                    return None
                }
            };
        Some(Self {
            dataset: kind,
            url: url.into(),
            md5: md5.into(),
            folder,
            files,
            packing: Packing::TarGz,
        })
    }

    /// Every official download of a dataset: CIFAR's archive, or SVHN's `train_32x32.mat` and
    /// `test_32x32.mat` (and `extra_32x32.mat` with `extra`) into `svhn/`.
    pub fn all_official(kind: DatasetKind, extra: bool) -> Vec<Self> {
        match kind {
            DatasetKind::Svhn => Self::svhn(extra),
            other => Self::official(other).into_iter().collect(),
        }
    }

    /// SVHN's files, with the MD5s torchvision's `SVHN` dataset checks.
    fn svhn(extra: bool) -> Vec<Self> {
        let files: [(&'static [&'static str], &str, &str); 3] = [
            (
                &["train_32x32.mat"],
                "train_32x32.mat",
                "e26dedcc434d2e4c54c9b2d4a06d8373",
            ),
            (
                &["test_32x32.mat"],
                "test_32x32.mat",
                "eb5a983be6a315427106f1b164d9cef3",
            ),
            (
                &["extra_32x32.mat"],
                "extra_32x32.mat",
                "a93ce644f1a588dc4d68dda5feec44a7",
            ),
        ];
        files
            .into_iter()
            .take(if extra { 3 } else { 2 })
            .map(|(list, name, md5)| Self {
                dataset: DatasetKind::Svhn,
                url: format!("http://ufldl.stanford.edu/housenumbers/{name}"),
                md5: md5.into(),
                folder: "svhn",
                files: list,
                packing: Packing::File,
            })
            .collect()
    }

    fn file_name(&self) -> &str {
        self.url
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or("archive.tar.gz")
    }

    fn missing_in(&self, folder: &Path) -> Option<&'static str> {
        self.files
            .iter()
            .copied()
            .find(|f| !folder.join(f).is_file())
    }
}

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Downloaded, verified and unpacked into this folder.
    Downloaded(PathBuf),
    /// The folder was already there and complete; nothing was downloaded.
    AlreadyPresent(PathBuf),
}

/// Downloads `archive` into `dir`, checks its MD5 and unpacks it. The dataset folder appears
/// only once complete (unpacked beside it, then renamed); a failed or corrupt download leaves no
/// folder that looks like a dataset. `progress(bytes_so_far, total)` is called as data arrives.
pub fn fetch(
    archive: &Archive,
    dir: &Path,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Fetched> {
    let target = dir.join(archive.folder);
    if archive.packing == Packing::File {
        return fetch_file(archive, dir, &mut progress);
    }
    if target.exists() {
        return match archive.missing_in(&target) {
            None => Ok(Fetched::AlreadyPresent(target)),
            Some(f) => Err(DataError::format(
                &target,
                format!("exists but lacks {f}; remove the folder and fetch again"),
            )),
        };
    }
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(DataError::io(dir))?;
    let partial = dir.join(format!(".{}.partial", archive.file_name()));
    let result =
        download(archive, &partial, &mut progress).and_then(|()| unpack(archive, &partial, dir));
    let _ = std::fs::remove_file(&partial);
    if result.is_err() && created {
        // A failed fetch leaves no empty folder it made (remove_dir only removes an empty one).
        let _ = std::fs::remove_dir(dir);
    }
    result.map(|()| Fetched::Downloaded(target))
}

/// A single-file download: into `dir/FOLDER/FILE` once verified (downloaded beside it first).
fn fetch_file(
    archive: &Archive,
    dir: &Path,
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<Fetched> {
    let folder = dir.join(archive.folder);
    let name = archive.files.first().copied().unwrap_or("data");
    let target = folder.join(name);
    if target.is_file() {
        return Ok(Fetched::AlreadyPresent(folder));
    }
    let created = !dir.exists();
    std::fs::create_dir_all(&folder).map_err(DataError::io(&folder))?;
    let partial = folder.join(format!(".{name}.partial"));
    let result = download(archive, &partial, progress)
        .and_then(|()| std::fs::rename(&partial, &target).map_err(DataError::io(&target)));
    let _ = std::fs::remove_file(&partial);
    if result.is_err() {
        let _ = std::fs::remove_dir(&folder);
        if created {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result.map(|()| Fetched::Downloaded(folder))
}

fn download(
    archive: &Archive,
    to: &Path,
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<()> {
    let failed = |reason: String| DataError::Download {
        url: archive.url.clone(),
        reason,
    };
    info!(url = %archive.url, "downloading");
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout_read(Duration::from_secs(120))
        .build();
    let response = agent
        .get(&archive.url)
        .call()
        .map_err(|e| failed(e.to_string()))?;
    let total = response
        .header("Content-Length")
        .and_then(|v| v.parse().ok());
    let mut reader = response.into_reader();
    let mut file = File::create(to).map_err(DataError::io(to))?;
    let mut hasher = Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = reader.read(&mut buf).map_err(|e| failed(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(DataError::io(to))?;
        done += n as u64;
        progress(done, total);
    }
    file.sync_all().map_err(DataError::io(to))?;
    if let Some(total) = total.filter(|&t| t != done) {
        return Err(failed(format!(
            "connection closed after {done} of {total} bytes"
        )));
    }
    let found = format!("{:x}", hasher.finalize());
    if found != archive.md5.to_lowercase() {
        return Err(DataError::Checksum {
            path: to.to_path_buf(),
            expected: archive.md5.clone(),
            found,
        });
    }
    Ok(())
}

fn unpack(archive: &Archive, from: &Path, dir: &Path) -> Result<()> {
    let staging = dir.join(format!(".{}.unpacking", archive.folder));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| {
        let file = File::open(from).map_err(DataError::io(from))?;
        tar::Archive::new(GzDecoder::new(file))
            .unpack(&staging)
            .map_err(|e| DataError::format(from, format!("cannot unpack: {e}")))?;
        let unpacked = staging.join(archive.folder);
        if let Some(f) = archive.missing_in(&unpacked) {
            return Err(DataError::format(
                from,
                format!("the archive does not hold {}/{f}", archive.folder),
            ));
        }
        let target = dir.join(archive.folder);
        std::fs::rename(&unpacked, &target).map_err(DataError::io(&target))
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}
