//! Loading a dataset from its official files into memory, once, as u8 tensors (or, for a
//! streamed image folder, as a list of files decoded batch by batch).

use std::path::PathBuf;

use tch::Device;
use tracing::info;

use crate::cifar::read_cifar_files;
use crate::error::{DataError, Result};
use crate::folder::{
    cached_stats, decode_entries, list_folder, read_folder, store_stats, CachedStats, STATS_CACHE,
};
use crate::idx::read_idx_pair;
use crate::kind::{DatasetInfo, DatasetKind};
use crate::raw::find_plain_or_gz;
use crate::stream::FileSource;
use crate::svhn::read_svhn_mat;

mod files;
mod image_set;

use files::{check_cifar10_counts, cifar_root, existing, not_found, read_names};
pub use image_set::ImageSet;
pub(crate) use image_set::Pixels;

/// The largest `resize` accepted: far above any preset, far below an allocation that cannot be
/// made (`--resize 100000` would ask for petabytes).
pub const MAX_RESIZE: usize = 1024;

/// A dataset's facts and its train and test splits in memory.
#[derive(Debug)]
pub struct Dataset {
    /// Facts: channels, size, classes, normalisation.
    pub info: DatasetInfo,
    /// The official training split (DARTS splits it into search-train and search-valid).
    pub train: ImageSet,
    /// The official test split, kept for the final evaluation only.
    pub test: ImageSet,
}

/// How to read a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Folder of the files; `None` takes [`DatasetKind::default_dir`].
    pub data_dir: Option<PathBuf>,
    /// CIFAR-100: use the 20 coarse labels instead of the 100 fine ones.
    pub coarse_labels: bool,
    /// Resize images to `size x size` once at load (small CPU presets; an image folder's
    /// shorter side, then its centre).
    pub resize: Option<usize>,
    /// Keep the centre `crop x crop` after the resize (DARTS ImageNet: resize 256, crop 224).
    pub center_crop: Option<usize>,
    /// An image folder's images decoded batch by batch instead of held in memory (needs a
    /// resize).
    pub stream: bool,
}

/// A streamed folder's channel statistics come from at most this many training images, evenly
/// spaced over the sorted files.
pub const STREAM_STATS_SAMPLE: usize = 10_000;

