//! The configuration and state of an `aca run` directory (`run.json`): every stage's
//! configuration (search, allocation, training) and the seconds spent per stage.

use aca_core::Layers;
use aca_search::{MethodKind, Preset, SearchConfig};
use aca_space::Space;
use serde::{Deserialize, Serialize};

use crate::allocate::{AllocateOptions, Strategy};
use crate::error::Result;
use crate::train::TrainConfig;

/// Every stage's configuration of an `aca run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The search.
    pub search: SearchConfig,
    /// Allocate and train from the snapshot of this search epoch (default: the final search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_epoch: Option<usize>,
    /// The channel allocation.
    pub allocate: AllocateOptions,
    /// The training from scratch.
    pub train: TrainConfig,
}

impl RunConfig {
    /// A preset's configuration of every stage for `method` and op set `space` (allocation
    /// `otsu-log` for ACA's spaces, `aca`, `s3-aca` and `s4-aca`; `all` for the others).
    pub fn preset(preset: Preset, method: MethodKind, space: Space) -> Self {
        let mut search = SearchConfig::preset(preset, method);
        search.space = space;
        let allocate = AllocateOptions {
            strategy: if space.is_aca() {
                Strategy::OtsuLog
            } else {
                Strategy::All
            },
            ..AllocateOptions::default()
        };
        Self {
            search,
            eval_epoch: None,
            allocate,
            train: TrainConfig::preset(preset, method),
        }
    }

    /// The configuration by one precedence: the preset's < `layers` (a config file, a sweep's
    /// base and axes) < `method` and `space` (flags). The preset is that of the method and space
    /// the highest of these names (default: DARTS in DARTS's space). Other flags go on top.
    pub fn layered(
        preset: Preset,
        layers: &Layers,
        method: Option<MethodKind>,
        space: Option<Space>,
    ) -> Result<Self> {
        let method = match method {
            Some(m) => m,
            None => layers.choice("/search/method")?.unwrap_or_default(),
        };
        let space = match space {
            Some(s) => s,
            None => layers.choice("/search/space")?.unwrap_or_default(),
        };
        let mut config = layers.apply(&Self::preset(preset, method, space))?;
        config.search.method = method;
        config.search.space = space;
        Ok(config)
    }

    /// Keeps the snapshot that `eval_epoch` evaluates, and checks every stage's values.
    pub fn resolve(&mut self) -> Result<()> {
        if let Some(e) = self.eval_epoch {
            if !self.search.keeps_snapshot(e) && e != self.search.epochs {
                self.search.snapshot_epochs.push(e);
                self.search.snapshot_epochs.sort_unstable();
                self.search.snapshot_epochs.dedup();
            }
        }
        self.search.validate()?;
        self.train.validate()?;
        Ok(())
    }
}

/// `run.json`: the preset, the configuration and the time spent so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// The preset the configuration started from.
    pub preset: Preset,
    /// Every stage's configuration.
    pub config: RunConfig,
    /// Seconds spent per stage, over every invocation.
    #[serde(default)]
    pub seconds: StageSeconds,
    /// A sweep run's axis values, which its TensorBoard session records as hyperparameters.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub hparams: std::collections::BTreeMap<String, serde_json::Value>,
}

impl RunState {
    /// A run that has not started.
    pub fn new(preset: Preset, config: RunConfig) -> Self {
        Self {
            preset,
            config,
            seconds: StageSeconds::default(),
            hparams: Default::default(),
        }
    }
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct StageSeconds {
    pub search: f64,
    pub allocate: f64,
    pub train: f64,
    pub test: f64,
    pub report: f64,
}
