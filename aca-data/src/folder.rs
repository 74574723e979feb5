//! Image-folder datasets in torchvision's `ImageFolder` layout:
//! `DIR/train/CLASS/**/*.{png,jpg,jpeg}` and `DIR/val/CLASS/...` (or `DIR/test/`).
//!
//! Class names are the folder names of `train/`, sorted (label = index). Images are decoded in
//! parallel and, with a resize, shrunk one by one as they are decoded (shorter side to the size,
//! then a centre crop, as torchvision's `Resize(s)` + `CenterCrop(s)`), so memory holds the
//! dataset at its final size only. Without a resize every image must share one square size.
//! One file although long: listing, decoding, resizing and the statistics cache are the steps of
//! one format's loader.

use std::path::{Path, PathBuf};

use image::DynamicImage;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::error::{DataError, Result};
use crate::parallel::map_in_order;
use crate::raw::{Label, RawImages};
use crate::transform::resize_center_crop;

/// File name extensions decoded (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// At most this many classes (a [`Label`] is 16 bits).
pub const MAX_FOLDER_CLASSES: usize = Label::MAX as usize + 1;

/// Where the channel statistics of a folder are cached, in the folder itself.
pub const STATS_CACHE: &str = ".aca-stats.json";

/// A folder dataset's two splits decoded, its class names and the fingerprint of its training
/// files.
#[derive(Debug)]
pub(crate) struct FolderData {
    pub train: RawImages,
    pub test: RawImages,
    pub class_names: Vec<String>,
    pub fingerprint: String,
}

/// A folder dataset's files, listed but not decoded.
pub(crate) struct Listing {
    pub train: Vec<Entry>,
    pub test: Vec<Entry>,
    pub class_names: Vec<String>,
    pub fingerprint: String,
}

/// One image file with its label.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub path: PathBuf,
    pub label: Label,
}

/// Reads `dir/train` and `dir/val` (or `dir/test`) into memory, each image's shorter side resized
/// to `resize` and its centre `crop` kept (`crop` defaults to `resize`).
pub(crate) fn read_folder(
    dir: &Path,
    resize: Option<usize>,
    crop: Option<usize>,
) -> Result<FolderData> {
    let listing = list_folder(dir)?;
    let fit = resize.map(|r| (r, crop.unwrap_or(r)));
    let train = decode_all(&listing.train, fit)?;
    let test = decode_all(&listing.test, fit)?;
    let (train, test) = agree_on_channels(train, test);
    if train.shape[1..] != test.shape[1..] {
        return Err(DataError::format(
            &listing.test[0].path,
            format!(
                "is {}x{} but the training images are {}x{}: pass a resize so both splits agree",
                test.shape[1], test.shape[2], train.shape[1], train.shape[2]
            ),
        ));
    }
    Ok(FolderData {
        train,
        test,
        class_names: listing.class_names,
        fingerprint: listing.fingerprint,
    })
}

/// Lists `dir/train` and `dir/val` (or `dir/test`), checking the layout.
pub(crate) fn list_folder(dir: &Path) -> Result<Listing> {
    let train_dir = dir.join("train");
    if !train_dir.is_dir() {
        return Err(not_found(dir, "train/"));
    }
    let test_dir = ["val", "test"]
        .into_iter()
        .map(|s| dir.join(s))
        .find(|d| d.is_dir())
        .ok_or_else(|| not_found(dir, "val/ (or test/)"))?;
    let class_names = class_folders(&train_dir)?;
    if class_names.is_empty() {
        return Err(DataError::format(
            &train_dir,
            "no class folders: expected train/CLASS/IMAGE files",
        ));
    }
    if class_names.len() > MAX_FOLDER_CLASSES {
        return Err(DataError::format(
            &train_dir,
            format!(
                "{} class folders: at most {MAX_FOLDER_CLASSES} are supported",
                class_names.len()
            ),
        ));
    }
    let train_files = list_split(&train_dir, &class_names, &class_names)?;
    let test_classes = class_folders(&test_dir)?;
    if let Some(c) = test_classes.iter().find(|c| !class_names.contains(c)) {
        return Err(DataError::format(
            test_dir.join(c),
            "this class has no folder in train/: every evaluation class must be trained on",
        ));
    }
    if test_classes.is_empty() {
        return Err(DataError::format(
            &test_dir,
            "no class folders: expected CLASS/IMAGE files, as in train/",
        ));
    }
    let test_files = list_split(&test_dir, &test_classes, &class_names)?;
    let fingerprint = fingerprint(&train_files, dir)?;
    Ok(Listing {
        train: train_files,
        test: test_files,
        class_names,
        fingerprint,
    })
}

