//! SDARTS-RS and SDARTS-ADV's settings (Chen and Hsieh, ICML 2020).

use serde::{Deserialize, Serialize};

/// SDARTS, from the official code (xiangning-chen/SmoothDARTS, `sota/cnn/train_search.py`,
/// `attacker/perturb.py`): before each weight step the architecture parameters are replaced by
/// their softmax, perturbed within `[-epsilon, epsilon]` and clipped (`model.clip()`: clamp to
/// [0, 1], renormalise each edge), with `epsilon(e) = 0.03 + (epsilon_alpha - 0.03) * e / epochs`
/// and `--epsilon_alpha 0.3`; the architecture step is unperturbed. RS (`Random_alpha`) draws
/// the perturbation uniformly; ADV (`Linf_PGD_alpha`) starts there and takes `steps = 7` signed
/// gradient steps of size `2 epsilon / steps` up the training loss (network in evaluation mode),
/// projecting back into the box and clipping after each, and drops the perturbation if it did
/// not raise the loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SdartsConfig {
    /// Perturbation bound at the start. Code: 0.03.
    pub epsilon_min: f64,
    /// Perturbation bound at the end (`--epsilon_alpha`). Code: 0.3.
    pub epsilon_max: f64,
    /// SDARTS-ADV's attack steps (`Linf_PGD_alpha(steps=7)`). Code: 7.
    pub pgd_steps: usize,
}

impl Default for SdartsConfig {
    fn default() -> Self {
        Self {
            epsilon_min: 0.03,
            epsilon_max: 0.3,
            pgd_steps: 7,
        }
    }
}

impl SdartsConfig {
    /// The bound at `progress` = epoch / epochs of the search.
    pub fn epsilon(&self, progress: f64) -> f64 {
        self.epsilon_min + (self.epsilon_max - self.epsilon_min) * progress
    }
}
