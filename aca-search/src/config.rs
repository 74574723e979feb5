//! Search configuration: serde structs whose defaults are DARTS's CIFAR-10 values, and presets.
//! One file although long: the fields, their paper defaults, the presets and the checks are one
//! table read together.

use aca_core::tensorboard::TensorBoard;
use aca_core::{AdamConfig, Layers, SgdConfig};
use aca_data::{darts_split, Augment, DataConfig, Dataset, DatasetInfo, DatasetKind, Split};
use aca_space::nn::SearchNetConfig;
use aca_space::{OpSet, Space};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SearchError};
use crate::method::{MethodKind, MethodOptions};
use crate::stages::SearchStage;

/// A whole search. `SearchConfig::default()` is DARTS's first-order CIFAR-10 search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Seed of every random choice (DARTS: 2).
    pub seed: u64,
    /// Op set searched: `aca` (skip-free) or `darts`.
    pub space: Space,
    /// Search method.
    pub method: MethodKind,
    /// Search epochs. DARTS: 50.
    pub epochs: usize,
    /// Data.
    pub data: DataConfig,
    /// The supernet (classes and image channels are set from the dataset).
    pub network: SearchNetConfig,
    /// Weight optimizer: SGD lr 0.025, momentum 0.9, weight decay 3e-4 (DARTS).
    pub weight_optimizer: SgdConfig,
    /// Final learning rate of the cosine schedule. DARTS: 0.001.
    pub lr_min: f64,
    /// Gradient-norm clip of the weight step. DARTS: 5.
    pub grad_clip: f64,
    /// Architecture optimizer: Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3 (DARTS).
    pub arch_optimizer: AdamConfig,
    /// First epoch with architecture updates (PC-DARTS: 15 of 50; DARTS: 0).
    pub arch_start_epoch: usize,
    /// Keep a snapshot (supernet, alphas, genotype) at the end of these epochs (1-based), so that
    /// allocation and training can start from any of them: one long search gives several points
    /// of the collapse curve. Empty: none (the final search is always kept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub snapshot_epochs: Vec<usize>,
    /// Also keep a snapshot every K epochs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_every: Option<usize>,
    /// The robust-DARTS methods' settings (beta-DARTS, DARTS-); the papers' values by default.
    #[serde(skip_serializing_if = "MethodOptions::is_default")]
    pub method_options: MethodOptions,
    /// A progressive search's stages (DrNAS): the ops are pruned and the partial-channel mixed
    /// ops widened between them, and `arch_start_epoch` counts from each stage's start. Empty:
    /// one stage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<SearchStage>,
    /// TensorBoard event files under the run directory's `tb/` (on by default).
    #[serde(skip_serializing_if = "TensorBoard::is_default")]
    pub tensorboard: TensorBoard,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            seed: 2,
            space: Space::Aca,
            method: MethodKind::Darts,
            epochs: 50,
            data: DataConfig::search(),
            network: SearchNetConfig::default(),
            weight_optimizer: SgdConfig::default(),
            lr_min: 0.001,
            grad_clip: 5.0,
            arch_optimizer: AdamConfig::default(),
            arch_start_epoch: 0,
            snapshot_epochs: Vec::new(),
            snapshot_every: None,
            method_options: MethodOptions::default(),
            stages: Vec::new(),
            tensorboard: TensorBoard::default(),
        }
    }
}

/// Named presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// A few epochs of a small supernet on a Fashion-MNIST subset: minutes on 2 CPU cores.
    Tiny,
    /// The papers' configuration on CIFAR-10 (a GPU job).
    Paper,
    /// DARTS's ImageNet recipe on an image folder (mobile setting, 224x224; a GPU job). The
    /// search is the paper's, on the folder at 32x32 (DARTS searched on CIFAR-10 and transferred
    /// the cell).
    Imagenet,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Self; 3] = [Self::Tiny, Self::Paper, Self::Imagenet];

    /// The name, as configs and `--preset` write it (serde's lowercase names alike).
    pub fn name(self) -> &'static str {
        match self {
            Self::Tiny => "tiny",
            Self::Paper => "paper",
            Self::Imagenet => "imagenet",
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Preset {
    type Err = SearchError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| SearchError::Config {
                field: "preset",
                value: s.into(),
                reason: "expected tiny, paper or imagenet".into(),
            })
    }
}

