//! Predictions of a trained evaluation network on image files, for a check by hand.

use std::path::{Path, PathBuf};

use aca_data::DatasetInfo;
use tch::{Device, Kind, Tensor};

use crate::error::Result;
use crate::train::{files, read_json, TrainConfig};

/// The `k` most likely classes of one image.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// The image file.
    pub path: PathBuf,
    /// (label, class name, probability), most likely first.
    pub top: Vec<(usize, String, f64)>,
}

/// The dataset facts a training run saw: its `dataset.json`, or, for runs older than that file,
/// the dataset read again through the run's configuration.
pub fn run_dataset(dir: &Path) -> Result<DatasetInfo> {
    let saved = dir.join(files::DATASET);
    if saved.is_file() {
        return read_json(&saved);
    }
    let config: TrainConfig = read_json(&dir.join(files::CONFIG))?;
    Ok(config.data.load()?.info)
}

/// Runs the trained network of the training run `dir` (inference mode: no auxiliary head, no
/// drop path) on each image, read as the run's images were (channels, size, normalisation).
pub fn predict(
    dir: &Path,
    images: &[PathBuf],
    k: usize,
    device: Device,
) -> Result<Vec<Prediction>> {
    let (net, _) = crate::train::load_trained(dir, device)?;
    let info = run_dataset(dir)?;
    // An image folder's test transform: the shorter side resized, then the centre (DARTS
    // ImageNet: 256, then 224).
    let config: TrainConfig = read_json(&dir.join(files::CONFIG))?;
    let (resize, crop) = match (config.data.resize, config.data.center_crop) {
        (Some(r), Some(c)) => (r, c),
        _ => (info.size, info.size),
    };
    let c = info.channels as i64;
    let s = info.size as i64;
    let mean = Tensor::f_from_slice(&info.mean)?.f_view([1, c, 1, 1])?;
    let std = Tensor::f_from_slice(&info.std)?.f_view([1, c, 1, 1])?;
    let k = k.clamp(1, info.classes);
    let mut out = Vec::with_capacity(images.len());
    for path in images {
        let pixels = aca_data::read_image_cropped(path, info.channels, resize, crop)?;
        let x = Tensor::f_from_slice(&pixels)?
            .f_view([1, c, s, s])?
            .f_to_kind(Kind::Float)?
            .f_div_scalar(255.0)?
            .f_sub(&mean)?
            .f_div(&std)?
            .f_to_device(device)?;
        let probs = tch::no_grad(|| net.forward_t(&x, false).logits.f_softmax(-1, Kind::Float))?;
        let (p, idx) = probs.f_topk(k as i64, -1, true, true)?;
        let p = Vec::<f32>::try_from(p.f_flatten(0, -1)?)?;
        let idx = Vec::<i64>::try_from(idx.f_flatten(0, -1)?)?;
        let top = idx
            .iter()
            .zip(&p)
            .map(|(&i, &p)| {
                let name = info
                    .class_names
                    .get(i as usize)
                    .cloned()
                    .unwrap_or_default();
                (i as usize, name, f64::from(p))
            })
            .collect();
        out.push(Prediction {
            path: path.clone(),
            top,
        });
    }
    Ok(out)
}
