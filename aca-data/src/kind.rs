//! The datasets aca reads, with their fixed facts.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// A dataset by name, as `--dataset` takes it.
/// Names: the variants in kebab case, for serde and [`DatasetKind::name`] alike (a test checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Fashion-MNIST (28x28 grey, 10 classes): the embedded default.
    FashionMnist,
    /// MNIST digits (28x28 grey, 10 classes).
    Mnist,
    /// CIFAR-10 (32x32 colour, 10 classes).
    Cifar10,
    /// CIFAR-100 (32x32 colour, 100 fine or 20 coarse classes).
    Cifar100,
    /// SVHN's cropped digits (32x32 colour, 10 classes): `train_32x32.mat` and `test_32x32.mat`.
    Svhn,
    /// An image folder in torchvision's `ImageFolder` layout (`train/CLASS/*.png`, `val/...`):
    /// the user's own data.
    Folder,
}

/// Where Debian's `dataset-fashion-mnist` puts the files.
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// Whether Debian's `dataset-fashion-mnist` is installed, for tests that need the real data: they
/// skip with a message where it is not, but under `CI=true` its absence panics (CI installs it
/// through `scripts/setup`, so a missing dataset there is a failure, never a silent pass).
pub fn fashion_mnist_for_tests() -> bool {
    let ok = std::path::Path::new(DEBIAN_FASHION_MNIST)
        .join("train-images-idx3-ubyte.gz")
        .exists();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "dataset-fashion-mnist is missing under CI: scripts/setup installs it"
        );
        eprintln!("dataset-fashion-mnist not installed; skipped");
    }
    ok
}

const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

impl DatasetKind {
    /// All datasets, as `--dataset` lists them.
    pub const ALL: [DatasetKind; 6] = [
        Self::FashionMnist,
        Self::Mnist,
        Self::Cifar10,
        Self::Cifar100,
        Self::Svhn,
        Self::Folder,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Self::FashionMnist => "fashion-mnist",
            Self::Mnist => "mnist",
            Self::Cifar10 => "cifar10",
            Self::Cifar100 => "cifar100",
            Self::Svhn => "svhn",
            Self::Folder => "folder",
        }
    }

    /// The default data directory: Debian's for Fashion-MNIST, `data/NAME` otherwise (where
    /// `aca data fetch` puts CIFAR by default; `data/images` for an image folder).
    pub fn default_dir(self) -> PathBuf {
        match self {
            Self::FashionMnist => PathBuf::from(DEBIAN_FASHION_MNIST),
            Self::Mnist => PathBuf::from("data/mnist"),
            Self::Cifar10 | Self::Cifar100 | Self::Svhn => PathBuf::from("data"),
            Self::Folder => PathBuf::from("data/images"),
        }
    }

    /// Image channels, where the dataset fixes them (an image folder's come from its files).
    pub fn channels(self) -> Option<usize> {
        match self {
            Self::FashionMnist | Self::Mnist => Some(1),
            Self::Cifar10 | Self::Cifar100 | Self::Svhn => Some(3),
            Self::Folder => None,
        }
    }

    /// Whether horizontal flips are a sensible default augmentation (not for MNIST's digits;
    /// SVHN keeps them, as RobustDARTS's `_data_transforms_svhn` does).
    pub fn default_hflip(self) -> bool {
        !matches!(self, Self::Mnist)
    }

    /// Published per-channel normalisation (mean, std), where the papers fix one.
    pub fn published_stats(self) -> Option<(Vec<f32>, Vec<f32>)> {
        match self {
            // DARTS utils.py, CIFAR_MEAN / CIFAR_STD.
            Self::Cifar10 => Some((vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616])),
            // CIFAR-100's own statistics, as P-DARTS's utils.py (CIFAR100_MEAN / CIFAR100_STD)
            // uses them. DARTS has no CIFAR-100 pipeline, and PC-DARTS normalises CIFAR-100 with
            // CIFAR-10's values; we choose the dataset's own (docs/method.md, deviations).
            Self::Cifar100 => Some((vec![0.5071, 0.4865, 0.4409], vec![0.2673, 0.2564, 0.2762])),
            // RobustDARTS utils.py, SVHN_MEAN / SVHN_STD (the benchmark grid's SVHN runs).
            Self::Svhn => Some((vec![0.4377, 0.4438, 0.4728], vec![0.1980, 0.2010, 0.1970])),
            Self::FashionMnist | Self::Mnist | Self::Folder => None,
        }
    }

    /// Built-in class names (CIFAR-100's come from its `*_label_names.txt`).
    pub(crate) fn builtin_class_names(self) -> Option<Vec<String>> {
        let names: Vec<String> = match self {
            Self::FashionMnist => FASHION_CLASSES.iter().map(|s| s.to_string()).collect(),
            Self::Mnist | Self::Svhn => (0..10).map(|d| d.to_string()).collect(),
            Self::Cifar10 => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
            Self::Cifar100 | Self::Folder => return None,
        };
        Some(names)
    }
}

impl fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DatasetKind {
    type Err = DataError;

    fn from_str(s: &str) -> Result<Self, DataError> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| DataError::Config {
                field: "dataset",
                value: s.into(),
                reason: "expected fashion-mnist, mnist, cifar10, cifar100, svhn or folder".into(),
            })
    }
}

/// What the networks need to know about a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// The dataset.
    pub kind: DatasetKind,
    /// Where the files were read from.
    pub dir: PathBuf,
    /// Image channels (the stem's input channels).
    pub channels: usize,
    /// Image height and width as batches deliver them (after any resize).
    pub size: usize,
    /// Image size in the files.
    pub original_size: usize,
    /// Number of classes.
    pub classes: usize,
    /// Class names, index = label.
    pub class_names: Vec<String>,
    /// Per-channel mean of pixels in [0, 1].
    pub mean: Vec<f32>,
    /// Per-channel standard deviation of pixels in [0, 1].
    pub std: Vec<f32>,
    /// `published` (CIFAR) or `computed from the training set`.
    pub stats_source: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_names() {
        for kind in DatasetKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
            assert_eq!(kind.name().parse::<DatasetKind>().unwrap(), kind);
        }
    }
}
