//! The tch modules (default `tch` feature): ops shared by both networks, and the search network.

pub mod ops;
mod search;

pub use search::{SearchNetConfig, SearchNetwork};

/// Mean cross-entropy of `logits` against class `labels`, computed in the logits' own kind
/// (tch's `cross_entropy_for_logits` always computes in f32).
pub fn cross_entropy(logits: &tch::Tensor, labels: &tch::Tensor) -> tch::Tensor {
    logits.log_softmax(-1, logits.kind()).nll_loss(labels)
}
