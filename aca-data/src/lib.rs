//! Image datasets for `aca`.
//!
//! - Readers of the official files: CIFAR-10/100 binary versions and MNIST-style IDX (plain or
//!   gzipped), and image folders in torchvision's `ImageFolder` layout (PNG, JPEG), with errors
//!   that name the file and what is wrong ([`Dataset::load`]).
//! - [`DataConfig`]: the data configuration every stage shares, with the paper's defaults.
//! - [`DatasetInfo`]: channels, size, classes, class names and normalisation statistics.
//! - DARTS's split of the training set ([`darts_split`]) with class-balanced seeded limits.
//! - Seeded augmentation as tensor operations ([`Augment`]) and batching into tch tensors
//!   ([`Loader`], [`Endless`]); every batch is a pure function of seed, epoch and position, so
//!   runs resume exactly.
//! - Verified downloads of the official CIFAR archives ([`fetch`]).
//!
//! ```no_run
//! use aca_data::{darts_split, Dataset, DatasetKind, LoadOptions, Loader, LoaderOptions, Augment, SplitConfig};
//! let data = Dataset::load(DatasetKind::FashionMnist, &LoadOptions::default())?;
//! let split = darts_split(data.train.label_list(), data.info.classes, &SplitConfig::default(), 2)?;
//! let opts = LoaderOptions { batch_size: 64, shuffle: true, drop_last: false, augment: Augment::default(), seed: 2, stream: 0 };
//! let loader = Loader::new(&data.train, &split.train, &data.info, opts, tch::Device::Cpu)?;
//! for batch in loader.epoch(0) {
//!     let batch = batch?;
//!     assert_eq!(batch.images.size()[1], 1);
//! }
//! # Ok::<(), aca_data::DataError>(())
//! ```
#![warn(missing_docs)]

mod augment;
mod cifar;
mod config;
mod dataset;
mod error;
mod fetch;
mod folder;
mod idx;
mod kind;
mod loader;
mod parallel;
mod raw;
mod rng;
mod split;
mod stream;
pub mod streams;
mod svhn;
mod transform;

pub use augment::{apply as augment_batch, Augment, Draws, Normalize};
pub use cifar::{encode_cifar, read_cifar_file};
pub use config::DataConfig;
pub use dataset::{Dataset, ImageSet, LoadOptions, STREAM_STATS_SAMPLE};
pub use error::{DataError, Result};
pub use fetch::{fetch, Archive, Fetched, Packing};
pub use folder::{
    read_image, read_image_cropped, IMAGE_EXTENSIONS, MAX_FOLDER_CLASSES, STATS_CACHE,
};
#[cfg(feature = "testing")]
pub use idx::write_synthetic_mnist;
pub use idx::{encode_idx, read_idx_pair};
pub use kind::{fashion_mnist_for_tests, DatasetInfo, DatasetKind, DEBIAN_FASHION_MNIST};
pub use loader::{Batch, Endless, EpochIter, Loader, LoaderOptions, StreamState};
pub use raw::{Label, RawImages};
pub use split::{balanced_subset, darts_split, Split, SplitConfig};
pub use svhn::read_svhn_mat;
#[cfg(feature = "testing")]
pub use svhn::write_svhn_mat;
pub use transform::{
    random_crop_box, random_resized_crop, resize_center_crop, ColorJitter, CropBox, JitterDraw,
    CROP_RATIO, CROP_SCALE,
};
