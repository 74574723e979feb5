//! Finding a dataset's official files, and errors that say where they were looked for.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::kind::DatasetKind;

/// CIFAR-10's five training batches hold equal numbers of records (10,000 each in the official
/// files, which also have 10,000 test records): a batch with one record more or less is a damaged
/// file, not a dataset to train on silently.
pub(super) fn check_cifar10_counts(
    train: &[PathBuf],
    test: &Path,
    test_records: usize,
) -> Result<()> {
    let record = 1 + 3 * 32 * 32;
    if train
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "gz"))
    {
        return Ok(()); // sizes on disk are compressed sizes
    }
    let counts: Vec<u64> = train
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() / record as u64)
                .unwrap_or(0)
        })
        .collect();
    if let Some((i, &c)) = counts.iter().enumerate().find(|(_, &c)| c != counts[0]) {
        return Err(DataError::format(
            &train[i],
            format!(
                "{c} records, but {} holds {}: CIFAR-10's training batches hold equal numbers (10,000 each)",
                train[0].display(),
                counts[0]
            ),
        ));
    }
    if counts.first() == Some(&10_000) && test_records != 10_000 {
        return Err(DataError::format(
            test,
            format!("{test_records} records, but the official test batch holds 10,000"),
        ));
    }
    Ok(())
}

pub(super) fn not_found(kind: DatasetKind, dir: &Path, file: &str) -> DataError {
    let hint = match kind {
        DatasetKind::FashionMnist => format!(
            "missing {file}[.gz]; install Debian's dataset-fashion-mnist (scripts/setup does) or set data_dir to a folder holding the four IDX files"
        ),
        DatasetKind::Mnist => format!("missing {file}[.gz]; set data_dir to a folder holding the four MNIST IDX files"),
        DatasetKind::Cifar10 | DatasetKind::Cifar100 => format!(
            "missing {file}; set data_dir to a folder holding the binary version"
        ),
        DatasetKind::Svhn => format!(
            "missing {file}; set data_dir to a folder holding train_32x32.mat and test_32x32.mat"
        ),
        DatasetKind::Folder => format!("missing {file}"),
    };
    DataError::NotFound {
        dataset: kind,
        dir: dir.to_path_buf(),
        hint,
    }
}

/// The folder holding CIFAR's files: `dir/FOLDER` or `dir` itself.
pub(super) fn cifar_root(
    dir: &Path,
    folder: &str,
    probe: &str,
    kind: DatasetKind,
) -> Result<PathBuf> {
    let nested = dir.join(folder);
    if nested.is_dir() {
        Ok(nested)
    } else if dir.join(probe).is_file() {
        Ok(dir.to_path_buf())
    } else {
        Err(not_found(kind, dir, &format!("{folder}/{probe}")))
    }
}

pub(super) fn existing(files: &[PathBuf], kind: DatasetKind, root: &Path) -> Result<Vec<PathBuf>> {
    match files.iter().find(|f| !f.is_file()) {
        Some(f) => Err(not_found(
            kind,
            root,
            &f.file_name().unwrap_or_default().to_string_lossy(),
        )),
        None => Ok(files.to_vec()),
    }
}

/// Class names, one per line, if the file exists; an error if it has the wrong count.
pub(super) fn read_names(path: &Path, classes: usize) -> Result<Option<Vec<String>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(DataError::io(path))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != classes {
        return Err(DataError::format(
            path,
            format!("{} class names, expected {classes}", names.len()),
        ));
    }
    Ok(Some(names))
}
