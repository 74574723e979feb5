//! Whether a search's architecture has learned: entropy of the edges' op weights and how far the
//! alphas moved from their initial noise.

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use crate::derive::ArchParams;
use crate::genotype::CellType;

/// Below this movement (in units of the initial noise) the architecture is said not to have
/// learned: its derived genotype is decided by the initialisation more than by the data.
pub const LEARNED_SHIFT: f64 = 3.0;

/// Above this share of the uniform entropy (normal cell) the op weights are still nearly uniform:
/// the ranking may have moved off the noise, but no op stands out on any edge.
pub const LEARNED_ENTROPY: f64 = 0.99;

/// Learning indicators of architecture parameters against their initial values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArchLearning {
    /// Mean over the normal cell's edges of the entropy (nats) of their op weights (softmax, or
    /// for FairDARTS's sigmoid the weights scaled to sum to 1).
    pub entropy_normal: f64,
    /// The same for the reduction cell.
    pub entropy_reduce: f64,
    /// The entropy of uniform weights, ln(number of ops): where a search starts.
    pub uniform_entropy: f64,
    /// The largest op weight (as a share of its edge) on any edge of either cell type (uniform:
    /// 1 / ops).
    pub max_weight: f64,
    /// How far the alphas moved from their initial values, relative to the initial noise: the
    /// root mean square of the change over the initial values' root mean square, both after
    /// removing each edge's mean (a shift shared by all ops of an edge changes no weight).
    pub shift: f64,
}

impl ArchLearning {
    /// Measures `now` against `init` (the same shapes; a mismatch measures as not learned).
    pub fn measure(now: &ArchParams, init: &ArchParams) -> Self {
        let n_ops = now.normal.ncols().max(1);
        let (mut moved, mut noise, mut count) = (0.0, 0.0, 0usize);
        for (a, a0) in [(&now.normal, &init.normal), (&now.reduce, &init.reduce)] {
            if a.dim() == a0.dim() {
                let change = centred(&(a - a0));
                moved += change.iter().map(|v| v * v).sum::<f64>();
                noise += centred(a0).iter().map(|v| v * v).sum::<f64>();
                count += a.len();
            }
        }
        let shift = if count == 0 || noise == 0.0 {
            0.0
        } else {
            (moved / noise).sqrt()
        };
        let max_weight = CellType::BOTH
            .iter()
            .flat_map(|&cell| shares(now, cell).into_iter())
            .fold(0.0f64, |m, w| m.max(w as f64));
        // Over the ops each edge still searches (S1's pairs, DrNAS's pruning): the mean over the
        // normal cell's edges of the logarithm of their count.
        let uniform_entropy = match &now.kept {
            Some(kept) if !kept.normal.is_empty() => {
                kept.normal
                    .iter()
                    .map(|row| (row.iter().filter(|&&k| k).count().max(1) as f64).ln())
                    .sum::<f64>()
                    / kept.normal.len() as f64
            }
            _ => (n_ops as f64).ln(),
        };
        Self {
            entropy_normal: mean_entropy(now, CellType::Normal),
            entropy_reduce: mean_entropy(now, CellType::Reduce),
            uniform_entropy,
            max_weight,
            shift,
        }
    }

    /// Whether the alphas moved clearly beyond their initial noise ([`LEARNED_SHIFT`]) and the
    /// normal cell's op weights left the uniform distribution ([`LEARNED_ENTROPY`]).
    pub fn learned(&self) -> bool {
        self.shift >= LEARNED_SHIFT && self.relative_entropy_normal() <= LEARNED_ENTROPY
    }

    /// The normal cell's mean entropy as a share of the uniform entropy (1 = nothing learned).
    pub fn relative_entropy_normal(&self) -> f64 {
        if self.uniform_entropy > 0.0 {
            self.entropy_normal / self.uniform_entropy
        } else {
            0.0
        }
    }
}

fn centred(a: &Array2<f32>) -> Array2<f64> {
    let a = a.mapv(f64::from);
    match a.mean_axis(Axis(1)) {
        Some(mean) => &a - &mean.insert_axis(Axis(1)),
        None => a,
    }
}