impl SearchConfig {
    /// The papers' search for `method`: DARTS's CIFAR-10 settings, with the method's own where its
    /// official code differs: PC-DARTS (batch 256, SGD lr 0.1 to 0, Adam lr 6e-4, K = 4, edge
    /// normalisation, architecture from epoch 15), FairDARTS (batch 128, SGD lr 0.005 to 0.001,
    /// Adam lr 3e-3, betas (0.9, 0.999)), DrNAS (its progressive search: a 20-cell C = 36
    /// supernet with partial channels, two stages of 25 epochs, K = 6 then 4 with the ops pruned
    /// to 4 per edge between them, SGD lr 0.1 to 0, Adam lr 6e-4 without weight decay,
    /// architecture from epoch 10 of each stage).
    pub fn paper(method: MethodKind) -> Self {
        let mut c = Self {
            method,
            ..Self::default()
        };
        c.network.relaxation = method.relaxation();
        if method == MethodKind::DartsMinus {
            c.network.auxiliary_skip = true;
        }
        if method == MethodKind::FairDarts {
            // FairDARTS train_search.py: batch 128, SGD lr 0.005 to 0.001, Adam lr 3e-3 with
            // betas (0.9, 0.999) (`--arch_lr_gamma 0.9`), weight decay 1e-3.
            c.data.batch_size = 128;
            c.weight_optimizer.lr = 0.005;
            c.lr_min = 0.001;
            c.arch_optimizer.lr = 3e-3;
            c.arch_optimizer.betas = (0.9, 0.999);
        }
        if method == MethodKind::Drnas {
            // DrNAS DARTS-space train_search.py: SGD lr 0.1 to 0, Adam lr 6e-4, architecture from
            // epoch 10; its L2 regulariser is the architecture optimiser's only weight decay.
            c.weight_optimizer.lr = 0.1;
            c.lr_min = 0.0;
            c.arch_optimizer.lr = 6e-4;
            c.arch_optimizer.weight_decay = 0.0;
            c.arch_start_epoch = 10;
            // Its progressive supernet: `--layers 20 --init_channels 36 --k 6`, `ks = [6, 4]`,
            // `num_keeps = [7, 4]`, `train_epochs = [25, 25]`.
            c.network.layers = 20;
            c.network.channels = 36;
            c.network.partial_channels = Some(6);
            c.stages = vec![
                SearchStage {
                    epochs: 25,
                    partial_channels: Some(6),
                    keep_ops: None,
                },
                SearchStage {
                    epochs: 25,
                    partial_channels: Some(4),
                    keep_ops: Some(4),
                },
            ];
        }
        if method == MethodKind::PcDarts {
            c.data.batch_size = 256;
            c.weight_optimizer.lr = 0.1;
            c.lr_min = 0.0;
            c.arch_optimizer.lr = 6e-4;
            c.arch_start_epoch = 15;
            c.network.partial_channels = Some(4);
            c.network.edge_normalization = true;
        }
        c
    }

    /// The tiny CPU preset: Fashion-MNIST resized to 16x16, 1,600 + 1,600 class-balanced images,
    /// batch 16, architecture Adam lr 3e-2, a 5-cell supernet with C = 8, 4 epochs. PC-DARTS uses
    /// K = 2; PC-DARTS and DrNAS start architecture updates at epoch 1 (their warm-up, scaled).
    /// DrNAS keeps its two stages, scaled: 3 + 3 epochs, K = 4 then 2, 4 ops kept per edge.
    pub fn tiny(method: MethodKind) -> Self {
        let mut c = Self::paper(method);
        c.epochs = 4;
        c.data.dataset = DatasetKind::FashionMnist;
        c.data.resize = Some(16);
        // Deviation of the small preset (docs/method.md, studies/tiny-preset/): batch 16 gives
        // 100 architecture steps per epoch instead of 50, and Adam lr 3e-2 lets 400 steps move
        // the op weights clearly off uniform; at DARTS's 3e-4 the tiny search did not learn.
        c.data.batch_size = 16;
        c.arch_optimizer.lr = 3e-2;
        c.data.split_mut().train_limit = Some(1600);
        c.data.split_mut().valid_limit = Some(1600);
        c.data.augment = Augment {
            crop_padding: 2,
            hflip: true,
            cutout: 0,
            ..Augment::none()
        };
        c.network.channels = 8;
        c.network.layers = 5;
        if method == MethodKind::PcDarts {
            c.network.partial_channels = Some(2);
        }
        if matches!(method, MethodKind::PcDarts | MethodKind::Drnas) {
            c.arch_start_epoch = 1;
        }
        if method == MethodKind::Drnas {
            c.epochs = 6;
            c.network.partial_channels = Some(4);
            c.stages = vec![
                SearchStage {
                    epochs: 3,
                    partial_channels: Some(4),
                    keep_ops: None,
                },
                SearchStage {
                    epochs: 3,
                    partial_channels: Some(2),
                    keep_ops: Some(4),
                },
            ];
        }
        c
    }

