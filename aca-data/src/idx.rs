//! MNIST-style IDX files (`*-idx3-ubyte` images, `*-idx1-ubyte` labels), plain or gzipped.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::raw::{read_maybe_gz, Label, RawImages};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
/// The largest image side accepted from a header (guards against absurd allocations).
const MAX_SIDE: usize = 4096;

fn header(path: &Path, bytes: &[u8], magic: u32, dims: usize) -> Result<Vec<usize>> {
    let need = 4 + 4 * dims;
    if bytes.len() < need {
        return Err(DataError::format(
            path,
            format!(
                "truncated header: {} bytes, expected at least {need}",
                bytes.len()
            ),
        ));
    }
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let found = word(0);
    if found != magic {
        return Err(DataError::format(
            path,
            format!("wrong magic number 0x{found:08x}, expected 0x{magic:08x}"),
        ));
    }
    Ok((0..dims).map(|d| word(4 + 4 * d) as usize).collect())
}

fn body<'a>(
    path: &Path,
    bytes: &'a [u8],
    offset: usize,
    len: usize,
    what: &str,
) -> Result<&'a [u8]> {
    let available = bytes.len() - offset;
    if available < len {
        return Err(DataError::format(
            path,
            format!(
                "truncated: the header announces {len} bytes of {what}, the file holds {available}"
            ),
        ));
    }
    if available > len {
        return Err(DataError::format(
            path,
            format!(
                "{} bytes after the {len} bytes of {what} the header announces",
                available - len
            ),
        ));
    }
    Ok(&bytes[offset..])
}

/// Reads an IDX image file and its label file; checks they agree and labels are below `classes`.
pub fn read_idx_pair(images: &Path, labels: &Path, classes: usize) -> Result<RawImages> {
    let img = read_maybe_gz(images)?;
    let dims = header(images, &img, IMAGES_MAGIC, 3)?;
    let (n, h, w) = (dims[0], dims[1], dims[2]);
    if n == 0 || h == 0 || w == 0 || h > MAX_SIDE || w > MAX_SIDE {
        return Err(DataError::format(
            images,
            format!(
                "the header announces {n} images of {h}x{w}: expected at least one image of 1x1 to {MAX_SIDE}x{MAX_SIDE}"
            ),
        ));
    }
    let pixels = body(images, &img, 16, n * h * w, "pixels")?.to_vec();
    let lab = read_maybe_gz(labels)?;
    let count = header(labels, &lab, LABELS_MAGIC, 1)?[0];
    let labels_vec = body(labels, &lab, 8, count, "labels")?
        .iter()
        .map(|&b| Label::from(b))
        .collect();
    if count != n {
        return Err(DataError::format(
            labels,
            format!("{count} labels, but {} holds {n} images", images.display()),
        ));
    }
    let raw = RawImages {
        shape: [1, h, w],
        pixels,
        labels: labels_vec,
    };
    raw.check_labels(labels, classes)?;
    Ok(raw)
}

/// Encodes images and labels as IDX files (used by tests and tools that write datasets). IDX
/// labels are bytes: a label above 255 is refused.
pub fn encode_idx(raw: &RawImages) -> Result<(Vec<u8>, Vec<u8>)> {
    if let Some(&l) = raw.labels.iter().find(|&&l| l > 255) {
        return Err(DataError::Config {
            field: "labels",
            value: l.to_string(),
            reason: "IDX label files hold bytes: expected labels 0..=255".into(),
        });
    }
    let [_, h, w] = raw.shape;
    let mut images = Vec::with_capacity(16 + raw.pixels.len());
    for v in [IMAGES_MAGIC, raw.len() as u32, h as u32, w as u32] {
        images.extend(v.to_be_bytes());
    }
    images.extend(&raw.pixels);
    let mut labels = Vec::with_capacity(8 + raw.len());
    for v in [LABELS_MAGIC, raw.len() as u32] {
        labels.extend(v.to_be_bytes());
    }
    labels.extend(raw.labels.iter().map(|&l| l as u8));
    Ok((images, labels))
}

/// Writes a small, learnable MNIST-style dataset into `dir` (uncompressed IDX files, as
/// `--dataset mnist --data-dir DIR` reads them): `n_train` training and `n_test` test images of
/// 28x28, each class a bright 8x4 bar at its own place. For tests (the `testing` feature).
#[cfg(feature = "testing")]
pub fn write_synthetic_mnist(
    dir: &std::path::Path,
    n_train: usize,
    n_test: usize,
) -> std::io::Result<()> {
    let make = |n: usize| {
        let mut pixels = vec![0u8; n * 784];
        let labels: Vec<Label> = (0..n).map(|i| (i % 10) as Label).collect();
        for (i, &l) in labels.iter().enumerate() {
            let (r0, c0) = (2 + (l as usize / 5) * 12, 2 + (l as usize % 5) * 5);
            for r in r0..r0 + 8 {
                for c in c0..c0 + 4 {
                    pixels[i * 784 + r * 28 + c] = 180 + (i % 70) as u8;
                }
            }
        }
        RawImages {
            shape: [1, 28, 28],
            pixels,
            labels,
        }
    };
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let (img, lab) = encode_idx(&make(n)).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), img)?;
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), lab)?;
    }
    Ok(())
}
