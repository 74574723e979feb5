//! Loading a dataset from its official files into memory, once, as u8 tensors (or, for a
//! streamed image folder, as a list of files decoded batch by batch).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tch::{Device, Kind, Tensor};
use tracing::info;

use crate::cifar::read_cifar_files;
use crate::error::{DataError, Result};
use crate::folder::{
    cached_stats, decode_entries, list_folder, read_folder, store_stats, CachedStats, STATS_CACHE,
};
use crate::idx::read_idx_pair;
use crate::kind::{DatasetInfo, DatasetKind};
use crate::raw::{find_plain_or_gz, Label, RawImages};
use crate::stream::FileSource;
use crate::svhn::read_svhn_mat;

/// One split: u8 images `[N, C, H, W]` in memory (or a streamed folder's files) and i64 labels
/// `[N]`.
#[derive(Debug)]
pub struct ImageSet {
    pub(crate) pixels: Pixels,
    labels: Tensor,
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

fn label_tensor(labels: &[Label]) -> Result<Tensor> {
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

    fn streamed(source: FileSource, labels: Vec<Label>) -> Result<Self> {
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

    fn memory(&self) -> &Tensor {
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
    fn resized(&self, size: usize) -> Result<Self> {
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
    fn center_cropped(&self, crop: usize) -> Result<Self> {
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
    fn stats(&self) -> Result<(Vec<f32>, Vec<f32>)> {
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

/// CIFAR-10's five training batches hold equal numbers of records (10,000 each in the official
/// files, which also have 10,000 test records): a batch with one record more or less is a damaged
/// file, not a dataset to train on silently.
fn check_cifar10_counts(train: &[PathBuf], test: &Path, test_records: usize) -> Result<()> {
    let record = 1 + 3 * 32 * 32;
    if train
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "gz"))
    {
        return Ok(()); // sizes on disk are compressed sizes
    }
    let counts: Vec<u64> = train
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .map(|m| m.len() / record as u64)
                .unwrap_or(0)
        })
        .collect();
    if let Some((i, &c)) = counts.iter().enumerate().find(|(_, &c)| c != counts[0]) {
        return Err(DataError::format(
            &train[i],
            format!(
                "{c} records, but {} holds {}: CIFAR-10's training batches hold equal numbers (10,000 each)",
                train[0].display(),
                counts[0]
            ),
        ));
    }
    if counts.first() == Some(&10_000) && test_records != 10_000 {
        return Err(DataError::format(
            test,
            format!("{test_records} records, but the official test batch holds 10,000"),
        ));
    }
    Ok(())
}

fn not_found(kind: DatasetKind, dir: &Path, file: &str) -> DataError {
    let hint = match kind {
        DatasetKind::FashionMnist => format!(
            "missing {file}[.gz]; install Debian's dataset-fashion-mnist (scripts/setup does) or pass --data-dir DIR holding the four IDX files"
        ),
        DatasetKind::Mnist => format!("missing {file}[.gz]; pass --data-dir DIR holding the four MNIST IDX files"),
        DatasetKind::Cifar10 | DatasetKind::Cifar100 => format!(
            "missing {file}; pass --data-dir DIR holding the binary version, or download it with `aca data fetch {kind} --dir DIR`"
        ),
        DatasetKind::Svhn => format!(
            "missing {file}; pass --data-dir DIR holding train_32x32.mat and test_32x32.mat, or download them with `aca data fetch svhn --dir DIR`"
        ),
        DatasetKind::Folder => format!("missing {file}"),
    };
    DataError::NotFound {
        dataset: kind.name().into(),
        dir: dir.to_path_buf(),
        hint,
    }
}

/// The folder holding CIFAR's files: `dir/FOLDER` or `dir` itself.
fn cifar_root(dir: &Path, folder: &str, probe: &str, kind: DatasetKind) -> Result<PathBuf> {
    let nested = dir.join(folder);
    if nested.is_dir() {
        Ok(nested)
    } else if dir.join(probe).is_file() {
        Ok(dir.to_path_buf())
    } else {
        Err(not_found(kind, dir, &format!("{folder}/{probe}")))
    }
}

fn existing(files: &[PathBuf], kind: DatasetKind, root: &Path) -> Result<Vec<PathBuf>> {
    match files.iter().find(|f| !f.is_file()) {
        Some(f) => Err(not_found(
            kind,
            root,
            &f.file_name().unwrap_or_default().to_string_lossy(),
        )),
        None => Ok(files.to_vec()),
    }
}

/// Class names, one per line, if the file exists; an error if it has the wrong count.
fn read_names(path: &Path, classes: usize) -> Result<Option<Vec<String>>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(DataError::io(path))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != classes {
        return Err(DataError::format(
            path,
            format!("{} class names, expected {classes}", names.len()),
        ));
    }
    Ok(Some(names))
}
