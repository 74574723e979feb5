//! The search stage of `aca`: bilevel optimisation of a supernet's weights and architecture.
//!
//! - [`SearchConfig`]: serde configuration whose defaults are DARTS's CIFAR-10 values, with the
//!   `paper` and `tiny` presets.
//! - [`ArchStep`]: one architecture update; [`FirstOrder`] (DARTS first order, PC-DARTS) and
//!   [`Unrolled`] (DARTS second order, exactly as darts.md defines it). New methods implement it.
//! - [`search`]: the run: per step an architecture step on a validation batch then a weight step
//!   on a training batch; per epoch metrics, the derived genotype and an atomic checkpoint, from
//!   which `resume` continues bit-identically.
#![warn(missing_docs)]

mod config;
mod error;
mod method;
mod run;
mod stages;
pub mod step;

pub use config::{Preset, SearchConfig};
pub use error::{Result, SearchError};
pub use method::{
    beta_decay, dirichlet_kl_to_uniform, ArchStep, BetaCells, BetaDartsConfig, DartsMinusConfig,
    DrnasConfig, DrnasRegulariser, FairDartsConfig, FairDartsRule, FirstOrder, MethodKind,
    MethodOptions, Regularised, Regulariser, SdartsConfig, StepContext, Unrolled, HVP_SCALE,
};
pub use run::{
    files, not_learned_message, open_supernet, search, search_at_epoch, snapshot_dir, EpochRecord,
    SearchOutcome,
};
pub use stages::SearchStage;
