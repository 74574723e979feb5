//! Shared ground of the tch-based `aca` crates: device choice and seeding, optimizers with
//! exportable state and PyTorch's exact update rules, DARTS's cosine and exponential schedules,
//! gradient clipping, atomic checkpoints, metrics logs and accuracy tallies, atomic file writes,
//! and the run directory every stage shares (lock, pinned configuration, checkpoint, metrics) and
//! the epoch loop that runs in it; and jemalloc's page policy for training ([`KeepFreedPages`]).
#![warn(missing_docs)]

mod alloc;
mod checkpoint;
mod device;
mod epochs;
mod error;
mod fsutil;
mod layers;
mod lock;
mod metrics;
mod optim;
mod run_dir;
mod schedule;
pub mod tensorboard;

pub use alloc::KeepFreedPages;
pub use checkpoint::{
    load_checkpoint, prefixed, save_checkpoint, take_tensor, torch_message, with_prefix,
};
pub use device::{seed_everything, DeviceChoice};
pub use epochs::{run_epochs, EpochTask};
pub use error::{CoreError, Result};
pub use fsutil::{
    json_differences, parse_json_strict, remove_stale_temps, write_atomic, write_json_atomic,
};
pub use layers::Layers;
pub use lock::{RunLock, LOCK_FILE};
pub use metrics::{Accuracy, MetricsLog, Tally};
pub use optim::{
    clip_grad_norm, Adam, AdamConfig, BadValue, OptimizerState, Sgd, SgdConfig, MAX_LR,
};
pub use run_dir::{check_finite, files, NoState, Observer, Resumed, RunDir, Silent};
pub use schedule::{Cosine, Exponential};
