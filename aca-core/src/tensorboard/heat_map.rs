//! Images for TensorBoard: heat maps of op weights.

use std::path::PathBuf;

use image::ImageEncoder;

use crate::error::{CoreError, Result};

/// A heat map of `rows` (each a row of values in [0, 1]) as an RGB PNG, each value a `cell` x
/// `cell` square from white (0) to dark blue (1) on a square-root scale (op weights sit mostly
/// below 0.5): returns the bytes and (width, height, 3).
pub fn heat_map_png(rows: &[Vec<f32>], cell: u32) -> Result<(Vec<u8>, (u32, u32, u32))> {
    let h = rows.len() as u32;
    let w = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let (width, height) = (w.max(1) * cell, h.max(1) * cell);
    let mut pixels = vec![255u8; (width * height * 3) as usize];
    for (r, row) in rows.iter().enumerate() {
        for (c, &v) in row.iter().enumerate() {
            let v = v.clamp(0.0, 1.0).sqrt();
            let rgb = [
                (255.0 * (1.0 - 0.9 * v)) as u8,
                (255.0 * (1.0 - 0.7 * v)) as u8,
                (255.0 * (1.0 - 0.3 * v)) as u8,
            ];
            for y in 0..cell {
                for x in 0..cell {
                    let px = ((r as u32 * cell + y) * width + c as u32 * cell + x) as usize * 3;
                    pixels[px..px + 3].copy_from_slice(&rgb);
                }
            }
        }
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&pixels, width, height, image::ColorType::Rgb8)
        .map_err(|e| CoreError::Io {
            path: PathBuf::from("<heat map>"),
            source: std::io::Error::other(e),
        })?;
    Ok((png, (width, height, 3)))
}
