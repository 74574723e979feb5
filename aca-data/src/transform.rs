//! Per-image transforms done as an image file is decoded, as torchvision does them on PIL images:
//! `RandomResizedCrop`, `Resize` + `CenterCrop`, and `ColorJitter` (DARTS's ImageNet recipe,
//! `train_imagenet.py`). Streamed image folders use them batch by batch; the rest of the
//! augmentation (flip, normalisation, cutout) stays on tensors ([`crate::augment`]).

use image::imageops::FilterType;
use image::DynamicImage;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// torchvision's `RandomResizedCrop` defaults: 8 % to 100 % of the area.
pub const CROP_SCALE: (f64, f64) = (0.08, 1.0);
/// torchvision's `RandomResizedCrop` defaults: aspect ratio 3/4 to 4/3.
pub const CROP_RATIO: (f64, f64) = (3.0 / 4.0, 4.0 / 3.0);

/// Random brightness, contrast, saturation and hue, applied in a random order per image
/// (torchvision's `ColorJitter`). A factor `f` draws from `[max(0, 1 - f), 1 + f]`; `hue` draws a
/// shift of the hue circle from `[-hue, hue]` (at most 0.5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColorJitter {
    /// DARTS ImageNet: 0.4.
    pub brightness: f32,
    /// DARTS ImageNet: 0.4.
    pub contrast: f32,
    /// DARTS ImageNet: 0.4.
    pub saturation: f32,
    /// DARTS ImageNet: 0.2.
    pub hue: f32,
}

impl ColorJitter {
    /// DARTS's ImageNet training: `ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4,
    /// hue=0.2)`.
    pub fn imagenet() -> Self {
        Self {
            brightness: 0.4,
            contrast: 0.4,
            saturation: 0.4,
            hue: 0.2,
        }
    }

    /// Checks the factors (non-negative, finite) and the hue (at most half the circle).
    pub fn validate(&self) -> Result<()> {
        let factors = [
            ("augment.color_jitter.brightness", self.brightness),
            ("augment.color_jitter.contrast", self.contrast),
            ("augment.color_jitter.saturation", self.saturation),
        ];
        for (field, f) in factors {
            if !(f.is_finite() && f >= 0.0) {
                return Err(DataError::Config {
                    field,
                    value: f.to_string(),
                    reason: "expected a factor of at least 0 (0 = unchanged)".into(),
                });
            }
        }
        if !(0.0..=0.5).contains(&self.hue) {
            return Err(DataError::Config {
                field: "augment.color_jitter.hue",
                value: self.hue.to_string(),
                reason: "expected a shift in [0, 0.5] of the hue circle".into(),
            });
        }
        Ok(())
    }

    /// Draws one image's factors and their order (the values must have passed
    /// [`Self::validate`]).
    pub fn draw(&self, rng: &mut impl Rng) -> JitterDraw {
        let mut order = [0, 1, 2, 3];
        order.shuffle(rng);
        let mut factor = |f: f32| {
            if f > 0.0 {
                rng.random_range((1.0 - f).max(0.0)..=1.0 + f)
            } else {
                1.0
            }
        };
        let (brightness, contrast, saturation) = (
            factor(self.brightness),
            factor(self.contrast),
            factor(self.saturation),
        );
        let hue = if self.hue > 0.0 {
            rng.random_range(-self.hue..=self.hue)
        } else {
            0.0
        };
        JitterDraw {
            order,
            brightness,
            contrast,
            saturation,
            hue,
        }
    }
}

/// One image's colour-jitter factors, and the order they apply in (0 brightness, 1 contrast,
/// 2 saturation, 3 hue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JitterDraw {
    /// The order of the four adjustments.
    pub order: [usize; 4],
    /// Brightness factor (1 = unchanged).
    pub brightness: f32,
    /// Contrast factor (1 = unchanged).
    pub contrast: f32,
    /// Saturation factor (1 = unchanged).
    pub saturation: f32,
    /// Hue shift in turns (0 = unchanged).
    pub hue: f32,
}

impl JitterDraw {
    /// Adjusts interleaved pixels in [0, 1] (`channels` 3 = RGB; 1 = grey, where saturation and
    /// hue do nothing, as in torchvision), clamping after each step.
    pub fn apply(&self, pixels: &mut [f32], channels: usize) {
        for &op in &self.order {
            match op {
                0 => pixels
                    .iter_mut()
                    .for_each(|p| *p = (*p * self.brightness).clamp(0.0, 1.0)),
                1 => {
                    let mean = grey(pixels, channels).iter().sum::<f32>()
                        / (pixels.len() / channels) as f32;
                    blend(pixels, |_| mean, self.contrast);
                }
                2 if channels == 3 => {
                    let g = grey(pixels, 3);
                    blend(pixels, |i| g[i / 3], self.saturation);
                }
                3 if channels == 3 && self.hue != 0.0 => shift_hue(pixels, self.hue),
                _ => {}
            }
        }
    }
}

