//! The evaluation stage of ACA.
//!
//! - [`ChannelPlan`]: a genotype plus, per kept edge, the share of channels its op keeps.
//! - [`EvalNetwork`]: DARTS's evaluation network (CIFAR or ImageNet setting) built from a plan;
//!   each edge's op produces `k` of `C` channels, the other `C - k` are the input's channels
//!   through skip. With every share 1 it is exactly DARTS's network.
//! - [`ChannelScorer`] ([`Taylor`]) ranks channels on the final search network; [`Allocator`]
//!   ([`Otsu`], [`All`], [`Fixed`]) turns scores into op shares; [`allocate_run`] writes a search
//!   run's `plan.json`.
//! - [`train`] trains a plan from scratch (DARTS's recipe), resumable; [`test_run`] re-evaluates;
//!   [`predict`] gives the top classes of image files; [`export_safetensors`] writes the weights
//!   under the original DARTS code's names.
//! - [`Pipeline`]: the whole `aca run` (search, allocate, train, test, report) in one resumable
//!   run directory ([`RunConfig`], [`RunState`]), watched through a [`PipelineObserver`].
//! - [`RunLayout`] and [`RunContents`]: an `aca run` directory's layout, and what any run
//!   directory holds, read through the stages' types.
#![warn(missing_docs)]

mod allocate;
mod error;
mod export;
mod layout;
mod network;
mod onnx;
mod pipeline;
mod plan;
mod predict;
mod scorer;
mod train;

pub use allocate::{
    allocate, allocate_run, otsu_split, All, AllocateOptions, Allocator, Fixed, Otsu, OtsuLog,
    Strategy,
};
pub use error::{EvalError, Result};
pub use export::{darts_names, export_safetensors, state_dict, Exported, Naming};
pub use layout::{RunContents, RunLayout};
pub use network::{EvalNetConfig, EvalNetwork, Output, Setting};
pub use onnx::{export_onnx, onnx_model, ONNX_OPSET};
pub use pipeline::{
    Pipeline, PipelineObserver, RunConfig, RunState, StageError, StageSeconds, Summary,
};
pub use plan::{op_channels, ChannelPlan, EdgeScores};
pub use predict::{predict, run_dataset, Prediction};
pub use scorer::{kept_edges, BnGamma, ChannelScorer, ScorerKind, ScoringContext, Taylor};
pub use train::{
    files, label_smoothed_cross_entropy, test_accuracy, test_run, train, LrSchedule, TrainConfig,
    TrainRecord, TrainResults,
};