    /// The search of the ImageNet preset: the paper's, on an image folder held in memory at
    /// 32x32 (shorter side, then the centre). DARTS searched on CIFAR-10 and transferred the
    /// cell to ImageNet; this searches the same way on the data the network then trains on.
    pub fn imagenet(method: MethodKind) -> Self {
        let mut c = Self::paper(method);
        c.data.switch_dataset(DatasetKind::Folder);
        c.data.resize = Some(32);
        c
    }

    /// The configuration by one precedence: the preset's < `layers` (a config file) < `method`
    /// (a flag). The preset is that of the method the highest of these names (default: DARTS).
    /// Other flags go on top.
    pub fn layered(preset: Preset, layers: &Layers, method: Option<MethodKind>) -> Result<Self> {
        let method = match method {
            Some(m) => m,
            None => layers.choice("/method")?.unwrap_or_default(),
        };
        let mut config = layers.apply(&Self::preset(preset, method))?;
        config.method = method;
        Ok(config)
    }

    /// DARTS's split of `data`'s training set into the search's weight and architecture halves,
    /// by this search's split settings and seed (the search and the allocation of its channels
    /// read the same halves).
    pub fn search_split(&self, data: &Dataset) -> Result<Split> {
        Ok(darts_split(
            data.train.label_list(),
            data.info.classes,
            &self.data.split(),
            self.seed,
        )?)
    }

    /// A preset by name.
    pub fn preset(preset: Preset, method: MethodKind) -> Self {
        match preset {
            Preset::Tiny => Self::tiny(method),
            Preset::Paper => Self::paper(method),
            Preset::Imagenet => Self::imagenet(method),
        }
    }

    /// Whether a snapshot is kept at the end of `epoch` (1-based).
    pub fn keeps_snapshot(&self, epoch: usize) -> bool {
        self.snapshot_epochs.contains(&epoch)
            || self
                .snapshot_every
                .is_some_and(|k| k > 0 && epoch.is_multiple_of(k))
    }

    /// The op set the search runs on: the space's, except that DARTS's space means DARTS's ops
    /// without `none` for FairDARTS and DrNAS, as their official code searches it (unless their
    /// `with_none` option is set).
    pub fn op_set(&self) -> Result<OpSet> {
        let options = &self.method_options;
        let none_free = self.space == aca_space::Space::Darts
            && match self.method {
                MethodKind::FairDarts => !options.fair_darts.with_none,
                MethodKind::Drnas => !options.drnas.with_none,
                _ => false,
            };
        Ok(if none_free {
            aca_space::Space::DartsNoNone.op_set()
        } else {
            self.space.op_set()
        })
    }

