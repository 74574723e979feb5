//! The evaluation stage of ACA.
//!
//! - [`ChannelPlan`]: a genotype plus, per kept edge, the share of channels its op keeps.
//! - [`EvalNetwork`]: DARTS's evaluation network (CIFAR or ImageNet setting) built from a plan;
//!   each edge's op produces `k` of `C` channels, the other `C - k` are the input's channels
//!   through skip. With every share 1 it is exactly DARTS's network.
#![warn(missing_docs)]

mod error;
mod network;
mod plan;

pub use error::{EvalError, Result};
pub use network::{EvalNetConfig, EvalNetwork, Output, Setting};
pub use plan::{op_channels, ChannelPlan, EdgeScores};
