//! FairDARTS's settings (Chu et al., ECCV 2020).

use serde::{Deserialize, Serialize};

/// FairDARTS's defaults, from the official code (xiaomi-automl/FairDARTS, `fairdarts/`:
/// `train_search.py`, `separate_loss.py` `ConvSeparateLoss`, `utils.py` `parse`): the
/// architecture loss is `L_val - w * mean((sigmoid(alpha) - 0.5)^2)` over the normal and the
/// reduction alphas together, `--aux_loss_weight 10`; the genotype rule `threshold_sparse` keeps
/// a chosen op only when its sigmoid weight reaches `--op_threshold 0.85`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FairDartsConfig {
    /// Weight of the zero-one loss (`--aux_loss_weight`). Code: 10.
    pub zero_one_weight: f64,
    /// Sigmoid weight an op must reach under the threshold rule (`--op_threshold`). Code: 0.85.
    pub threshold: f64,
    /// The genotype rule (`--parse_method`). Code: `threshold_sparse`.
    pub rule: FairDartsRule,
    /// Search `none` too in DARTS's space. Code: no (its PRIMITIVES have 7 ops), so `--space
    /// darts` searches `darts-no-none` unless this is set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub with_none: bool,
}

impl Default for FairDartsConfig {
    fn default() -> Self {
        Self {
            zero_one_weight: 10.0,
            threshold: 0.85,
            rule: FairDartsRule::ThresholdSparse,
            with_none: false,
        }
    }
}

/// How FairDARTS derives its genotype (`--parse_method` of the official code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FairDartsRule {
    /// `threshold_sparse`: DARTS's two edges per node and strongest op on each, each kept only
    /// when its sigmoid weight reaches the threshold: a sparse cell
    /// ([`aca_space::ArchParams::derive_sparse`]), trained as the code's `DCOCell` trains it.
    ThresholdSparse,
    /// `darts`: DARTS's rule on the sigmoid weights, a cell of 8 ops.
    Darts,
}