impl Dataset {
    /// Reads `kind` from its official files and keeps it in memory.
    pub fn load(kind: DatasetKind, opts: &LoadOptions) -> Result<Self> {
        let dir = opts.data_dir.clone().unwrap_or_else(|| kind.default_dir());
        if opts.coarse_labels && kind != DatasetKind::Cifar100 {
            return Err(DataError::Config {
                field: "coarse_labels",
                value: kind.to_string(),
                reason: "only CIFAR-100 has coarse labels".into(),
            });
        }
        for (field, size) in [("resize", opts.resize), ("center_crop", opts.center_crop)] {
            match size {
                Some(0) => {
                    return Err(DataError::Config {
                        field,
                        value: "0".into(),
                        reason: "expected an image size of at least 1".into(),
                    })
                }
                Some(s) if s > MAX_RESIZE => {
                    return Err(DataError::Config {
                        field,
                        value: s.to_string(),
                        reason: format!("expected an image size of at most {MAX_RESIZE}"),
                    })
                }
                _ => {}
            }
        }
        if let (Some(r), Some(c)) = (opts.resize, opts.center_crop) {
            if c > r {
                return Err(DataError::Config {
                    field: "center_crop",
                    value: c.to_string(),
                    reason: format!("larger than the resize {r}: expected at most {r}"),
                });
            }
        }
        if opts.stream {
            return Self::load_streamed(kind, dir, opts);
        }
        let mut fingerprint = None;
        let (train, test, classes, names) = match kind {
            DatasetKind::Folder => {
                // Resized while decoding: memory holds the images at their final size only.
                let folder = read_folder(&dir, opts.resize, opts.center_crop)?;
                fingerprint = Some(folder.fingerprint);
                let classes = folder.class_names.len();
                (folder.train, folder.test, classes, Some(folder.class_names))
            }
            DatasetKind::FashionMnist | DatasetKind::Mnist => {
                let file = |name: &str| {
                    find_plain_or_gz(&dir, name).ok_or_else(|| not_found(kind, &dir, name))
                };
                let train = read_idx_pair(
                    &file("train-images-idx3-ubyte")?,
                    &file("train-labels-idx1-ubyte")?,
                    10,
                )?;
                let test = read_idx_pair(
                    &file("t10k-images-idx3-ubyte")?,
                    &file("t10k-labels-idx1-ubyte")?,
                    10,
                )?;
                (train, test, 10, kind.builtin_class_names())
            }
            DatasetKind::Cifar10 => {
                let root = cifar_root(&dir, "cifar-10-batches-bin", "data_batch_1.bin", kind)?;
                let files: Vec<_> = (1..=5)
                    .map(|i| root.join(format!("data_batch_{i}.bin")))
                    .collect();
                let files = existing(&files, kind, &root)?;
                let train = read_cifar_files(&files, 1, 0, 10)?;
                let test_file = existing(&[root.join("test_batch.bin")], kind, &root)?;
                let test = read_cifar_files(&test_file, 1, 0, 10)?;
                check_cifar10_counts(&files, &test_file[0], test.labels.len())?;
                let names =
                    read_names(&root.join("batches.meta.txt"), 10)?.or(kind.builtin_class_names());
                (train, test, 10, names)
            }
            DatasetKind::Svhn => {
                let root = cifar_root(&dir, "svhn", "train_32x32.mat", kind)?;
                let train =
                    read_svhn_mat(&existing(&[root.join("train_32x32.mat")], kind, &root)?[0])?;
                let test =
                    read_svhn_mat(&existing(&[root.join("test_32x32.mat")], kind, &root)?[0])?;
                (train, test, 10, kind.builtin_class_names())
            }
            DatasetKind::Cifar100 => {
                let root = cifar_root(&dir, "cifar-100-binary", "train.bin", kind)?;
                let (label_index, classes, names_file) = if opts.coarse_labels {
                    (0, 20, "coarse_label_names.txt")
                } else {
                    (1, 100, "fine_label_names.txt")
                };
                let train = read_cifar_files(
                    &existing(&[root.join("train.bin")], kind, &root)?,
                    2,
                    label_index,
                    classes,
                )?;
                let test = read_cifar_files(
                    &existing(&[root.join("test.bin")], kind, &root)?,
                    2,
                    label_index,
                    classes,
                )?;
                (
                    train,
                    test,
                    classes,
                    read_names(&root.join(names_file), classes)?,
                )
            }
        };
        let original_size = train.shape[1];
        if test.shape != train.shape {
            return Err(DataError::format(
                &dir,
                format!(
                    "the test images are {}x{}x{} but the training images {}x{}x{}: one dataset's files must agree",
                    test.shape[0], test.shape[1], test.shape[2], train.shape[0], train.shape[1], train.shape[2]
                ),
            ));
        }
        if train.shape[1] != train.shape[2] {
            return Err(DataError::format(
                &dir,
                format!(
                    "the images are {}x{}: expected square images",
                    train.shape[1], train.shape[2]
                ),
            ));
        }
        let train = ImageSet::from_raw(train)?;
        let test = ImageSet::from_raw(test)?;
        let channels = train.memory().size()[1] as usize;
        let (mean, std, stats_source) = match (kind.published_stats(), &fingerprint) {
            (Some((m, s)), _) => (m, s, "published".to_string()),
            (None, Some(fp)) => match cached_stats(&dir, fp, opts.resize, opts.center_crop, None) {
                Some(c) if c.channels == channels => (
                    c.mean,
                    c.std,
                    format!("cached in {}", dir.join(STATS_CACHE).display()),
                ),
                _ => {
                    let (m, s) = train.stats()?;
                    let cache = CachedStats {
                        fingerprint: fp.clone(),
                        resize: opts.resize,
                        center_crop: opts.center_crop,
                        sample: None,
                        channels,
                        mean: m.clone(),
                        std: s.clone(),
                    };
                    store_stats(&dir, &cache);
                    (m, s, "computed from the training set".to_string())
                }
            },
            (None, None) => {
                let (m, s) = train.stats()?;
                (m, s, "computed from the training set".to_string())
            }
        };
        let class_names =
            names.unwrap_or_else(|| (0..classes).map(|c| format!("class {c}")).collect());
        let mut data = Dataset {
            info: DatasetInfo {
                kind,
                dir,
                channels,
                size: original_size,
                original_size,
                classes,
                class_names,
                mean,
                std,
                stats_source,
            },
            train,
            test,
        };
        // A folder with a resize was resized and cropped as it was decoded.
        if kind != DatasetKind::Folder || opts.resize.is_none() {
            if let Some(size) = opts.resize.filter(|&s| s != original_size) {
                data.train = data.train.resized(size)?;
                data.test = data.test.resized(size)?;
            }
            let size = opts.resize.unwrap_or(original_size);
            match opts.center_crop {
                Some(c) if c > size => {
                    return Err(DataError::Config {
                        field: "center_crop",
                        value: c.to_string(),
                        reason: format!(
                            "larger than the {size}x{size} images: expected at most {size}"
                        ),
                    })
                }
                Some(c) if c < size => {
                    data.train = data.train.center_cropped(c)?;
                    data.test = data.test.center_cropped(c)?;
                }
                _ => {}
            }
        }
        data.info.size = data.train.size();
        info!(dataset = %kind, train = data.train.len(), test = data.test.len(), size = data.info.size, "dataset loaded");
        Ok(data)
    }

