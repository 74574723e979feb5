//! The tch modules (default `tch` feature): ops shared by both networks, and the search network.

mod layers;
pub mod ops;
mod progressive;
mod search;
mod search_cell;
mod search_grads;
mod widen;

pub use progressive::Widening;
pub use search::{SearchNetConfig, SearchNetwork};
pub use search_grads::LossGrads;

/// Refuses a network of about `params` weights (`what`: "search network", ..) whose weights,
/// gradients and optimizer state cannot fit in this machine's memory, before anything is
/// allocated: libtorch would abort or the kernel kill the process instead. On a GPU, libtorch's
/// own out-of-memory error is a clean one, so only the CPU is checked.
pub fn check_fits(what: &str, params: f64, device: tch::Device) -> crate::Result<()> {
    if device != tch::Device::Cpu {
        return Ok(());
    }
    let Some(memory) = memory_bytes() else {
        return Ok(());
    };
    // f32 weights, their gradients, momentum or Adam's two moments.
    let needed = params * 4.0 * 4.0;
    if needed > memory as f64 {
        return Err(crate::SpaceError::InvalidNetwork {
            reason: format!(
                "{what} too large: about {params:.2e} parameters, about {:.0} GB for weights, gradients and optimizer state, and this machine has {:.0} GB: lower channels or layers",
                needed / 1e9,
                memory as f64 / 1e9
            ),
        });
    }
    Ok(())
}

/// The memory this process may use: the machine's (MemTotal) or its cgroup's limit if lower.
fn memory_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map(|kb| kb * 1024)
        })?;
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    Some(cgroup.map_or(total, |c| c.min(total)))
}

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
