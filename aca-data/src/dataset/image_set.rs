//! One split of a dataset: its images (in memory, or a streamed folder's files) and labels.

use std::sync::Arc;

use tch::{Kind, Tensor};

use crate::error::Result;
use crate::raw::{Label, RawImages};
use crate::stream::FileSource;

/// One split: u8 images `[N, C, H, W]` in memory (or a streamed folder's files) and i64 labels
/// `[N]`.
#[derive(Debug)]
pub struct ImageSet {
    pub(crate) pixels: Pixels,
    pub(crate) labels: Tensor,
    label_list: Vec<Label>,
}

/// Where a split's pixels are.
#[derive(Debug)]
pub(crate) enum Pixels {
    /// Decoded, u8 `[N, C, H, W]`.
    Memory(Tensor),
    /// Decoded batch by batch.
    Files(Arc<FileSource>),
}

pub(super) fn label_tensor(labels: &[Label]) -> Result<Tensor> {
    let wide: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
    Ok(Tensor::f_from_slice(&wide)?)
}

impl ImageSet {
    /// Takes decoded images into tensors.
    pub fn from_raw(raw: RawImages) -> Result<Self> {
        let [c, h, w] = raw.shape;
        let n = raw.len() as i64;
        let images =
            Tensor::f_from_slice(&raw.pixels)?.f_view([n, c as i64, h as i64, w as i64])?;
        Ok(Self {
            pixels: Pixels::Memory(images),
            labels: label_tensor(&raw.labels)?,
            label_list: raw.labels,
        })
    }

    pub(crate) fn streamed(source: FileSource, labels: Vec<Label>) -> Result<Self> {
        Ok(Self {
            pixels: Pixels::Files(Arc::new(source)),
            labels: label_tensor(&labels)?,
            label_list: labels,
        })
    }

    /// Whether the images are decoded batch by batch from their files (a streamed folder).
    pub fn is_streamed(&self) -> bool {
        matches!(self.pixels, Pixels::Files(_))
    }

    pub(crate) fn memory(&self) -> &Tensor {
        match &self.pixels {
            Pixels::Memory(t) => t,
            Pixels::Files(_) => unreachable!("only in-memory sets are resized or measured here"),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.label_list.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.label_list.is_empty()
    }

    /// u8 images `[N, C, H, W]`; `None` for a streamed folder, whose images are decoded batch by
    /// batch.
    pub fn images(&self) -> Option<&Tensor> {
        match &self.pixels {
            Pixels::Memory(t) => Some(t),
            Pixels::Files(_) => None,
        }
    }

    /// i64 labels `[N]`.
    pub fn labels(&self) -> &Tensor {
        &self.labels
    }

    /// Labels on the host.
    pub fn label_list(&self) -> &[Label] {
        &self.label_list
    }

    /// Image height and width.
    pub fn size(&self) -> usize {
        match &self.pixels {
            Pixels::Memory(t) => t.size()[2] as usize,
            Pixels::Files(f) => f.crop,
        }
    }

    /// Number of images of each class, for `classes` classes.
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &l in &self.label_list {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    /// Resized copy (antialiased bilinear, as torchvision's `Resize`; in memory), rounded back to
    /// u8.
    pub(crate) fn resized(&self, size: usize) -> Result<Self> {
        let s = size as i64;
        let images = self
            .memory()
            .f_to_kind(Kind::Float)?
            .f_internal_upsample_bilinear2d_aa([s, s], false, None, None)?
            .f_round()?
            .f_clamp(0, 255)?
            .f_to_kind(Kind::Uint8)?;
        Ok(Self {
            pixels: Pixels::Memory(images),
            labels: self.labels.shallow_clone(),
            label_list: self.label_list.clone(),
        })
    }

    /// The centre `crop x crop` (in memory).
    pub(crate) fn center_cropped(&self, crop: usize) -> Result<Self> {
        let images = self.memory();
        let (size, crop) = (images.size()[2], crop as i64);
        let start = (size - crop) / 2;
        let images = images
            .f_narrow(2, start, crop)?
            .f_narrow(3, start, crop)?
            .f_contiguous()?;
        Ok(Self {
            pixels: Pixels::Memory(images),
            labels: self.labels.shallow_clone(),
            label_list: self.label_list.clone(),
        })
    }

    /// Per-channel mean and std of the pixels scaled to [0, 1] (in memory).
    pub(crate) fn stats(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let x = self.memory().f_to_kind(Kind::Double)?.f_div_scalar(255.0)?;
        let c = x.size()[1];
        let per_channel = x.f_transpose(0, 1)?.f_reshape([c, -1])?;
        let mean = per_channel.f_mean_dim(1, false, Kind::Double)?;
        let std = per_channel.f_std_correction(1, 0, false)?;
        let to_vec = |t: Tensor| -> Result<Vec<f32>> {
            Ok(Vec::<f64>::try_from(t)?
                .into_iter()
                .map(|v| v as f32)
                .collect())
        };
        Ok((to_vec(mean)?, to_vec(std)?))
    }
}
