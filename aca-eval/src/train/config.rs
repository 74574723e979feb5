//! The training's configuration: DARTS's evaluation recipe and the presets.

use aca_core::tensorboard::TensorBoard;
use aca_core::{Cosine, Exponential, SgdConfig};
use aca_data::{Augment, DataConfig, DatasetKind};
use aca_search::{MethodKind, Preset};
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::network::{EvalNetConfig, Setting};

/// Training from scratch. Defaults: DARTS's CIFAR-10 evaluation (600 epochs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Seed (DARTS: 0).
    pub seed: u64,
    /// Epochs. DARTS: 600.
    pub epochs: usize,
    /// Data.
    pub data: DataConfig,
    /// Network (classes and image channels are set from the dataset).
    pub network: EvalNetConfig,
    /// SGD lr 0.025, momentum 0.9, weight decay 3e-4 (DARTS).
    pub optimizer: SgdConfig,
    /// Final learning rate of the cosine schedule. DARTS: 0.
    pub lr_min: f64,
    /// Gradient-norm clip. DARTS: 5.
    pub grad_clip: f64,
    /// Weight of the auxiliary loss. DARTS: 0.4.
    pub aux_weight: f64,
    /// Final drop-path probability, reached linearly (`p * epoch / epochs`). DARTS: 0.2.
    pub drop_path: f64,
    /// Learning-rate schedule. DARTS CIFAR: cosine to `lr_min`; DARTS ImageNet: exponential,
    /// factor 0.97 per epoch. (Left out of a written configuration when cosine, as are the other
    /// fields added since, so that runs written before them resume.)
    #[serde(skip_serializing_if = "LrSchedule::is_cosine")]
    pub schedule: LrSchedule,
    /// Label smoothing of the training loss (main and auxiliary; the test loss is plain). DARTS
    /// CIFAR: 0; DARTS ImageNet: 0.1 (`CrossEntropyLabelSmooth`).
    #[serde(skip_serializing_if = "is_zero")]
    pub label_smoothing: f64,
    /// TensorBoard event files under the run directory's `tb/` (on by default).
    #[serde(skip_serializing_if = "TensorBoard::is_default")]
    pub tensorboard: TensorBoard,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl LrSchedule {
    fn is_cosine(&self) -> bool {
        *self == Self::Cosine
    }
}

/// How the training's learning rate changes from epoch to epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// Cosine annealing from the optimizer's rate to `lr_min` (DARTS's CIFAR training).
    #[default]
    Cosine,
    /// `lr * gamma^epoch` (DARTS's ImageNet training: gamma 0.97).
    Exponential {
        /// Factor per epoch, in (0, 1].
        gamma: f64,
    },
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            epochs: 600,
            data: DataConfig::train(),
            network: EvalNetConfig::default(),
            optimizer: SgdConfig::default(),
            lr_min: 0.0,
            grad_clip: 5.0,
            aux_weight: 0.4,
            drop_path: 0.2,
            schedule: LrSchedule::Cosine,
            label_smoothing: 0.0,
            tensorboard: TensorBoard::default(),
        }
    }
}

impl TrainConfig {
    /// DARTS's CIFAR-10 evaluation: 600 epochs, batch 96, C = 36, 20 cells, auxiliary head,
    /// cutout 16, drop path 0.2.
    pub fn paper() -> Self {
        Self::default()
    }

    /// The training preset that follows a search with `method`: as [`Self::paper`] or
    /// [`Self::tiny`], with PC-DARTS's own evaluation drop path (0.3, PC-DARTS `train.py`) after a
    /// PC-DARTS search at paper scale.
    pub fn preset(preset: Preset, method: MethodKind) -> Self {
        match preset {
            Preset::Tiny => Self::tiny(),
            Preset::Imagenet => Self::imagenet(),
            Preset::Paper => {
                let mut c = Self::paper();
                if method == MethodKind::PcDarts {
                    c.drop_path = 0.3;
                }
                c
            }
        }
    }

