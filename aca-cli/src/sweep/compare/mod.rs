//! `aca sweep compare`: every arm of a sweep against a baseline, paired on the independent unit
//! (the seed by default), with intervals, tests, power and a trend, from `collect/runs.csv`.
//! `input.rs` reads and selects the runs, `rows.rs` computes one row, `render.rs` writes the
//! Markdown, the CSV and the forest plot's rows.

mod input;
mod render;
mod rows;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;

use super::stats::{self, TTest, Tally, Wilcoxon};
use input::{label, parse_baseline, parse_selection, read_runs, selected, sort_levels};
pub(crate) use render::{csv, forest_rows, markdown};
use rows::{paired_row, unpaired_row};

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The sweep folder (after `aca sweep collect`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// The runs every other arm is compared with: AXIS=VALUE[,AXIS=VALUE...], e.g. `space=s3`.
    #[arg(long, value_name = "AXIS=VALUE,..")]
    pub baseline: String,

    /// The column of collect/runs.csv compared: top1, top5, params, madds_M, skip_normal,
    /// identity_normal, identity_reduce, search_s or train_s.
    #[arg(long, default_value = "top1", value_name = "COLUMN")]
    pub metric: String,

    /// Only the runs whose axes have these values: AXIS=VALUE[|VALUE...][,AXIS=...], e.g.
    /// `--where eval_epoch=40,train.epochs=8` (baseline and arms alike).
    #[arg(long = "where", value_name = "AXIS=VALUE|..,..")]
    pub filter: Option<String>,

    /// Only these arms (Holm then runs over them): AXIS=VALUE[|VALUE...][,AXIS=...]; repeat the
    /// flag for several, e.g. `--arms strategy=otsu-log --arms strategy=otsu`.
    #[arg(long, value_name = "AXIS=VALUE|..,..")]
    pub arms: Vec<String>,

    /// Axes kept apart: one row per value (and a pooled row), e.g. `--by eval_epoch`.
    #[arg(long, value_name = "AXIS", value_delimiter = ',')]
    pub by: Vec<String>,

    /// The independent unit pairs are made on.
    #[arg(long, default_value = "seed", value_name = "AXIS")]
    pub unit: String,

    /// Compare arms and baseline as independent samples (Welch's t-test) instead of pairs.
    #[arg(long)]
    pub unpaired: bool,

    /// Bootstrap resamples.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub resamples: usize,

    /// Seed of the bootstrap's resampling.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,

    /// Print the comparison as JSON instead of Markdown (the files are written either way).
    #[arg(long)]
    pub json: bool,
}

/// The bootstrap needs this many pairs to say anything.
const BOOTSTRAP_MIN: usize = 5;

/// One finished run: its axis values and the metric.
#[derive(Debug, Clone)]
struct Run {
    name: String,
    axes: BTreeMap<String, String>,
    value: f64,
}

