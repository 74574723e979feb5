//! Allocation: from each edge's channel scores to the share of channels its op keeps
//! (strategies), and the allocation stage (a search run -> plan.json).

use std::fmt;

use aca_space::{CellType, Genotype, Primitive};
use std::path::Path;

use aca_core::write_json_atomic;
use aca_search::{files as search_files, SearchConfig};
use serde::{Deserialize, Serialize};
use tch::Device;
use tracing::info;

use crate::error::{EvalError, Result};
use crate::plan::{ChannelPlan, EdgeScores};
use crate::scorer::{ScorerKind, ScoringContext};
use crate::train::{read_json, run_dir_error};

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

/// Otsu's threshold on the logarithm of the scores: the same parameter-free split for scores whose
/// spread is multiplicative. Taylor importances are products of activations and gradients and
/// right-skewed, and on the raw values Otsu sets the few largest channels of an edge apart from all
/// the rest (docs/robustness.md). On a log scale the split falls between the groups' typical
/// sizes instead. Channels scored zero are refilled; with all positive scores equal (no split)
/// every other channel stays, and with every score zero all do; the op always keeps at least one.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtsuLog;

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

impl Allocator for OtsuLog {
    fn name(&self) -> String {
        "otsu-log".into()
    }

    fn fraction(&self, scores: &[f32]) -> f64 {
        let logs: Vec<f64> = scores
            .iter()
            .filter(|&&s| s > 0.0)
            .map(|&s| f64::from(s).ln())
            .collect();
        if logs.is_empty() {
            return 1.0;
        }
        // Channels scored zero are in the low group whatever the split of the others.
        let low = otsu_split(&logs).unwrap_or(0);
        (logs.len() - low) as f64 / scores.len() as f64
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

/// An allocation strategy, as `--strategy` and configs write it: `otsu`, `otsu-log`, `all` or
/// `fixed:F` (0 < F <= 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Strategy {
    /// [`Otsu`]: Otsu on the raw scores, parameter-free (the method's first design).
    Otsu,
    /// [`OtsuLog`]: Otsu on log scores, parameter-free (ACA's default; docs/method.md).
    OtsuLog,
    /// [`All`]: every channel on its op (plain DARTS).
    All,
    /// [`Fixed`]: a hand-set share for every edge.
    Fixed(f64),
}

impl Strategy {
    /// The allocator that carries the strategy out.
    pub fn allocator(self) -> Box<dyn Allocator> {
        match self {
            Self::Otsu => Box::new(Otsu),
            Self::OtsuLog => Box::new(OtsuLog),
            Self::All => Box::new(All),
            Self::Fixed(f) => Box::new(Fixed(f)),
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = EvalError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |reason: &str| EvalError::Config {
            field: "strategy",
            value: text.into(),
            reason: reason.into(),
        };
        match text {
            "otsu" => Ok(Self::Otsu),
            "otsu-log" => Ok(Self::OtsuLog),
            "all" => Ok(Self::All),
            _ => {
                let f = text
                    .strip_prefix("fixed:")
                    .ok_or_else(|| bad("expected otsu, otsu-log, all or fixed:F"))?
                    .parse::<f64>()
                    .map_err(|_| bad("fixed:F needs a number F"))?;
                if f.is_finite() && f > 0.0 && f <= 1.0 {
                    Ok(Self::Fixed(f))
                } else {
                    Err(bad("F must be in (0, 1]"))
                }
            }
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Otsu => f.write_str("otsu"),
            Self::OtsuLog => f.write_str("otsu-log"),
            Self::All => f.write_str("all"),
            Self::Fixed(share) => write!(f, "fixed:{share}"),
        }
    }
}

impl TryFrom<String> for Strategy {
    type Error = EvalError;
    fn try_from(text: String) -> Result<Self> {
        text.parse()
    }
}

impl From<Strategy> for String {
    fn from(s: Strategy) -> Self {
        s.to_string()
    }
}

/// Builds the plan: per cell type and kept edge, the mean over that type's search cells of the
/// strategy's share; `scorer` made the scores.
pub fn allocate(
    genotype: &Genotype,
    scores: [EdgeScores; 2],
    scorer: ScorerKind,
    strategy: Strategy,
) -> Result<ChannelPlan> {
    let allocator = strategy.allocator();
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
            .zip(genotype.cell(cell))
            .map(|(per_cell, &(op, _))| {
                if op == Primitive::None {
                    // A sparse cell's dropped edge: no op to share channels with, no refill.
                    return 1.0;
                }
                let shares: Vec<f64> = per_cell.iter().map(|s| allocator.fraction(s)).collect();
                shares.iter().sum::<f64>() / shares.len().max(1) as f64
            })
            .collect();
        match cell {
            CellType::Normal => plan.normal = fractions,
            CellType::Reduce => plan.reduce = fractions,
        }
    }
    plan.scorer = Some(scorer);
    plan.strategy = strategy;
    plan.scores = Some(scores);
    plan.validate()?;
    Ok(plan)
}

/// How `allocate` ranks and allocates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocateOptions {
    /// The channel scorer.
    pub scorer: ScorerKind,
    /// The allocation strategy.
    pub strategy: Strategy,
    /// At most this many validation batches (the whole validation split by default).
    pub batches: Option<usize>,
}