/// Each edge's op weights as shares summing to 1 (a sigmoid relaxation's weights do not), pruned
/// ops at 0.
fn shares(now: &ArchParams, cell: CellType) -> Array2<f32> {
    let mut w = now.op_weights(cell);
    for mut row in w.axis_iter_mut(Axis(0)) {
        let sum = row.sum();
        if sum > 0.0 {
            row /= sum;
        }
    }
    w
}

fn mean_entropy(now: &ArchParams, cell: CellType) -> f64 {
    if now.alphas(cell).nrows() == 0 {
        return 0.0;
    }
    let w = shares(now, cell);
    let total: f64 = w
        .outer_iter()
        .map(|row| {
            row.iter()
                .filter(|&&p| p > 0.0)
                .map(|&p| -(p as f64) * (p as f64).ln())
                .sum::<f64>()
        })
        .sum();
    total / w.nrows() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::Relaxation;
    use ndarray::Array2;

    fn params(normal: Array2<f32>) -> ArchParams {
        ArchParams {
            reduce: normal.clone(),
            normal,
            betas_normal: None,
            betas_reduce: None,
            relaxation: crate::Relaxation::Softmax,
            kept: None,
        }
    }

    #[test]
    fn uniform_alphas_have_uniform_entropy_and_no_shift() {
        let a = params(Array2::zeros((14, 7)));
        let l = ArchLearning::measure(&a, &a);
        assert!((l.entropy_normal - 7f64.ln()).abs() < 1e-6);
        assert!((l.relative_entropy_normal() - 1.0).abs() < 1e-6);
        assert!((l.max_weight - 1.0 / 7.0).abs() < 1e-6);
        assert_eq!(l.shift, 0.0);
        assert!(!l.learned());
    }

    #[test]
    fn shift_is_relative_to_the_initial_noise_and_ignores_per_edge_offsets() {
        // Initial noise: +-1e-3 alternating; the change: +-5e-3 on the same pattern plus a
        // per-edge constant that changes no weight.
        let init = Array2::from_shape_fn((14, 8), |(_, j)| if j % 2 == 0 { 1e-3 } else { -1e-3 });
        let now = Array2::from_shape_fn((14, 8), |(i, j)| {
            (if j % 2 == 0 { 6e-3 } else { -6e-3 }) + i as f32
        });
        let l = ArchLearning::measure(&params(now), &params(init));
        assert!((l.shift - 5.0).abs() < 1e-3, "{}", l.shift);
        // Moved, but the weights are still nearly uniform: not learned yet.
        assert!(l.relative_entropy_normal() > LEARNED_ENTROPY);
        assert!(!l.learned());
    }

    #[test]
    fn learned_needs_both_movement_and_a_lower_entropy() {
        let init = Array2::from_shape_fn((14, 7), |(_, j)| if j % 2 == 0 { 1e-3 } else { -1e-3 });
        let now = Array2::from_shape_fn((14, 7), |(_, j)| j as f32 * 0.5);
        let l = ArchLearning::measure(&params(now), &params(init));
        assert!(l.shift > LEARNED_SHIFT && l.relative_entropy_normal() < LEARNED_ENTROPY);
        assert!(l.learned());
    }

    #[test]
    fn a_peaked_edge_lowers_the_entropy_and_raises_the_max_weight() {
        let mut a = Array2::zeros((14, 8));
        a[[3, 4]] = 10.0;
        let l = ArchLearning::measure(&params(a.clone()), &params(Array2::zeros((14, 8))));
        assert!(l.entropy_normal < 8f64.ln());
        assert!(l.max_weight > 0.99);
    }

    #[test]
    fn sigmoid_weights_count_as_shares_of_their_edge() {
        // Two ops: sigmoid(0) = 0.5 and sigmoid(ln 3) = 0.75, i.e. shares 0.4 and 0.6.
        let mut a = Array2::<f32>::zeros((14, 2));
        a.column_mut(1).fill(3f32.ln());
        let mut p = params(a);
        p.relaxation = Relaxation::Sigmoid;
        let l = ArchLearning::measure(&p, &p);
        assert!((l.max_weight - 0.6).abs() < 1e-6, "{}", l.max_weight);
        let want = -(0.4f64 * 0.4f64.ln() + 0.6 * 0.6f64.ln());
        assert!(
            (l.entropy_normal - want).abs() < 1e-6,
            "{}",
            l.entropy_normal
        );
    }
}
