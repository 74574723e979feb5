//! Shared ground of the tch-based `aca` crates: device choice and seeding, atomic file writes.
//!
//! Optimizers with exportable state, LR schedules, checkpoints, metrics and run directories join
//! this crate as the search and evaluation stages need them.
#![warn(missing_docs)]

mod device;
mod error;
mod fsutil;

pub use device::{seed_everything, DeviceChoice};
pub use error::{CoreError, Result};
pub use fsutil::{write_atomic, write_json_atomic};