    /// DARTS's ImageNet training (`train_imagenet.py`, mobile setting): an image folder,
    /// streamed (random resized crop 224, flip, colour jitter; test: resize 256, centre 224),
    /// batch 128, 250 epochs, SGD lr 0.1 momentum 0.9 weight decay 3e-5, lr x0.97 per epoch,
    /// label smoothing 0.1, auxiliary weight 0.4, grad clip 5, no drop path, C = 48, 14 cells.
    pub fn imagenet() -> Self {
        Self {
            epochs: 250,
            data: DataConfig::imagenet(),
            network: EvalNetConfig {
                channels: 48,
                layers: 14,
                setting: Setting::Imagenet,
                ..EvalNetConfig::default()
            },
            optimizer: SgdConfig {
                lr: 0.1,
                weight_decay: 3e-5,
                ..SgdConfig::default()
            },
            lr_min: 0.0,
            drop_path: 0.0,
            schedule: LrSchedule::Exponential { gamma: 0.97 },
            label_smoothing: 0.1,
            tensorboard: TensorBoard::default(),
            ..Self::default()
        }
    }

    /// The tiny CPU preset: Fashion-MNIST at 16x16, 8,000 class-balanced training images,
    /// C = 16, 8 cells, batch 64, 8 epochs, drop path 0.1.
    pub fn tiny() -> Self {
        let mut c = Self {
            epochs: 8,
            drop_path: 0.1,
            ..Self::default()
        };
        c.data.dataset = DatasetKind::FashionMnist;
        c.data.resize = Some(16);
        c.data.batch_size = 64;
        c.data.train_limit = Some(8_000);
        c.data.augment = Augment {
            crop_padding: 2,
            hflip: true,
            cutout: 0,
            ..Augment::none()
        };
        c.network.channels = 16;
        c.network.layers = 8;
        c.optimizer.lr = 0.05;
        c.lr_min = 0.001;
        c
    }

    /// The learning rate of epoch `epoch` (0-based) under the schedule.
    pub fn lr(&self, epoch: usize) -> f64 {
        match self.schedule {
            LrSchedule::Cosine => Cosine {
                base: self.optimizer.lr,
                min: self.lr_min,
                epochs: self.epochs,
            }
            .lr(epoch),
            LrSchedule::Exponential { gamma } => Exponential {
                base: self.optimizer.lr,
                gamma,
            }
            .lr(epoch),
        }
    }

    /// Checks values the types do not.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, value: String, reason: &str| {
            Err(EvalError::Config {
                field,
                value,
                reason: reason.into(),
            })
        };
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "expected at least 1");
        }
        if self.data.batch_size == 0 {
            return bad("data.batch_size", "0".into(), "expected at least 1");
        }
        if self.data.split.is_some() {
            return bad(
                "data.split",
                "set".into(),
                "a search setting; training uses the whole training set (limit it with data.train_limit)",
            );
        }
        if let Err((field, value, reason)) = self.optimizer.check() {
            let field = match field {
                "lr" => "optimizer.lr",
                "momentum" => "optimizer.momentum",
                _ => "optimizer.weight_decay",
            };
            return bad(field, value.to_string(), reason);
        }
        let lr = self.optimizer.lr;
        if !(lr.is_finite() && lr > 0.0 && self.lr_min >= 0.0 && self.lr_min <= lr) {
            return bad(
                "optimizer.lr",
                format!("{lr} (lr_min {})", self.lr_min),
                "expected lr > 0 and 0 <= lr_min <= lr",
            );
        }
        if let LrSchedule::Exponential { gamma } = self.schedule {
            if !(gamma > 0.0 && gamma <= 1.0) {
                return bad(
                    "schedule.exponential.gamma",
                    gamma.to_string(),
                    "expected a factor in (0, 1]",
                );
            }
        }
        if self.label_smoothing.is_nan() || !(0.0..1.0).contains(&self.label_smoothing) {
            return bad(
                "label_smoothing",
                self.label_smoothing.to_string(),
                "expected a value in [0, 1)",
            );
        }
        if self.drop_path.is_nan() || !(0.0..1.0).contains(&self.drop_path) {
            return bad(
                "drop_path",
                self.drop_path.to_string(),
                "expected a probability in [0, 1)",
            );
        }
        Ok(())
    }
}
