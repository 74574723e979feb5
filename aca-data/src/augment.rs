//! Seeded batch augmentation as tensor operations: random crop with zero padding, horizontal
//! flip, normalisation, cutout (DARTS's order: crop, flip, to-tensor, normalise, cutout). The
//! ImageNet recipe's random resized crop and colour jitter are per-image transforms of streamed
//! folders, done as each file is decoded ([`crate::transform`]), before the flip.

use rand::Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::error::Result;
use crate::transform::ColorJitter;

/// Augmentation settings for one loader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// Zero padding on each side before a random crop back to the image size; 0 = no crop.
    /// DARTS CIFAR: 4.
    pub crop_padding: usize,
    /// Random horizontal flip with probability 0.5. DARTS CIFAR: on.
    pub hflip: bool,
    /// Cutout square side in pixels, on the normalised image; 0 = off. DARTS evaluation: 16.
    pub cutout: usize,
    /// A random crop of 8-100 % of the area at aspect 3/4-4/3, resized to this side
    /// (torchvision's `RandomResizedCrop`), instead of the resize and centre crop; streamed image
    /// folders only. DARTS ImageNet: 224.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_resized_crop: Option<usize>,
    /// Random brightness, contrast, saturation and hue; streamed image folders only. DARTS
    /// ImageNet: 0.4, 0.4, 0.4, 0.2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_jitter: Option<ColorJitter>,
}

impl Default for Augment {
    /// DARTS's CIFAR training augmentation without cutout (the search's).
    fn default() -> Self {
        Self {
            crop_padding: 4,
            hflip: true,
            cutout: 0,
            random_resized_crop: None,
            color_jitter: None,
        }
    }
}

impl Augment {
    /// No augmentation (validation and test).
    pub fn none() -> Self {
        Self {
            crop_padding: 0,
            hflip: false,
            cutout: 0,
            random_resized_crop: None,
            color_jitter: None,
        }
    }

    /// DARTS's ImageNet training (`train_imagenet.py`): random resized crop to `size`, flip and
    /// colour jitter (0.4, 0.4, 0.4, 0.2), no padding crop, no cutout.
    pub fn imagenet(size: usize) -> Self {
        Self {
            hflip: true,
            random_resized_crop: Some(size),
            color_jitter: Some(ColorJitter::imagenet()),
            ..Self::none()
        }
    }

    /// Whether anything random happens.
    pub fn is_identity(&self) -> bool {
        self.crop_padding == 0 && !self.hflip && self.cutout == 0 && !self.at_decode()
    }

    /// Whether part of it happens as each image is decoded (a streamed folder's transforms).
    pub fn at_decode(&self) -> bool {
        self.random_resized_crop.is_some() || self.color_jitter.is_some()
    }