/// ITU-R 601-2 luma of interleaved pixels, as torchvision's `rgb_to_grayscale`.
fn grey(pixels: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return pixels.to_vec();
    }
    pixels
        .chunks_exact(3)
        .map(|p| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2])
        .collect()
}

/// `factor * pixel + (1 - factor) * other(index)`, clamped to [0, 1].
fn blend(pixels: &mut [f32], other: impl Fn(usize) -> f32, factor: f32) {
    for (i, p) in pixels.iter_mut().enumerate() {
        *p = (factor * *p + (1.0 - factor) * other(i)).clamp(0.0, 1.0);
    }
}

/// Turns the hue of RGB pixels by `shift` (a fraction of the circle), through HSV.
fn shift_hue(pixels: &mut [f32], shift: f32) {
    for p in pixels.chunks_exact_mut(3) {
        let (r, g, b) = (p[0], p[1], p[2]);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        let delta = max - min;
        if delta == 0.0 {
            continue; // grey: no hue to turn
        }
        let h = if max == r {
            ((g - b) / delta).rem_euclid(6.0)
        } else if max == g {
            (b - r) / delta + 2.0
        } else {
            (r - g) / delta + 4.0
        } / 6.0;
        let h = (h + shift).rem_euclid(1.0);
        let (s, v) = (delta / max, max);
        let sector = h * 6.0;
        let i = sector.floor();
        let f = sector - i;
        let (pv, qv, tv) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
        let (r, g, b) = match i as i32 % 6 {
            0 => (v, tv, pv),
            1 => (qv, v, pv),
            2 => (pv, v, tv),
            3 => (pv, qv, v),
            4 => (tv, pv, v),
            _ => (v, pv, qv),
        };
        p.copy_from_slice(&[r, g, b]);
    }
}

/// A crop box in source pixels: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// torchvision's `RandomResizedCrop.get_params` with [`CROP_SCALE`] and [`CROP_RATIO`]: ten
/// tries at a random area and log-uniform aspect ratio that fits, else the centre crop at the
/// nearest allowed ratio.
pub fn random_crop_box(width: u32, height: u32, rng: &mut impl Rng) -> CropBox {
    let area = f64::from(width) * f64::from(height);
    let (lo, hi) = (CROP_RATIO.0.ln(), CROP_RATIO.1.ln());
    for _ in 0..10 {
        let target = area * rng.random_range(CROP_SCALE.0..=CROP_SCALE.1);
        let ratio = rng.random_range(lo..=hi).exp();
        let w = (target * ratio).sqrt().round() as u32;
        let h = (target / ratio).sqrt().round() as u32;
        if 0 < w && w <= width && 0 < h && h <= height {
            return CropBox {
                x: rng.random_range(0..=width - w),
                y: rng.random_range(0..=height - h),
                width: w,
                height: h,
            };
        }
    }
    let in_ratio = f64::from(width) / f64::from(height);
    let (w, h) = if in_ratio < CROP_RATIO.0 {
        (width, (f64::from(width) / CROP_RATIO.0).round() as u32)
    } else if in_ratio > CROP_RATIO.1 {
        ((f64::from(height) * CROP_RATIO.1).round() as u32, height)
    } else {
        (width, height)
    };
    CropBox {
        x: (width - w) / 2,
        y: (height - h) / 2,
        width: w,
        height: h,
    }
}

/// A random crop ([`random_crop_box`]) resized to `size x size` (bilinear, antialiased).
pub fn random_resized_crop(img: &DynamicImage, size: u32, rng: &mut impl Rng) -> DynamicImage {
    let b = random_crop_box(img.width(), img.height(), rng);
    img.crop_imm(b.x, b.y, b.width, b.height)
        .resize_exact(size, size, FilterType::Triangle)
}

/// The shorter side to `resize` (bilinear, antialiased when shrinking), then the centre
/// `crop x crop` (torchvision's `Resize(resize)` + `CenterCrop(crop)`; `crop <= resize`).
pub fn resize_center_crop(img: DynamicImage, resize: u32, crop: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let (nw, nh) = if w.min(h) == resize {
        (w, h)
    } else {
        let scale = f64::from(resize) / f64::from(w.min(h));
        (
            ((f64::from(w) * scale).round() as u32).max(resize),
            ((f64::from(h) * scale).round() as u32).max(resize),
        )
    };
    let img = if (nw, nh) == (w, h) {
        img
    } else {
        img.resize_exact(nw, nh, FilterType::Triangle)
    };
    if (nw, nh) == (crop, crop) {
        return img;
    }
    img.crop_imm((nw - crop) / 2, (nh - crop) / 2, crop, crop)
}