    /// Checks the values that the types do not.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &'static str, value: String, reason: &str| {
            Err(SearchError::Config {
                field,
                value,
                reason: reason.into(),
            })
        };
        self.op_set()?;
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "expected at least 1");
        }
        if self.data.batch_size == 0 {
            return bad("data.batch_size", "0".into(), "expected at least 1");
        }
        if let Some(limit) = self.data.train_limit {
            return bad(
                "data.train_limit",
                limit.to_string(),
                "a training setting; the search limits its images with data.split.train_limit and data.split.valid_limit",
            );
        }
        if let Err((field, value, reason)) = self.weight_optimizer.check() {
            let field = match field {
                "lr" => "weight_optimizer.lr",
                "momentum" => "weight_optimizer.momentum",
                _ => "weight_optimizer.weight_decay",
            };
            return bad(field, value.to_string(), reason);
        }
        if let Err((field, value, reason)) = self.arch_optimizer.check() {
            let field = match field {
                "lr" => "arch_optimizer.lr",
                "betas.0" => "arch_optimizer.betas",
                "betas.1" => "arch_optimizer.betas",
                "eps" => "arch_optimizer.eps",
                _ => "arch_optimizer.weight_decay",
            };
            return bad(field, value.to_string(), reason);
        }
        let lr = self.weight_optimizer.lr;
        let lr_ok = lr.is_finite() && lr > 0.0 && self.lr_min >= 0.0 && self.lr_min <= lr;
        if !lr_ok {
            return bad(
                "weight_optimizer.lr",
                format!("{lr} (lr_min {})", self.lr_min),
                "expected lr > 0 and 0 <= lr_min <= lr",
            );
        }
        if self.grad_clip.is_nan() || self.grad_clip <= 0.0 {
            return bad(
                "grad_clip",
                self.grad_clip.to_string(),
                "expected a positive norm",
            );
        }
        self.validate_stages()?;
        let shortest = self
            .stage_spans()
            .iter()
            .map(|s| s.len())
            .min()
            .unwrap_or(0);
        if self.arch_start_epoch >= shortest {
            return bad(
                "arch_start_epoch",
                self.arch_start_epoch.to_string(),
                &if self.stages.is_empty() {
                    format!(
                        "no architecture update would happen in {} epochs",
                        self.epochs
                    )
                } else {
                    format!(
                        "it counts from each stage's start, and a stage of {shortest} epochs would have no architecture update"
                    )
                },
            );
        }
        if let Some(&e) = self
            .snapshot_epochs
            .iter()
            .find(|&&e| e == 0 || e > self.epochs)
        {
            return bad(
                "snapshot_epochs",
                e.to_string(),
                &format!("expected epochs between 1 and {}", self.epochs),
            );
        }
        if self.snapshot_every == Some(0) {
            return bad("snapshot_every", "0".into(), "expected at least 1");
        }
        let aux = self.network.auxiliary_skip;
        if aux != (self.method == MethodKind::DartsMinus) {
            return bad(
                "network.auxiliary_skip",
                aux.to_string(),
                "the auxiliary skip is DARTS-'s: use method darts-minus (which sets it)",
            );
        }
        if aux && !self.op_set()?.contains(aca_space::Primitive::SkipConnect) {
            return bad(
                "method",
                "darts-minus".into(),
                &format!(
                    "DARTS-'s auxiliary skip exists to take skip_connect's unfair advantage away from it; op set `{}` has no skip_connect, so the combination is meaningless (use darts or beta-darts with the skip-free space)",
                    self.space
                ),
            );
        }
        let options = &self.method_options;
        for (field, value, what) in [
            (
                "method_options.beta_darts.lambda_max",
                options.beta_darts.lambda_max,
                "a weight",
            ),
            (
                "method_options.darts_minus.skip_beta",
                options.darts_minus.skip_beta,
                "a coefficient",
            ),
            (
                "method_options.fair_darts.zero_one_weight",
                options.fair_darts.zero_one_weight,
                "a weight",
            ),
            ("method_options.drnas.scale", options.drnas.scale, "a scale"),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return bad(field, value.to_string(), &format!("expected {what} >= 0"));
            }
        }
        let sd = self.method_options.sdarts;
        if !(sd.epsilon_min >= 0.0
            && sd.epsilon_max >= sd.epsilon_min
            && sd.epsilon_max.is_finite())
        {
            return bad(
                "method_options.sdarts",
                format!("epsilon {}..{}", sd.epsilon_min, sd.epsilon_max),
                "expected 0 <= epsilon_min <= epsilon_max",
            );
        }
        if self.network.relaxation != self.method.relaxation() {
            return bad(
                "network.relaxation",
                self.network.relaxation.name().into(),
                &format!(
                    "the relaxation is the method's: {} uses {} (leave the field out)",
                    self.method,
                    self.method.relaxation().name()
                ),
            );
        }
        let fair = options.fair_darts;
        if !(fair.threshold > 0.0 && fair.threshold < 1.0) {
            return bad(
                "method_options.fair_darts.threshold",
                fair.threshold.to_string(),
                "expected a sigmoid weight between 0 and 1",
            );
        }
        if sd.pgd_steps == 0 {
            return bad(
                "method_options.sdarts.pgd_steps",
                "0".into(),
                "expected at least 1 attack step",
            );
        }
        let pc = self.network.partial_channels.is_some() || self.network.edge_normalization;
        let drnas_pc = self.method == MethodKind::Drnas && !self.network.edge_normalization;
        if pc && self.method != MethodKind::PcDarts && !drnas_pc {
            return bad(
                "network.partial_channels",
                format!("{:?}", self.network.partial_channels),
                "partial channels are PC-DARTS's and DrNAS's, edge normalisation PC-DARTS's alone: use method pc-darts or drnas",
            );
        }

        if self.method == MethodKind::PcDarts && self.network.partial_channels.is_none() {
            return bad(
                "network.partial_channels",
                "none".into(),
                "pc-darts needs partial channels K (4 in the paper)",
            );
        }
        Ok(())
    }

    /// The config with the network's classes and image channels taken from the dataset.
    pub fn resolved(&self, info: &DatasetInfo) -> Self {
        let mut c = self.clone();
        c.network.classes = info.classes as i64;
        c.network.image_channels = info.channels as i64;
        c
    }
}
