//! DARTS-'s settings (Chu et al., ICLR 2021).

use serde::{Deserialize, Serialize};

/// DARTS-'s settings, from the official code (Meituan-AutoML/DARTS-: `--auxiliary_skip
/// --skip_beta 1 --decay linear`, `DecayScheduler`): the auxiliary skip's coefficient is
/// `beta(e) = skip_beta * (T - e) / T` at epoch `e`, and 0 from `T` on. The code's horizon is
/// `--decay_max_epoch 50`, the length of its search; by default aca takes the search's own
/// length, so the skip has faded when any search ends (docs/method.md).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DartsMinusConfig {
    /// The coefficient at the start of the search (`--skip_beta`). Code: 1.
    pub skip_beta: f64,
    /// The decay's horizon `T` in epochs (`--decay_max_epoch`; the code's 50). Unset: the
    /// search's own length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_max_epoch: Option<usize>,
}

impl Default for DartsMinusConfig {
    fn default() -> Self {
        Self {
            skip_beta: 1.0,
            decay_max_epoch: None,
        }
    }
}

impl DartsMinusConfig {
    /// The coefficient at epoch `epoch` (0-based) of a search of `epochs` epochs.
    pub fn beta(&self, epoch: usize, epochs: usize) -> f64 {
        let horizon = self.decay_max_epoch.unwrap_or(epochs).max(1) as f64;
        self.skip_beta * (1.0 - epoch as f64 / horizon).max(0.0)
    }
}