/// One row of the comparison: an arm at one level of the `--by` axes, or pooled over them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub arm: String,
    /// `eval_epoch=10`, `pooled` or `all` (no `--by`).
    pub level: String,
    pub pooled: bool,
    /// Independent units in the test (paired) or arm runs (unpaired).
    pub n: usize,
    /// Pairs behind the row (paired) or baseline runs (unpaired).
    pub pairs: usize,
    pub mean: f64,
    pub median: f64,
    /// Standard deviation of the pairs' differences (paired).
    pub sd: f64,
    pub tally: Tally,
    pub t: Option<TTest>,
    pub t_holm: Option<f64>,
    pub bootstrap: Option<(f64, f64)>,
    pub wilcoxon: Option<Wilcoxon>,
    pub sign_p: Option<f64>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Power {
    pub arm: String,
    pub n: usize,
    pub sd: f64,
    /// The smallest difference detectable at 80 % power and level 0.05.
    pub detectable: Option<f64>,
    pub observed: f64,
    /// Units the observed difference needs for 80 % power.
    pub units_needed: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trend {
    pub arm: String,
    pub axis: String,
    pub n: usize,
    /// Mean per-unit slope of the difference per unit of the axis.
    pub slope: f64,
    pub range: (f64, f64),
    pub t: Option<TTest>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Comparison {
    pub metric: String,
    pub baseline: Vec<(String, String)>,
    pub unit: String,
    pub by: Vec<String>,
    /// The `--where` selection of runs and the `--arms` selections, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub arms: Vec<String>,
    /// Axes the baseline varies itself: an arm pairs with the baseline run of the same values.
    pub shared: Vec<String>,
    pub paired: bool,
    pub resamples: usize,
    pub seed: u64,
    pub rows: Vec<Row>,
    pub power: Vec<Power>,
    pub trends: Vec<Trend>,
    /// Arm runs without a baseline partner, left out.
    pub unpartnered: Vec<String>,
}

/// The comparison of every arm with the baseline.
pub(crate) fn compare(args: &CompareArgs, axes: &[String]) -> Result<Comparison> {
    let baseline = parse_baseline(&args.baseline, axes)?;
    let known = |axis: &str, flag: &str| -> Result<()> {
        if !axes.iter().any(|a| a == axis) {
            bail!(
                "{flag} {axis}: the sweep has no such axis; its axes are {}",
                axes.join(", ")
            );
        }
        Ok(())
    };
    known(&args.unit, "--unit")?;
    for b in &args.by {
        known(b, "--by")?;
        if *b == args.unit {
            bail!("--by {b}: the unit axis cannot also be kept apart");
        }
    }
    for (axis, _) in &baseline {
        if *axis == args.unit || args.by.contains(axis) {
            bail!("--baseline {axis}=...: the baseline cannot fix the unit or a --by axis; it names an arm");
        }
    }
    let mut runs = read_runs(&args.dir, axes, &args.metric)?;
    if let Some(spec) = &args.filter {
        let selection = parse_selection("--where", spec, axes)?;
        runs.retain(|r| selected(&selection, &r.axes));
        if runs.is_empty() {
            bail!("--where {spec}: no finished run matches");
        }
    }
    let arm_selections = args
        .arms
        .iter()
        .map(|spec| parse_selection("--arms", spec, axes))
        .collect::<Result<Vec<_>>>()?;
    for (axis, value) in &baseline {
        if !runs.iter().any(|r| r.axes[axis] == *value) {
            let values: BTreeSet<&String> = runs.iter().map(|r| &r.axes[axis]).collect();
            bail!(
                "--baseline {axis}={value}: no finished run has it; the values of {axis} are {}",
                values
                    .into_iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let is_base = |r: &Run| baseline.iter().all(|(a, v)| r.axes[a] == *v);
    let base: Vec<&Run> = runs.iter().filter(|r| is_base(r)).collect();
    let others: Vec<&Run> = runs
        .iter()
        .filter(|r| !is_base(r))
        .filter(|r| {
            arm_selections.is_empty() || arm_selections.iter().any(|s| selected(s, &r.axes))
        })
        .collect();
    if others.is_empty() && !arm_selections.is_empty() {
        bail!(
            "--arms {}: no finished run outside the baseline matches",
            args.arms.join(" --arms ")
        );
    }
    if others.is_empty() {
        bail!(
            "every finished run matches --baseline {}: there is no arm to compare",
            args.baseline
        );
    }
    // Arms: the values of the axes that are neither the unit nor kept apart.
    let arm_axes: Vec<String> = axes
        .iter()
        .filter(|a| **a != args.unit && !args.by.contains(a))
        .cloned()
        .collect();
    let shared: Vec<String> = arm_axes
        .iter()
        .filter(|a| !baseline.iter().any(|(b, _)| b == *a))
        .filter(|a| {
            base.iter()
                .map(|r| &r.axes[*a])
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        })
        .cloned()
        .collect();
    let values = |r: &Run, names: &[String]| -> Vec<String> {
        names.iter().map(|a| r.axes[a].clone()).collect()
    };
    let mut arms: Vec<Vec<String>> = Vec::new();
    for r in &others {
        let key = values(r, &arm_axes);
        if !arms.contains(&key) {
            arms.push(key);
        }
    }
    let mut levels: Vec<Vec<String>> = runs
        .iter()
        .map(|r| values(r, &args.by))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    sort_levels(&mut levels);
    let level_name = |l: &[String]| {
        if args.by.is_empty() {
            "all".to_string()
        } else {
            label(&args.by, l)
        }
    };

    let mut rows = Vec::new();
    let mut power = Vec::new();
    let mut trends = Vec::new();
    let mut unpartnered = Vec::new();
    for arm in &arms {
        let arm_label = label(&arm_axes, arm);
        let members: Vec<&Run> = others
            .iter()
            .copied()
            .filter(|r| values(r, &arm_axes) == *arm)
            .collect();
        if !args.paired() {
            let shared_vals = values(members[0], &shared);
            let base_here: Vec<&Run> = base
                .iter()
                .copied()
                .filter(|r| values(r, &shared) == shared_vals)
                .collect();
            let at = |set: &[&Run], l: &[String]| -> Vec<f64> {
                set.iter()
                    .filter(|r| values(r, &args.by) == l)
                    .map(|r| r.value)
                    .collect()
            };
            for l in &levels {
                let (a, b) = (at(&members, l), at(&base_here, l));
                if !a.is_empty() {
                    rows.push(unpaired_row(&arm_label, level_name(l), &a, &b));
                }
            }
            if levels.len() > 1 {
                let per_unit = |set: &[&Run]| -> Vec<f64> {
                    let mut m: BTreeMap<&String, Vec<f64>> = BTreeMap::new();
                    for r in set {
                        m.entry(&r.axes[&args.unit]).or_default().push(r.value);
                    }
                    m.values().map(|v| stats::mean(v)).collect()
                };
                rows.push(unpaired_row(
                    &arm_label,
                    "pooled".into(),
                    &per_unit(&members),
                    &per_unit(&base_here),
                ));
            }
            continue;
        }
        // (unit, level, difference)
        let mut pairs: Vec<(String, Vec<String>, f64)> = Vec::new();
        for r in &members {
            let partner = base.iter().find(|b| {
                b.axes[&args.unit] == r.axes[&args.unit]
                    && values(b, &args.by) == values(r, &args.by)
                    && values(b, &shared) == values(r, &shared)
            });
            match partner {
                Some(b) => pairs.push((
                    r.axes[&args.unit].clone(),
                    values(r, &args.by),
                    r.value - b.value,
                )),
                None => unpartnered.push(r.name.clone()),
            }
        }
        for l in &levels {
            let d: Vec<f64> = pairs
                .iter()
                .filter(|(_, pl, _)| pl == l)
                .map(|p| p.2)
                .collect();
            if !d.is_empty() {
                rows.push(paired_row(&arm_label, level_name(l), &d, &d, args));
            }
        }
        let mut by_unit: BTreeMap<&String, Vec<f64>> = BTreeMap::new();
        for (u, _, d) in &pairs {
            by_unit.entry(u).or_default().push(*d);
        }
        let unit_means: Vec<f64> = by_unit.values().map(|v| stats::mean(v)).collect();
        if levels.len() > 1 && !pairs.is_empty() {
            let all: Vec<f64> = pairs.iter().map(|p| p.2).collect();
            rows.push(paired_row(
                &arm_label,
                "pooled".into(),
                &all,
                &unit_means,
                args,
            ));
        }
        if unit_means.len() >= 2 {
            let sd = stats::sd(&unit_means);
            let observed = stats::mean(&unit_means);
            power.push(Power {
                arm: arm_label.clone(),
                n: unit_means.len(),
                sd,
                detectable: stats::detectable_effect(unit_means.len()).map(|e| e * sd),
                observed,
                units_needed: if sd > 0.0 {
                    stats::units_needed(observed / sd)
                } else {
                    None
                },
            });
        }
        // The trend: each unit's slope of the difference against a numeric --by axis.
        if let [axis] = args.by.as_slice() {
            let xs: Vec<f64> = levels.iter().filter_map(|l| l[0].parse().ok()).collect();
            if xs.len() == levels.len() && levels.len() > 1 {
                let mut slopes = Vec::new();
                let mut per_unit: BTreeMap<&String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
                for (u, l, d) in &pairs {
                    let e = per_unit.entry(u).or_default();
                    e.0.push(l[0].parse().unwrap_or(f64::NAN));
                    e.1.push(*d);
                }
                for (x, y) in per_unit.values() {
                    if let Some(s) = stats::slope(x, y) {
                        slopes.push(s);
                    }
                }
                if !slopes.is_empty() {
                    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    trends.push(Trend {
                        arm: arm_label.clone(),
                        axis: axis.clone(),
                        n: slopes.len(),
                        slope: stats::mean(&slopes),
                        range: (lo, hi),
                        t: stats::t_test(&slopes),
                    });
                }
            }
        }
    }
    // Holm over the arms, level by level.
    let level_names: Vec<String> = rows
        .iter()
        .map(|r| r.level.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for level in level_names {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].level == level)
            .collect();
        let p: Vec<Option<f64>> = idx.iter().map(|&i| rows[i].t.map(|t| t.p)).collect();
        for (&i, adj) in idx.iter().zip(stats::holm(&p)) {
            rows[i].t_holm = adj;
        }
    }
    Ok(Comparison {
        metric: args.metric.clone(),
        baseline,
        unit: args.unit.clone(),
        by: args.by.clone(),
        filter: args.filter.clone(),
        arms: args.arms.clone(),
        shared,
        paired: args.paired(),
        resamples: args.resamples,
        seed: args.seed,
        rows,
        power,
        trends,
        unpartnered,
    })
}

impl CompareArgs {
    fn paired(&self) -> bool {
        !self.unpaired
    }
}