impl Default for AllocateOptions {
    fn default() -> Self {
        Self {
            scorer: ScorerKind::Taylor,
            strategy: Strategy::OtsuLog,
            batches: None,
        }
    }
}

/// Ranks the channels of a finished search (a search run directory, or one of its snapshots) and
/// writes the plan to `plan_path`.
pub fn allocate_run(
    search_dir: &Path,
    plan_path: &Path,
    opts: &AllocateOptions,
    device: Device,
) -> Result<ChannelPlan> {
    if opts.batches == Some(0) {
        return Err(EvalError::Config {
            field: "batches",
            value: "0".into(),
            reason: "expected at least 1".into(),
        });
    }
    let genotype_path = search_dir.join(search_files::GENOTYPE_JSON);
    if !genotype_path.is_file() {
        return Err(run_dir_error(
            search_dir,
            "no genotype.json: not a finished search run (run or resume `aca search` first)",
        ));
    }
    let genotype = Genotype::read(&genotype_path)?;
    let plan = if opts.strategy == Strategy::All {
        ChannelPlan::full(genotype)
    } else {
        let config: SearchConfig = read_json(&search_dir.join(search_files::CONFIG))?;
        let data = config.data.load()?;
        let split = config.search_split(&data)?;
        let net = aca_search::open_supernet(search_dir, &config, device)?;
        let ctx = ScoringContext {
            config: &config,
            genotype: &genotype,
            supernet: &net,
            data: &data,
            split: &split,
            device,
            batches: opts.batches,
        };
        let scores = opts.scorer.build().score(&ctx)?;
        allocate(&genotype, scores, opts.scorer, opts.strategy)?
    };
    write_json_atomic(plan_path, &plan)?;
    info!(strategy = %plan.strategy, scorer = %plan.scorer.map_or("none", ScorerKind::name), "plan written");
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
    fn otsu_log_splits_multiplicative_spreads_where_otsu_isolates_the_largest() {
        // Scores doubling from channel to channel: Otsu on the values keeps the top 2 of 8, on
        // their logarithms the top half.
        let doubling = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
        assert_eq!(Otsu.fraction(&doubling), 0.25);
        assert_eq!(OtsuLog.fraction(&doubling), 0.5);
        // Three groups an order of magnitude apart: Otsu sets the largest channel apart, its log
        // form the two upper groups.
        let decades = [0.01, 0.012, 0.011, 0.013, 0.1, 0.11, 0.12, 1.0];
        assert_eq!(Otsu.fraction(&decades), 0.125);
        assert_eq!(OtsuLog.fraction(&decades), 0.5);
        // Two clear groups on either scale: the same split.
        let groups = [0.10, 0.12, 0.11, 0.90, 0.95, 1.00];
        assert_eq!(OtsuLog.fraction(&groups), Otsu.fraction(&groups));
        // No split: every channel stays; channels scored zero are refilled.
        assert_eq!(OtsuLog.fraction(&[0.5; 8]), 1.0);
        assert_eq!(OtsuLog.fraction(&[0.0; 4]), 1.0);
        assert_eq!(OtsuLog.fraction(&[]), 1.0);
        assert_eq!(OtsuLog.fraction(&[0.0, 0.0, 1.0, 1.0]), 0.5);
    }

    #[test]
    fn strategies_parse() {
        let strategy = |s: &str| s.parse::<Strategy>();
        assert_eq!(strategy("otsu").unwrap().allocator().name(), "otsu");
        assert_eq!(
            strategy("fixed:0.25").unwrap().allocator().fraction(&[1.0]),
            0.25
        );
        assert_eq!(
            strategy("all").unwrap().allocator().fraction(&[1.0, 0.0]),
            1.0
        );
        assert_eq!(strategy("otsu-log").unwrap().allocator().name(), "otsu-log");
        for s in ["otsu", "otsu-log", "all", "fixed:0.25", "fixed:1"] {
            assert_eq!(strategy(s).unwrap().to_string(), s);
            let json = serde_json::to_string(&strategy(s).unwrap()).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(
                serde_json::from_str::<Strategy>(&json).unwrap(),
                strategy(s).unwrap()
            );
        }
        assert!(serde_json::from_str::<Strategy>("\"fixed:2\"").is_err());
        assert!(strategy("fixed:0")
            .unwrap_err()
            .to_string()
            .contains("F must be in (0, 1]"));
        assert!(strategy("median")
            .unwrap_err()
            .to_string()
            .contains("expected otsu, otsu-log, all or fixed:F"));
    }
}
