//! DrNAS's settings and its Dirichlet regulariser (Chen et al., ICLR 2021).

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::Result;

/// DrNAS's regulariser of the Dirichlet concentrations (`--reg_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrnasRegulariser {
    /// `scale / 2 * ||alpha||^2` (the code passes `reg_scale` to Adam as weight decay): the
    /// default of the official DARTS-space search.
    L2,
    /// `scale * sum_edges KL(Dir(elu(alpha) + 1) || Dir(1))`.
    Kl,
}

/// DrNAS's defaults, from the official code (xiangning-chen/DrNAS, `DARTS-space/train_search.py`,
/// `model_search.py`, `architect.py`): `--reg_type l2 --reg_scale 1e-3`, Adam lr 6e-4 with betas
/// (0.5, 0.999), architecture updates from epoch 10 of each stage. Its progressive schedule (a
/// 20-cell C = 36 supernet, partial channels K 6 then 4, pruning to 4 ops per edge after 25
/// epochs) is the paper preset's [`SearchConfig::stages`](crate::SearchConfig::stages).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DrnasConfig {
    /// Which regulariser (`--reg_type`). Code: l2.
    pub regulariser: DrnasRegulariser,
    /// Its scale (`--reg_scale`). Code: 1e-3.
    pub scale: f64,
    /// Search `none` too in DARTS's space. Code: no (`none` is commented out of its
    /// PRIMITIVES), so `--space darts` searches `darts-no-none` unless this is set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub with_none: bool,
}

impl Default for DrnasConfig {
    fn default() -> Self {
        Self {
            regulariser: DrnasRegulariser::L2,
            scale: 1e-3,
            with_none: false,
        }
    }
}

/// `sum over rows of KL(Dir(c_row) || Dir(1, .., 1))`, in closed form:
/// `lnG(c0) - sum lnG(c_i) - lnG(K) + sum (c_i - 1)(psi(c_i) - psi(c0))`.
pub fn dirichlet_kl_to_uniform(concentration: &Tensor) -> Result<Tensor> {
    let kind = concentration.kind();
    let k = concentration.size().last().copied().unwrap_or(1) as f64;
    let c0 = concentration.f_sum_dim_intlist(-1, true, kind)?;
    let ln_gamma_k = Tensor::f_from_slice(&[k])?
        .f_lgamma()?
        .f_double_value(&[0])?;
    let kl = c0
        .f_lgamma()?
        .f_squeeze_dim(-1)?
        .f_sub(
            &concentration
                .f_lgamma()?
                .f_sum_dim_intlist(-1, false, kind)?,
        )?
        .f_sub_scalar(ln_gamma_k)?
        .f_add(
            &concentration
                .f_sub_scalar(1.0)?
                .f_mul(&concentration.f_digamma()?.f_sub(&c0.f_digamma()?)?)?
                .f_sum_dim_intlist(-1, false, kind)?,
        )?;
    Ok(kl.f_sum(kind)?)
}