    /// A streamed image folder: listed now, decoded batch by batch; its statistics from a sample
    /// of [`STREAM_STATS_SAMPLE`] training images (cached beside the data).
    fn load_streamed(kind: DatasetKind, dir: PathBuf, opts: &LoadOptions) -> Result<Self> {
        if kind != DatasetKind::Folder {
            return Err(DataError::Config {
                field: "stream",
                value: "true".into(),
                reason: format!("only image folders are streamed; {kind} is read into memory"),
            });
        }
        let resize = opts.resize.ok_or_else(|| DataError::Config {
            field: "resize",
            value: "none".into(),
            reason: "a streamed folder decodes every image to one size: give a resize (and a centre crop if wanted)".into(),
        })?;
        let crop = opts.center_crop.unwrap_or(resize);
        let listing = list_folder(&dir)?;
        let sample = listing.train.len().min(STREAM_STATS_SAMPLE);
        let (channels, mean, std, stats_source) = match cached_stats(
            &dir,
            &listing.fingerprint,
            Some(resize),
            Some(crop),
            Some(sample),
        ) {
            Some(c) => (
                c.channels,
                c.mean,
                c.std,
                format!("cached in {}", dir.join(STATS_CACHE).display()),
            ),
            None => {
                let step = listing.train.len() as f64 / sample as f64;
                let picked: Vec<_> = (0..sample)
                    .map(|i| listing.train[(i as f64 * step) as usize].clone())
                    .collect();
                let set = ImageSet::from_raw(decode_entries(&picked, (resize, crop))?)?;
                let channels = set.memory().size()[1] as usize;
                let (mean, std) = set.stats()?;
                store_stats(
                    &dir,
                    &CachedStats {
                        fingerprint: listing.fingerprint.clone(),
                        resize: Some(resize),
                        center_crop: Some(crop),
                        sample: Some(sample),
                        channels,
                        mean: mean.clone(),
                        std: std.clone(),
                    },
                );
                let source = format!("computed from {sample} training images");
                (channels, mean, std, source)
            }
        };
        let split = |entries: Vec<crate::folder::Entry>| {
            let (paths, labels): (Vec<_>, Vec<_>) =
                entries.into_iter().map(|e| (e.path, e.label)).unzip();
            let source = FileSource {
                paths,
                channels,
                resize,
                crop,
            };
            ImageSet::streamed(source, labels)
        };
        let classes = listing.class_names.len();
        let data = Dataset {
            info: DatasetInfo {
                kind,
                dir,
                channels,
                size: crop,
                original_size: crop,
                classes,
                class_names: listing.class_names,
                mean,
                std,
                stats_source,
            },
            train: split(listing.train)?,
            test: split(listing.test)?,
        };
        info!(dataset = %kind, train = data.train.len(), test = data.test.len(), size = crop, "image folder listed, streamed");
        Ok(data)
    }

    /// Moves both splits to `device` once (a GPU then batches without host copies); a streamed
    /// split's batches go to the device as they are decoded.
    pub fn to_device(&mut self, device: Device) -> Result<()> {
        for set in [&mut self.train, &mut self.test] {
            if let Pixels::Memory(images) = &set.pixels {
                set.pixels = Pixels::Memory(images.f_to_device(device)?);
            }
            set.labels = set.labels.f_to_device(device)?;
        }
        Ok(())
    }
}
