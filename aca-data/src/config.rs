//! The data configuration every stage shares: which dataset, how it is read, batched and
//! augmented, and how the training set is divided or limited.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::dataset::{Dataset, LoadOptions};
use crate::error::Result;
use crate::kind::DatasetKind;
use crate::split::SplitConfig;

/// The data a stage reads. Its defaults are the paper's for each stage: [`DataConfig::search`]
/// and [`DataConfig::train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Dataset. DARTS: CIFAR-10.
    pub dataset: DatasetKind,
    /// Folder of its files; `None` for the dataset's default folder.
    pub data_dir: Option<PathBuf>,
    /// CIFAR-100's coarse labels.
    #[serde(default)]
    pub coarse_labels: bool,
    /// Resize images once at load (small CPU presets; an image folder's shorter side).
    pub resize: Option<usize>,
    /// Keep the centre `crop x crop` after the resize (DARTS ImageNet: resize 256, crop 224).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center_crop: Option<usize>,
    /// Decode an image folder batch by batch instead of holding it in memory (ImageNet-sized
    /// folders; needs a resize).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
    /// The search's division of the training set into weight and architecture images (DARTS:
    /// portion 0.5). Training has none: it trains on the whole training set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitConfig>,
    /// Batch size. DARTS: 64 in the search, 96 in training.
    pub batch_size: usize,
    /// Augmentation (DARTS: crop with padding 4 and flip; training adds cutout 16).
    pub augment: Augment,
    /// Training only: a class-balanced subset of this many training images (small presets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
}

impl DataConfig {
    /// DARTS's search data: CIFAR-10, batch 64, crop and flip, the training set split in half.
    pub fn search() -> Self {
        Self {
            dataset: DatasetKind::Cifar10,
            data_dir: None,
            coarse_labels: false,
            resize: None,
            center_crop: None,
            stream: false,
            split: Some(SplitConfig::default()),
            batch_size: 64,
            augment: Augment::default(),
            train_limit: None,
        }
    }

    /// DARTS's training data: CIFAR-10, batch 96, crop, flip and cutout 16, the whole training set.
    pub fn train() -> Self {
        Self {
            split: None,
            batch_size: 96,
            augment: Augment {
                cutout: 16,
                ..Augment::default()
            },
            ..Self::search()
        }
    }

    /// DARTS's ImageNet training data (`train_imagenet.py`) from an image folder, streamed:
    /// batch 128; training images through a random resized crop to 224, flip and colour jitter;
    /// test images resized to 256 and their centre 224 kept.
    pub fn imagenet() -> Self {
        Self {
            dataset: DatasetKind::Folder,
            resize: Some(256),
            center_crop: Some(224),
            stream: true,
            batch_size: 128,
            augment: Augment::imagenet(224),
            ..Self::train()
        }
    }

    /// The search's split (DARTS's when none is set).
    pub fn split(&self) -> SplitConfig {
        self.split.clone().unwrap_or_default()
    }

    /// The search's split, to change it.
    pub fn split_mut(&mut self) -> &mut SplitConfig {
        self.split.get_or_insert_with(SplitConfig::default)
    }

    /// Limits the images the weights train on to a class-balanced subset of `images`: the
    /// search's weight half (`split.train_limit`) in a search's configuration, the training set
    /// (`train_limit`) in a training's.
    pub fn limit_training_images(&mut self, images: usize) {
        match &mut self.split {
            Some(split) => split.train_limit = Some(images),
            None => self.train_limit = Some(images),
        }
    }

    /// Reads the dataset as configured.
    pub fn load(&self) -> Result<Dataset> {
        Dataset::load(
            self.dataset,
            &LoadOptions {
                data_dir: self.data_dir.clone(),
                coarse_labels: self.coarse_labels,
                resize: self.resize,
                center_crop: self.center_crop,
                stream: self.stream,
            },
        )
    }

    /// Points the data at another dataset: that dataset's flip default, and no resize for the
    /// 32x32 colour datasets (small presets resize the 28x28 ones, and image folders, whose
    /// images need one size).
    pub fn switch_dataset(&mut self, kind: DatasetKind) {
        self.dataset = kind;
        self.augment.hflip = kind.default_hflip();
        if kind.channels() == Some(3) {
            self.resize = None;
        }
    }
}
