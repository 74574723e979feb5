//! The tch modules (default `tch` feature): ops shared by both networks, and the search network.

pub mod ops;
mod search;
mod search_cell;

pub use search::{LossGrads, SearchNetConfig, SearchNetwork};

/// Mean cross-entropy of `logits` against class `labels`, computed in the logits' own kind
/// (tch's `cross_entropy_for_logits` always computes in f32).
pub fn cross_entropy(logits: &tch::Tensor, labels: &tch::Tensor) -> tch::Tensor {
    logits.log_softmax(-1, logits.kind()).nll_loss(labels)
}

/// Copies `saved` tensors into a network's own (`mine`, by name, as `named_tensors` lists them):
/// every one must be there with its shape; errors name the tensor.
pub fn copy_named(
    mine: Vec<(String, tch::Tensor)>,
    saved: &[(String, tch::Tensor)],
) -> crate::Result<()> {
    use crate::SpaceError;
    tch::no_grad(|| {
        for (name, mut t) in mine {
            let src = saved
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s)
                .ok_or_else(|| SpaceError::InvalidNetwork {
                    reason: format!("saved state has no tensor `{name}`"),
                })?;
            if src.size() != t.size() {
                return Err(SpaceError::InvalidNetwork {
                    reason: format!(
                        "`{name}` is {:?} in the saved state, {:?} in the network",
                        src.size(),
                        t.size()
                    ),
                });
            }
            t.f_copy_(&src.f_to_device(t.device())?)?;
        }
        Ok(())
    })
}
