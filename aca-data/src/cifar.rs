//! CIFAR-10 and CIFAR-100 binary versions.

use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::raw::{read_maybe_gz, Label, RawImages};

const PIXELS: usize = 3 * 32 * 32;

/// Reads CIFAR binary records: `label_bytes` label bytes (1 for CIFAR-10; 2 for CIFAR-100: coarse,
/// fine), then 3072 pixels (R, G, B planes of 32x32). `label_index` picks the label byte used.
pub fn read_cifar_file(
    path: &Path,
    label_bytes: usize,
    label_index: usize,
    classes: usize,
) -> Result<RawImages> {
    let bytes = read_maybe_gz(path)?;
    let record = label_bytes + PIXELS;
    if bytes.is_empty() {
        return Err(DataError::format(path, "the file is empty"));
    }
    if bytes.len() % record != 0 {
        return Err(DataError::format(
            path,
            format!(
                "truncated record: {} bytes is not a whole number of {record}-byte records ({} whole, {} bytes left over)",
                bytes.len(),
                bytes.len() / record,
                bytes.len() % record
            ),
        ));
    }
    let n = bytes.len() / record;
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for rec in bytes.chunks_exact(record) {
        labels.push(Label::from(rec[label_index]));
        pixels.extend_from_slice(&rec[label_bytes..]);
    }
    let raw = RawImages {
        shape: [3, 32, 32],
        pixels,
        labels,
    };
    raw.check_labels(path, classes)?;
    Ok(raw)
}

/// Reads several CIFAR files into one split, in the order given.
pub fn read_cifar_files(
    paths: &[PathBuf],
    label_bytes: usize,
    label_index: usize,
    classes: usize,
) -> Result<RawImages> {
    let mut all: Option<RawImages> = None;
    for p in paths {
        let part = read_cifar_file(p, label_bytes, label_index, classes)?;
        match &mut all {
            Some(a) => a.append(part),
            None => all = Some(part),
        }
    }
    all.ok_or_else(|| DataError::format(PathBuf::new(), "no CIFAR files given"))
}

/// Encodes images as CIFAR binary records (`labels` holds `label_bytes` bytes per image).
pub fn encode_cifar(pixels: &[u8], labels: &[u8], label_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() + labels.len());
    for (img, lab) in pixels
        .chunks_exact(PIXELS)
        .zip(labels.chunks_exact(label_bytes))
    {
        out.extend_from_slice(lab);
        out.extend_from_slice(img);
    }
    out
}