fn not_found(dir: &Path, what: &str) -> DataError {
    DataError::NotFound {
        dataset: crate::kind::DatasetKind::Folder,
        dir: dir.to_path_buf(),
        hint: format!(
            "missing {what}; an image folder holds train/CLASS/*.png|jpg|jpeg and val/CLASS/... (or test/)"
        ),
    }
}

fn hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The sorted names of the sub-folders of `dir` (hidden ones skipped).
fn class_folders(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(DataError::io(dir))? {
        let path = entry.map_err(DataError::io(dir))?.path();
        if path.is_dir() && !hidden(&path) {
            names.push(
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into(),
            );
        }
    }
    names.sort();
    Ok(names)
}

/// Every image of `classes` under `split`, labelled by position in `all_classes`, in sorted order.
fn list_split(split: &Path, classes: &[String], all_classes: &[String]) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for class in classes {
        let folder = split.join(class);
        let label = all_classes.iter().position(|c| c == class).unwrap_or(0) as Label;
        let mut files = Vec::new();
        let mut visited = Vec::new();
        collect_files(&folder, &mut files, &mut visited)?;
        if files.is_empty() {
            return Err(DataError::format(
                &folder,
                "empty class folder: expected at least one .png, .jpg or .jpeg image",
            ));
        }
        files.sort();
        entries.extend(files.into_iter().map(|path| Entry { path, label }));
    }
    Ok(entries)
}

/// Image files under `dir`, recursively; hidden entries skipped, anything else refused. Links
/// are followed, but a dangling one and one back into a folder being walked (a loop) are named.
/// `visited` holds the canonical folders on the way down.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, visited: &mut Vec<PathBuf>) -> Result<()> {
    let canonical = std::fs::canonicalize(dir).map_err(DataError::io(dir))?;
    visited.push(canonical);
    for entry in std::fs::read_dir(dir).map_err(DataError::io(dir))? {
        let path = entry.map_err(DataError::io(dir))?.path();
        if hidden(&path) {
            continue;
        }
        let is_link = path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink());
        if is_link && !path.exists() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            return Err(DataError::format(
                &path,
                format!(
                    "a link to {}, which does not exist: remove the link or restore its target",
                    target.display()
                ),
            ));
        }
        if path.is_dir() {
            if is_link {
                let target = std::fs::canonicalize(&path).map_err(DataError::io(&path))?;
                // A link to a folder on the way down, or above it, walks the same images again.
                if visited.iter().any(|v| v.starts_with(&target)) {
                    return Err(DataError::format(
                        &path,
                        format!(
                            "a link back to {}, which contains it (a loop): remove the link",
                            target.display()
                        ),
                    ));
                }
            }
            collect_files(&path, out, visited)?;
            continue;
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext {
            Some(e) if IMAGE_EXTENSIONS.contains(&e.as_str()) => out.push(path),
            _ => {
                return Err(DataError::format(
                    &path,
                    "not an image file: expected .png, .jpg or .jpeg (remove it or move it out of the class folder)",
                ))
            }
        }
    }
    visited.pop();
    Ok(())
}

