//! Decoded images as they come out of the files: u8, NCHW.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::{DataError, Result};

/// A class label: wide enough for ImageNet-21k's 21,841 classes (IDX and CIFAR files hold bytes).
pub type Label = u16;

/// Images and labels decoded from one split's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawImages {
    /// Channels, height, width.
    pub shape: [usize; 3],
    /// Pixels, image after image, channel after channel (NCHW), 0..=255.
    pub pixels: Vec<u8>,
    /// One label per image.
    pub labels: Vec<Label>,
}

impl RawImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image.
    pub fn image_bytes(&self) -> usize {
        self.shape.iter().product()
    }

    pub(crate) fn append(&mut self, other: RawImages) {
        self.pixels.extend(other.pixels);
        self.labels.extend(other.labels);
    }

    /// Checks that every label is below `classes`, naming the file and the record otherwise.
    pub(crate) fn check_labels(&self, path: &Path, classes: usize) -> Result<()> {
        match self.labels.iter().position(|&l| usize::from(l) >= classes) {
            Some(i) => Err(DataError::format(
                path,
                format!(
                    "label {} of record {i} is out of range: expected 0..{classes}",
                    self.labels[i]
                ),
            )),
            None => Ok(()),
        }
    }
}

/// Reads a whole file, gunzipping it when it starts with the gzip magic bytes.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(DataError::io(path))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// `dir/name` or `dir/name.gz`, whichever exists (plain first).
pub(crate) fn find_plain_or_gz(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}
