//! Allocation strategies: from each edge's channel scores to the share of channels its op keeps.

use std::fmt;

use aca_space::{CellType, Genotype};

use crate::error::{EvalError, Result};
use crate::plan::{ChannelPlan, EdgeScores};

/// Decides, from one edge's channel scores in one cell, the share of channels the op keeps.
pub trait Allocator: fmt::Debug {
    /// The strategy's name as `--strategy` writes it.
    fn name(&self) -> String;
    /// The op's share of the channels, in (0, 1].
    fn fraction(&self, scores: &[f32]) -> f64;
}

/// Otsu's threshold on the scores normalised by their maximum: the channels above it are
/// important and stay with the op; the rest are refilled with identity. Parameter-free. With all
/// scores equal (no split) every channel stays; the op always keeps at least one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Otsu;

/// Every channel stays with the op: the plain DARTS evaluation network (the baseline).
#[derive(Debug, Clone, Copy, Default)]
pub struct All;

/// A hand-set share for every edge (a human prior, for ablations).
#[derive(Debug, Clone, Copy)]
pub struct Fixed(pub f64);

impl Allocator for Otsu {
    fn name(&self) -> String {
        "otsu".into()
    }

    fn fraction(&self, scores: &[f32]) -> f64 {
        if scores.is_empty() {
            return 1.0;
        }
        let max = scores.iter().copied().fold(0.0f32, f32::max);
        if max <= 0.0 {
            return 1.0;
        }
        let normalised: Vec<f64> = scores.iter().map(|&s| f64::from(s / max)).collect();
        match otsu_split(&normalised) {
            Some(low) => (scores.len() - low) as f64 / scores.len() as f64,
            None => 1.0,
        }
    }
}

impl Allocator for All {
    fn name(&self) -> String {
        "all".into()
    }
    fn fraction(&self, _scores: &[f32]) -> f64 {
        1.0
    }
}

impl Allocator for Fixed {
    fn name(&self) -> String {
        format!("fixed:{}", self.0)
    }
    fn fraction(&self, _scores: &[f32]) -> f64 {
        self.0
    }
}

/// Otsu's split of `values`: the number of values in the low group that maximises the
/// between-group variance `w0 * w1 * (m0 - m1)^2`, or `None` when all values are equal. Ties
/// between splits go to the lowest threshold.
pub fn otsu_split(values: &[f64]) -> Option<usize> {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len() as f64;
    let total: f64 = v.iter().sum();
    let mut best: Option<(usize, f64)> = None;
    let mut low_sum = 0.0;
    for i in 1..v.len() {
        low_sum += v[i - 1];
        if v[i] == v[i - 1] {
            continue; // a threshold must fall between distinct values
        }
        let (w0, w1) = (i as f64 / n, (n - i as f64) / n);
        let (m0, m1) = (low_sum / i as f64, (total - low_sum) / (n - i as f64));
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if best.is_none_or(|(_, b)| between > b) {
            best = Some((i, between));
        }
    }
    best.map(|(i, _)| i)
}

/// Parses `otsu`, `all` or `fixed:F` (0 < F <= 1).
pub fn strategy(text: &str) -> Result<Box<dyn Allocator>> {
    let bad = |reason: &str| EvalError::Config {
        field: "strategy",
        value: text.into(),
        reason: reason.into(),
    };
    match text {
        "otsu" => Ok(Box::new(Otsu)),
        "all" => Ok(Box::new(All)),
        _ => {
            let f = text
                .strip_prefix("fixed:")
                .ok_or_else(|| bad("expected otsu, all or fixed:F"))?
                .parse::<f64>()
                .map_err(|_| bad("fixed:F needs a number F"))?;
            if f.is_finite() && f > 0.0 && f <= 1.0 {
                Ok(Box::new(Fixed(f)))
            } else {
                Err(bad("F must be in (0, 1]"))
            }
        }
    }
}

/// Builds the plan: per cell type and kept edge, the mean over that type's search cells of the
/// allocator's share.
pub fn allocate(
    genotype: &Genotype,
    scores: [EdgeScores; 2],
    scorer: &str,
    allocator: &dyn Allocator,
) -> Result<ChannelPlan> {
    let mut plan = ChannelPlan::full(genotype.clone());
    for (k, cell) in CellType::BOTH.into_iter().enumerate() {
        let edges = genotype.cell(cell).len();
        if scores[k].len() != edges {
            return Err(EvalError::InvalidPlan {
                path: None,
                reason: format!(
                    "{cell}: scores for {} edges, the genotype keeps {edges}",
                    scores[k].len()
                ),
            });
        }
        let fractions: Vec<f64> = scores[k]
            .iter()
            .map(|per_cell| {
                let shares: Vec<f64> = per_cell.iter().map(|s| allocator.fraction(s)).collect();
                shares.iter().sum::<f64>() / shares.len().max(1) as f64
            })
            .collect();
        match cell {
            CellType::Normal => plan.normal = fractions,
            CellType::Reduce => plan.reduce = fractions,
        }
    }
    plan.scorer = scorer.into();
    plan.strategy = allocator.name();
    plan.scores = Some(scores);
    plan.validate()?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_two_clear_groups() {
        let s = [0.10, 0.12, 0.11, 0.90, 0.95, 1.00];
        assert_eq!(otsu_split(&s), Some(3));
        assert_eq!(Otsu.fraction(&[0.10, 0.12, 0.11, 0.90, 0.95, 1.00]), 0.5);
        // Order does not matter.
        assert_eq!(Otsu.fraction(&[0.9, 0.1, 1.0, 0.12, 0.95, 0.11]), 0.5);
    }

    #[test]
    fn otsu_all_equal_keeps_every_channel() {
        assert_eq!(otsu_split(&[0.5; 8]), None);
        assert_eq!(Otsu.fraction(&[0.5; 8]), 1.0);
        assert_eq!(Otsu.fraction(&[0.0; 4]), 1.0);
        assert_eq!(Otsu.fraction(&[]), 1.0);
    }

    #[test]
    fn otsu_one_outlier_is_the_important_group() {
        assert_eq!(Otsu.fraction(&[1.0, 1.0, 1.0, 1.0, 10.0]), 0.2);
        // One low outlier: everything else stays.
        assert_eq!(Otsu.fraction(&[0.0, 9.0, 9.5, 10.0]), 0.75);
    }

    #[test]
    fn strategies_parse() {
        assert_eq!(strategy("otsu").unwrap().name(), "otsu");
        assert_eq!(strategy("fixed:0.25").unwrap().fraction(&[1.0]), 0.25);
        assert_eq!(strategy("all").unwrap().fraction(&[1.0, 0.0]), 1.0);
        assert!(strategy("fixed:0")
            .unwrap_err()
            .to_string()
            .contains("F must be in (0, 1]"));
        assert!(strategy("median")
            .unwrap_err()
            .to_string()
            .contains("expected otsu, all or fixed:F"));
    }
}