/// A hash of the training files' names, sizes and modification times: the statistics cache is
/// valid while it matches.
fn fingerprint(files: &[Entry], root: &Path) -> Result<String> {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for e in files {
        let meta = std::fs::metadata(&e.path).map_err(DataError::io(&e.path))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let rel = e.path.strip_prefix(root).unwrap_or(&e.path);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(e.label.to_le_bytes());
        h.update(meta.len().to_le_bytes());
        h.update(modified.to_le_bytes());
    }
    Ok(format!("{:x}", h.finalize()))
}

/// One decoded image: CHW bytes, channels and side.
struct Decoded {
    pixels: Vec<u8>,
    channels: usize,
    size: [usize; 2],
}

/// Opens an image file.
pub(crate) fn open(path: &Path) -> Result<DynamicImage> {
    if !path.exists() {
        return Err(DataError::format(path, "no such file"));
    }
    image::open(path).map_err(|e| DataError::format(path, format!("cannot decode this image: {e}")))
}

/// Opens an image file, its shorter side resized and its centre cropped when `fit` = (resize,
/// crop) is given.
fn open_fitted(path: &Path, fit: Option<(usize, usize)>) -> Result<DynamicImage> {
    let img = open(path)?;
    Ok(match fit {
        Some((r, c)) => resize_center_crop(img, r as u32, c as u32),
        None => img,
    })
}

fn decode(path: &Path, fit: Option<(usize, usize)>) -> Result<Decoded> {
    let img = open_fitted(path, fit)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (pixels, channels) = if img.color().has_color() {
        (hwc_to_chw(img.to_rgb8().as_raw(), 3), 3)
    } else {
        (img.to_luma8().into_raw(), 1)
    };
    Ok(Decoded {
        pixels,
        channels,
        size: [h, w],
    })
}

/// Decodes one image file as a network trained on `channels x size x size` inputs takes it:
/// colour turned grey (luma) or grey copied to three channels as needed, the shorter side resized
/// to `size` and the centre kept, as an image folder is read (datasets resized at load, such as
/// the tiny preset's Fashion-MNIST, use libtorch's bilinear filter instead). CHW bytes.
pub fn read_image(path: &Path, channels: usize, size: usize) -> Result<Vec<u8>> {
    read_image_cropped(path, channels, size, size)
}

/// As [`read_image`], the shorter side resized to `resize` and the centre `crop x crop` kept
/// (DARTS's ImageNet test transform: 256, 224).
pub fn read_image_cropped(
    path: &Path,
    channels: usize,
    resize: usize,
    crop: usize,
) -> Result<Vec<u8>> {
    for (field, size) in [("resize", resize), ("crop", crop)] {
        if size == 0 || size > crate::dataset::MAX_RESIZE {
            return Err(DataError::Config {
                field,
                value: size.to_string(),
                reason: format!("expected 1..={}", crate::dataset::MAX_RESIZE),
            });
        }
    }
    if crop > resize {
        return Err(DataError::Config {
            field: "crop",
            value: crop.to_string(),
            reason: format!("larger than the resize {resize}: expected at most {resize}"),
        });
    }
    let img = open_fitted(path, Some((resize, crop)))?;
    match channels {
        1 => Ok(img.to_luma8().into_raw()),
        3 => Ok(hwc_to_chw(img.to_rgb8().as_raw(), 3)),
        c => Err(DataError::Config {
            field: "channels",
            value: c.to_string(),
            reason: "expected 1 (grey) or 3 (colour)".into(),
        }),
    }
}

pub(crate) fn hwc_to_chw(hwc: &[u8], c: usize) -> Vec<u8> {
    let plane = hwc.len() / c;
    let mut out = vec![0; hwc.len()];
    for (i, px) in hwc.chunks_exact(c).enumerate() {
        for (k, &v) in px.iter().enumerate() {
            out[k * plane + i] = v;
        }
    }
    out
}

/// Decodes `files` in order, each fitted to (resize, crop).
pub(crate) fn decode_entries(files: &[Entry], fit: (usize, usize)) -> Result<RawImages> {
    decode_all(files, Some(fit))
}