    /// Draws the random choices for a batch of `n` images of `size x size`.
    pub fn draw(&self, n: usize, size: usize, rng: &mut impl Rng) -> Draws {
        let span = 2 * self.crop_padding as i64 + 1;
        let size = size as i64;
        Draws {
            offsets: (0..n)
                .map(|_| (rng.random_range(0..span), rng.random_range(0..span)))
                .collect(),
            flips: (0..n).map(|_| self.hflip && rng.random_bool(0.5)).collect(),
            cutout_centres: if self.cutout > 0 {
                (0..n)
                    .map(|_| (rng.random_range(0..size), rng.random_range(0..size)))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// The random choices of one batch, explicit so that tests can fix them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draws {
    /// Crop offsets (row, column) into the padded image, each in `0..=2*padding`.
    pub offsets: Vec<(i64, i64)>,
    /// Whether each image is flipped.
    pub flips: Vec<bool>,
    /// Cutout centres (row, column); empty without cutout.
    pub cutout_centres: Vec<(i64, i64)>,
}

/// Per-channel normalisation.
#[derive(Debug)]
pub struct Normalize {
    mean: Tensor,
    std: Tensor,
}

impl Normalize {
    /// From per-channel mean and std (of pixels in [0, 1]).
    pub fn new(mean: &[f32], std: &[f32], device: Device) -> Result<Self> {
        let c = mean.len() as i64;
        Ok(Self {
            mean: Tensor::f_from_slice(mean)?
                .f_view([1, c, 1, 1])?
                .f_to_device(device)?,
            std: Tensor::f_from_slice(std)?
                .f_view([1, c, 1, 1])?
                .f_to_device(device)?,
        })
    }
}

/// Turns a u8 batch `[B, C, H, W]` into a normalised f32 batch with the drawn augmentation.
pub fn apply(
    images_u8: &Tensor,
    augment: &Augment,
    draws: &Draws,
    norm: &Normalize,
) -> Result<Tensor> {
    let device = images_u8.device();
    let (b, c, h, w) = images_u8.size4()?;
    let mut x = images_u8.f_to_kind(Kind::Float)?.f_div_scalar(255.0)?;
    if augment.crop_padding > 0 || augment.hflip {
        let p = augment.crop_padding as i64;
        let padded = if p > 0 {
            x.f_constant_pad_nd([p, p, p, p])?
        } else {
            x
        };
        let opts = (Kind::Int64, device);
        let (oy, ox): (Vec<i64>, Vec<i64>) = draws.offsets.iter().copied().unzip();
        let oy = Tensor::f_from_slice(&oy)?
            .f_to_device(device)?
            .f_view([b, 1])?;
        let ox = Tensor::f_from_slice(&ox)?
            .f_to_device(device)?
            .f_view([b, 1])?;
        let flips: Vec<i64> = draws.flips.iter().map(|&f| i64::from(f)).collect();
        let flip = Tensor::f_from_slice(&flips)?
            .f_to_device(device)?
            .f_view([b, 1])?;
        let ar_h = Tensor::f_arange(h, opts)?.f_view([1, h])?;
        let ar_w = Tensor::f_arange(w, opts)?.f_view([1, w])?;
        // Flipped columns read w-1-j instead of j.
        let cols_in_crop = &ar_w + &flip * (Tensor::from(w - 1) - &ar_w * 2);
        let rows = (oy + ar_h)
            .f_view([b, 1, h, 1])?
            .f_expand([b, c, h, padded.size()[3]], false)?;
        let cols = (ox + cols_in_crop)
            .f_view([b, 1, 1, w])?
            .f_expand([b, c, h, w], false)?;
        x = padded
            .f_gather(2, &rows, false)?
            .f_gather(3, &cols, false)?;
    }
    x = x.f_sub(&norm.mean)?.f_div(&norm.std)?;
    if augment.cutout > 0 {
        let half = augment.cutout as i64 / 2;
        let (cy, cx): (Vec<i64>, Vec<i64>) = draws.cutout_centres.iter().copied().unzip();
        let band = |centres: Vec<i64>, len: i64, shape: [i64; 4]| -> Result<Tensor> {
            let centre = Tensor::f_from_slice(&centres)?
                .f_to_device(device)?
                .f_view([b, 1])?;
            let ar = Tensor::f_arange(len, (Kind::Int64, device))?.f_view([1, len])?;
            let lo = (&centre - half).f_clamp(0, len)?;
            let hi = (&centre + half).f_clamp(0, len)?;
            Ok(ar
                .f_ge_tensor(&lo)?
                .f_logical_and(&ar.f_lt_tensor(&hi)?)?
                .f_view(shape)?)
        };
        let in_rows = band(cy, h, [b, 1, h, 1])?;
        let in_cols = band(cx, w, [b, 1, 1, w])?;
        let keep = in_rows
            .f_logical_and(&in_cols)?
            .f_logical_not()?
            .f_to_kind(Kind::Float)?;
        x = x.f_mul(&keep)?;
    }
    Ok(x)
}
