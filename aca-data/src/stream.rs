//! Streamed image folders: a split kept as a list of files and decoded batch by batch (a dataset
//! such as ImageNet does not fit in memory), each image through its own seeded transforms, on as
//! many threads as libtorch uses.

use std::path::PathBuf;

use crate::augment::Augment;
use crate::error::{DataError, Result};
use crate::folder::{hwc_to_chw, open};
use crate::parallel::map_in_order;
use crate::rng::rng;
use crate::transform::{random_resized_crop, resize_center_crop};

/// Separates the per-image draws from the batch's own draws (flip, cutout) in the random streams.
const IMAGE_DRAWS: u64 = 0x1a6e;

/// The files of one streamed split and the shape every image is decoded to.
#[derive(Debug)]
pub(crate) struct FileSource {
    /// Image files, index = image.
    pub paths: Vec<PathBuf>,
    /// Channels delivered (colour and grey converted to it).
    pub channels: usize,
    /// Shorter side before the centre crop (without a random resized crop).
    pub resize: usize,
    /// Side delivered.
    pub crop: usize,
}

impl FileSource {
    /// Decodes the images `indices` into CHW bytes, one image after another: each through
    /// `augment`'s random resized crop (or the resize and centre crop) and colour jitter, drawn
    /// from its own stream under `seed` and `path`, so the result does not depend on the threads.
    pub fn decode_batch(
        &self,
        indices: &[i64],
        augment: &Augment,
        seed: u64,
        path: &[u64],
    ) -> Result<Vec<u8>> {
        let threads = usize::try_from(tch::get_num_threads()).unwrap_or(1);
        let images = map_in_order(indices, threads, &self.paths[0], |position, &i| {
            let mut draw_path = path.to_vec();
            draw_path.extend([IMAGE_DRAWS, position as u64]);
            self.decode_one(i as usize, augment, seed, &draw_path)
        })?;
        Ok(images.concat())
    }

    fn decode_one(
        &self,
        index: usize,
        augment: &Augment,
        seed: u64,
        path: &[u64],
    ) -> Result<Vec<u8>> {
        let file = &self.paths[index];
        let mut r = rng(seed, path);
        let img = open(file)?;
        let img = match augment.random_resized_crop {
            Some(size) => random_resized_crop(&img, size as u32, &mut r),
            None => resize_center_crop(img, self.resize as u32, self.crop as u32),
        };
        if (img.width() as usize, img.height() as usize) != (self.crop, self.crop) {
            return Err(DataError::format(
                file,
                format!(
                    "decoded to {}x{}, expected {c}x{c}",
                    img.width(),
                    img.height(),
                    c = self.crop
                ),
            ));
        }
        let mut hwc = if self.channels == 3 {
            img.to_rgb8().into_raw()
        } else {
            img.to_luma8().into_raw()
        };
        if let Some(jitter) = &augment.color_jitter {
            let draw = jitter.draw(&mut r);
            let mut x: Vec<f32> = hwc.iter().map(|&v| f32::from(v) / 255.0).collect();
            draw.apply(&mut x, self.channels);
            hwc = x.iter().map(|&v| (v * 255.0).round() as u8).collect();
        }
        Ok(hwc_to_chw(&hwc, self.channels))
    }
}