/// Decodes every file on all cores, in order; the images must share one square size.
fn decode_all(files: &[Entry], fit: Option<(usize, usize)>) -> Result<RawImages> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let images = map_in_order(files, threads, &files[0].path, |_, e| decode(&e.path, fit))?;
    let [h, w] = images[0].size;
    if h != w {
        return Err(DataError::format(
            &files[0].path,
            format!("is {w}x{h}: images must be square, or pass a resize (shorter side, then a centre crop)"),
        ));
    }
    if let Some((i, d)) = images.iter().enumerate().find(|(_, d)| d.size != [h, w]) {
        return Err(DataError::format(
            &files[i].path,
            format!(
                "is {}x{} but {} is {w}x{h}: pass a resize so that every image has one size",
                d.size[1],
                d.size[0],
                files[0].path.display()
            ),
        ));
    }
    let channels = images.iter().map(|d| d.channels).max().unwrap_or(1);
    let grey: Vec<usize> = (0..images.len())
        .filter(|&i| images[i].channels < channels)
        .collect();
    if let Some(&first) = grey.first() {
        warn!(
            count = grey.len(),
            first = %files[first].path.display(),
            "grayscale images among colour ones: converted to RGB (grey copied to each channel)"
        );
    }
    let mut raw = RawImages {
        shape: [channels, h, w],
        pixels: Vec::with_capacity(images.len() * channels * h * w),
        labels: files.iter().map(|e| e.label).collect(),
    };
    for d in images {
        for _ in 0..channels / d.channels {
            raw.pixels.extend_from_slice(&d.pixels);
        }
    }
    Ok(raw)
}

/// Grey copied to three channels where one split is colour and the other grey.
fn agree_on_channels(train: RawImages, test: RawImages) -> (RawImages, RawImages) {
    let to_rgb = |r: RawImages| {
        if r.shape[0] == 3 {
            return r;
        }
        warn!("a split of grayscale images beside a colour one: converted to RGB");
        let plane = r.shape[1] * r.shape[2];
        let mut pixels = Vec::with_capacity(r.pixels.len() * 3);
        for img in r.pixels.chunks_exact(plane) {
            for _ in 0..3 {
                pixels.extend_from_slice(img);
            }
        }
        RawImages {
            shape: [3, r.shape[1], r.shape[2]],
            pixels,
            labels: r.labels,
        }
    };
    if train.shape[0] == test.shape[0] {
        (train, test)
    } else {
        (to_rgb(train), to_rgb(test))
    }
}

/// The cached channel statistics of a folder's training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CachedStats {
    pub fingerprint: String,
    pub resize: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center_crop: Option<usize>,
    /// The images measured, when a sample (a streamed folder); every training image otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<usize>,
    pub channels: usize,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// The cached statistics, if they were computed from the same files at the same resize, crop
/// and sample.
pub(crate) fn cached_stats(
    dir: &Path,
    fingerprint: &str,
    resize: Option<usize>,
    center_crop: Option<usize>,
    sample: Option<usize>,
) -> Option<CachedStats> {
    let text = std::fs::read_to_string(dir.join(STATS_CACHE)).ok()?;
    let stats: CachedStats = serde_json::from_str(&text).ok()?;
    (stats.fingerprint == fingerprint
        && stats.resize == resize
        && stats.center_crop == center_crop
        && stats.sample == sample)
        .then_some(stats)
}

/// Stores the statistics beside the data (temp file, then rename); a read-only folder only warns.
pub(crate) fn store_stats(dir: &Path, stats: &CachedStats) {
    let path = dir.join(STATS_CACHE);
    let tmp = dir.join(format!("{STATS_CACHE}.tmp"));
    let result = serde_json::to_vec_pretty(stats)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        warn!(path = %path.display(), error = %e, "could not cache the channel statistics");
    }
}
