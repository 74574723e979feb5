//! beta-DARTS's settings and its beta-decay regulariser (Ye et al., CVPR 2022).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::Result;

/// beta-DARTS's settings. The official code (Sunshine-Ye/Beta-DARTS,
/// `optimizers/darts/architect.py`) adds `lambda(e) * mean_edges(logsumexp(alpha_edge))` (its
/// `mlc_loss`) to the architecture loss with `lambda(e) = 50 * e / 100`, a slope of 0.5 per
/// epoch (49.5 at the end of its default 100 epochs). Its DARTS-space path does not run (the
/// loss is handed a list of the two cells' alphas), so how the cells combine and the end value
/// in DARTS's space are aca's choices: by default the two cells' terms are summed and the weight
/// rises linearly to 25 at the end of the search (the code's slope over a 50-epoch search);
/// docs/method.md, "The peers against their official code".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BetaDartsConfig {
    /// The regularisation weight at the end of the search (reached linearly from 0): 25.
    pub lambda_max: f64,
    /// How the normal and reduction cells' terms combine: `sum` (default) or `mean` (the code's
    /// loss on the two cells stacked into one tensor; `sum` with 25 equals `mean` with 50).
    #[serde(skip_serializing_if = "BetaCells::is_sum")]
    pub cells: BetaCells,
}

/// How beta-DARTS's regulariser combines the two cell types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BetaCells {
    /// The normal and the reduction cells' terms added.
    #[default]
    Sum,
    /// Their mean.
    Mean,
}

impl BetaCells {
    fn is_sum(&self) -> bool {
        *self == Self::Sum
    }
}

impl Default for BetaDartsConfig {
    fn default() -> Self {
        Self {
            lambda_max: 25.0,
            cells: BetaCells::Sum,
        }
    }
}

impl BetaDartsConfig {
    /// The weight at `progress` = epoch / epochs of the search.
    pub fn lambda(&self, progress: f64) -> f64 {
        self.lambda_max * progress
    }
}

/// The beta-decay regulariser `mean_edges(logsumexp(alpha_edge))` of one alpha matrix, and its
/// gradient `softmax(alpha_edge) / edges`.
pub fn beta_decay(alphas: &Tensor) -> Result<(f64, Tensor)> {
    let edges = alphas.size().first().copied().unwrap_or(1).max(1) as f64;
    tch::no_grad(|| {
        let value = alphas
            .f_logsumexp([-1i64].as_slice(), false)?
            .f_mean(alphas.kind())?
            .f_double_value(&[])?;
        let grad = alphas.f_softmax(-1, alphas.kind())?.f_div_scalar(edges)?;
        Ok((value, grad))
    })
}
