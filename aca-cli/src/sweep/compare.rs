//! `aca sweep compare`: every arm of a sweep against a baseline, paired on the independent unit
//! (the seed by default), with intervals, tests, power and a trend, from `collect/runs.csv`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;

use super::stats::{self, TTest, Tally, Wilcoxon};

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

/// AXIS=VALUE[|VALUE...][,AXIS=...] (`--where`, `--arms`): the values each axis may take.
fn parse_selection(flag: &str, spec: &str, axes: &[String]) -> Result<Vec<(String, Vec<String>)>> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((axis, values)) = part.split_once('=') else {
            bail!("{flag} {spec:?}: expected AXIS=VALUE[|VALUE...][,AXIS=...], got {part:?}");
        };
        let axis = axis.trim();
        if !axes.iter().any(|a| a == axis) {
            bail!(
                "{flag}: the sweep has no axis {axis:?}; its axes are {}",
                axes.join(", ")
            );
        }
        out.push((
            axis.to_string(),
            values.split('|').map(|v| v.trim().to_string()).collect(),
        ));
    }
    if out.is_empty() {
        bail!("{flag} {spec:?}: expected AXIS=VALUE[|VALUE...][,AXIS=...]");
    }
    Ok(out)
}

fn selected(selection: &[(String, Vec<String>)], axes: &BTreeMap<String, String>) -> bool {
    selection
        .iter()
        .all(|(a, values)| values.iter().any(|v| axes[a] == *v))
}

fn parse_baseline(spec: &str, axes: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((axis, value)) = part.split_once('=') else {
            bail!("--baseline {spec:?}: expected AXIS=VALUE[,AXIS=VALUE...], got {part:?}");
        };
        let (axis, value) = (axis.trim(), value.trim());
        if !axes.iter().any(|a| a == axis) {
            bail!(
                "--baseline: the sweep has no axis {axis:?}; its axes are {}",
                axes.join(", ")
            );
        }
        out.push((axis.to_string(), value.to_string()));
    }
    if out.is_empty() {
        bail!("--baseline {spec:?}: expected AXIS=VALUE[,AXIS=VALUE...]");
    }
    Ok(out)
}

/// Reads `collect/runs.csv`: the axes' values and the metric of every run.
fn read_runs(dir: &Path, axes: &[String], metric: &str) -> Result<Vec<Run>> {
    let path = dir.join("collect").join("runs.csv");
    if !path.is_file() {
        bail!(
            "{} is missing: run `aca sweep collect {}` first",
            path.display(),
            dir.display()
        );
    }
    let mut reader =
        csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
    let header: Vec<String> = reader
        .headers()
        .with_context(|| format!("reading {}", path.display()))?
        .iter()
        .map(String::from)
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let metrics: Vec<&String> = header
        .iter()
        .filter(|h| *h != "run" && !axes.contains(h))
        .collect();
    let Some(m) = column(metric).filter(|_| metrics.iter().any(|c| *c == metric)) else {
        bail!(
            "{}: no metric column {metric:?}; the numeric columns are {}",
            path.display(),
            metrics
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let (Some(run_col), Some(axis_cols)) = (
        column("run"),
        axes.iter().map(|a| column(a)).collect::<Option<Vec<_>>>(),
    ) else {
        bail!(
            "{}: expected the columns run, {} (written by another version? run `aca sweep collect` again)",
            path.display(),
            axes.join(", ")
        );
    };
    let mut runs = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("reading {} line {}", path.display(), i + 2))?;
        let field = |c: usize| record.get(c).unwrap_or("").to_string();
        let name = field(run_col);
        let text = field(m);
        let value: f64 = match text.trim().parse() {
            Ok(v) if f64::is_finite(v) => v,
            _ => bail!(
                "{}: run {name}: {metric} is {text:?}, expected a finite number",
                path.display()
            ),
        };
        let axes = axes
            .iter()
            .zip(&axis_cols)
            .map(|(a, &c)| (a.clone(), field(c)))
            .collect();
        runs.push(Run { name, axes, value });
    }
    Ok(runs)
}

/// Level keys sort numerically where every value is a number.
fn sort_levels(levels: &mut [Vec<String>]) {
    levels.sort_by(|a, b| {
        for (x, y) in a.iter().zip(b) {
            let ord = match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => p.total_cmp(&q),
                _ => x.cmp(y),
            };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
}

fn label(axes: &[String], values: &[String]) -> String {
    axes.iter()
        .zip(values)
        .map(|(a, v)| format!("{a}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A paired row from the differences of its pairs; `unit_means` are the per-unit mean
/// differences the tests use (the differences themselves for one level).
fn paired_row(
    arm: &str,
    level: String,
    diffs: &[f64],
    unit_means: &[f64],
    args: &CompareArgs,
) -> Row {
    let n = unit_means.len();
    let note = if n < 2 {
        Some("n too small".to_string())
    } else if n < BOOTSTRAP_MIN {
        Some(format!("n < {BOOTSTRAP_MIN}: not informative"))
    } else {
        None
    };
    let mean = if n > 0 {
        stats::mean(unit_means)
    } else {
        f64::NAN
    };
    Row {
        arm: arm.to_string(),
        pooled: level == "pooled",
        level,
        n,
        pairs: diffs.len(),
        mean,
        median: if diffs.is_empty() {
            f64::NAN
        } else {
            stats::median(diffs)
        },
        sd: stats::sd(diffs),
        tally: stats::tally(diffs),
        t: stats::t_test(unit_means),
        t_holm: None,
        bootstrap: (n >= BOOTSTRAP_MIN)
            .then(|| stats::bootstrap_bca(unit_means, args.resamples, args.seed))
            .flatten(),
        wilcoxon: (n >= 2).then(|| stats::wilcoxon(unit_means)).flatten(),
        sign_p: (n >= 2).then(|| stats::sign_test(unit_means)).flatten(),
        note,
    }
}

fn unpaired_row(arm: &str, level: String, a: &[f64], b: &[f64]) -> Row {
    let n = a.len().min(b.len());
    Row {
        arm: arm.to_string(),
        pooled: level == "pooled",
        level,
        n: a.len(),
        pairs: b.len(),
        mean: if a.is_empty() || b.is_empty() {
            f64::NAN
        } else {
            stats::mean(a) - stats::mean(b)
        },
        median: f64::NAN,
        sd: f64::NAN,
        tally: stats::tally(&[]),
        t: stats::welch(a, b),
        t_holm: None,
        bootstrap: None,
        wilcoxon: None,
        sign_p: None,
        note: (n < 2).then(|| "n too small".to_string()),
    }
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

fn signed(x: f64, d: usize) -> String {
    if x.is_nan() {
        "—".into()
    } else {
        format!("{x:+.d$}")
    }
}

fn p_text(p: Option<f64>) -> String {
    match p {
        None => "—".into(),
        Some(p) if p < 0.001 => "< 0.001".into(),
        Some(p) => format!("{p:.3}"),
    }
}

fn interval(ci: Option<(f64, f64)>, d: usize) -> String {
    match ci {
        Some((lo, hi)) => format!("[{lo:+.d$}, {hi:+.d$}]"),
        None => "—".into(),
    }
}

/// Decimals for a metric's differences (collect's, at least 2).
fn decimals(metric: &str) -> usize {
    match metric {
        "params" | "search_s" | "train_s" => 0,
        "identity_normal" | "identity_reduce" => 3,
        _ => 2,
    }
}

pub(crate) fn markdown(c: &Comparison) -> String {
    let d = decimals(&c.metric);
    let mut out = String::new();
    let base = label(
        &c.baseline.iter().map(|b| b.0.clone()).collect::<Vec<_>>(),
        &c.baseline.iter().map(|b| b.1.clone()).collect::<Vec<_>>(),
    );
    let _ = writeln!(out, "# {} against the baseline {base}\n", c.metric);
    if let Some(filter) = &c.filter {
        let _ = writeln!(out, "Runs: only those with {filter}.");
    }
    if !c.arms.is_empty() {
        let _ = writeln!(out, "Arms: only {}.", c.arms.join("; "));
    }
    let level_head = if c.by.is_empty() {
        "level".to_string()
    } else {
        c.by.join(",")
    };
    if c.paired {
        let shared = if c.shared.is_empty() {
            String::new()
        } else {
            format!(" and on {}", c.shared.join(", "))
        };
        let _ = writeln!(
            out,
            "Differences arm − baseline, paired on {}{shared}. 95 % intervals; two-sided p-values; \
             Holm over the arms at each level. Bootstrap: BCa, {} resamples, seed {}.",
            c.unit, c.resamples, c.seed
        );
        if c.rows.iter().any(|r| r.pooled) {
            let _ = writeln!(
                out,
                "Pooled rows average each {unit}'s differences over the levels of {by} first and \
                 test one difference per {unit} (n = {unit}s): the levels of one {unit} are not \
                 independent. Their pairs, sd and W/T/L count every pair.",
                unit = c.unit,
                by = c.by.join(",")
            );
        }
        let _ = writeln!(
            out,
            "\n| arm | {level_head} | n | pairs | mean | median | sd | W/T/L | t 95 % CI | BCa 95 % CI | p (t) | p (t, Holm) | p (Wilcoxon) | p (sign) |"
        );
        let _ = writeln!(out, "|{}", "---|".repeat(14));
        for r in &c.rows {
            let boot = match (&r.bootstrap, &r.note) {
                (Some(ci), _) => interval(Some(*ci), d),
                (None, Some(note)) => note.clone(),
                (None, None) => "—".into(),
            };
            let wil = match r.wilcoxon {
                Some(w) => format!("{} ({})", p_text(Some(w.p)), wilcoxon_name(&w)),
                None => "—".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.d$} | {}/{}/{} | {} | {} | {} | {} | {} | {} |",
                r.arm,
                level_cell(&r.level),
                r.n,
                r.pairs,
                signed(r.mean, d),
                signed(r.median, d),
                r.sd,
                r.tally.wins,
                r.tally.ties,
                r.tally.losses,
                interval(r.t.map(|t| t.ci), d),
                boot,
                if r.n < 2 {
                    "n too small".into()
                } else {
                    p_text(r.t.map(|t| t.p))
                },
                p_text(r.t_holm),
                wil,
                p_text(r.sign_p),
            );
        }
    } else {
        let _ = writeln!(
            out,
            "Independent samples (--unpaired): mean of the arm's runs − mean of the baseline's, \
             Welch's t-test, 95 % interval, two-sided; Holm over the arms at each level. Pooled \
             rows compare one mean per {} on each side.",
            c.unit
        );
        let _ = writeln!(
            out,
            "\n| arm | {level_head} | arm runs | baseline runs | mean difference | Welch 95 % CI | df | p (Welch) | p (Welch, Holm) |"
        );
        let _ = writeln!(out, "|{}", "---|".repeat(9));
        for r in &c.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.arm,
                level_cell(&r.level),
                r.n,
                r.pairs,
                signed(r.mean, d),
                interval(r.t.map(|t| t.ci), d),
                r.t.map_or("—".into(), |t| format!("{:.1}", t.df)),
                r.note.clone().unwrap_or_else(|| p_text(r.t.map(|t| t.p))),
                p_text(r.t_holm),
            );
        }
    }
    if !c.power.is_empty() {
        let _ = writeln!(
            out,
            "\nPower (paired t-test over {}s, 80 %, α = 0.05, two-sided):",
            c.unit
        );
        for p in &c.power {
            let detectable = p.detectable.map_or("—".into(), |x| format!("±{x:.d$}"));
            let need = match p.units_needed {
                Some(n) => format!("would need {n} {}s", c.unit),
                None => "cannot be powered (no spread or no difference)".into(),
            };
            let _ = writeln!(
                out,
                "- {}: with n = {} and sd {:.d$} the smallest detectable difference is {detectable}; the observed {} {need}.",
                p.arm,
                p.n,
                p.sd,
                signed(p.observed, d),
            );
        }
    }
    if !c.trends.is_empty() {
        let _ = writeln!(
            out,
            "\nTrend: each {}'s least-squares slope of the difference against {}, t-interval over {}s:",
            c.unit, c.by[0], c.unit
        );
        for t in &c.trends {
            let span = t.range.1 - t.range.0;
            let (ci, p) = match t.t {
                Some(tt) => (
                    format!("[{:+.4}, {:+.4}]", tt.ci.0, tt.ci.1),
                    p_text(Some(tt.p)),
                ),
                None => ("—".into(), "— (n too small)".into()),
            };
            let _ = writeln!(
                out,
                "- {}: {:+.4} per {} ({} from {} to {}), 95 % CI {ci}, p = {p}, n = {}.",
                t.arm,
                t.slope,
                t.axis,
                signed(t.slope * span, d),
                t.range.0,
                t.range.1,
                t.n
            );
        }
    }
    if !c.unpartnered.is_empty() {
        let _ = writeln!(
            out,
            "\nRuns without a baseline partner (left out): {}.",
            c.unpartnered.join("; ")
        );
    }
    out
}

fn level_cell(level: &str) -> String {
    match level.split_once('=') {
        Some((_, v)) if !level.contains(',') => v.to_string(),
        _ => level.to_string(),
    }
}

fn wilcoxon_name(w: &Wilcoxon) -> &'static str {
    match w.method {
        stats::WilcoxonMethod::Exact => "exact",
        stats::WilcoxonMethod::Permutation => "exact, ties",
        stats::WilcoxonMethod::Normal => "normal",
    }
}

pub(crate) fn csv(c: &Comparison) -> String {
    let mut out = String::from(
        "arm,level,pooled,n,pairs,mean,median,sd,wins,ties,losses,t,df,t_ci_low,t_ci_high,bca_low,bca_high,p_t,p_t_holm,wilcoxon_statistic,wilcoxon_method,p_wilcoxon,p_sign,note\n",
    );
    let num = |x: Option<f64>| {
        x.filter(|v| v.is_finite())
            .map_or(String::new(), |v| format!("{v}"))
    };
    for r in &c.rows {
        let fields = [
            super::collect::csv_field(&r.arm),
            super::collect::csv_field(&r.level),
            r.pooled.to_string(),
            r.n.to_string(),
            r.pairs.to_string(),
            num(Some(r.mean)),
            num(Some(r.median)),
            num(Some(r.sd)),
            r.tally.wins.to_string(),
            r.tally.ties.to_string(),
            r.tally.losses.to_string(),
            num(r.t.map(|t| t.t)),
            num(r.t.map(|t| t.df)),
            num(r.t.map(|t| t.ci.0)),
            num(r.t.map(|t| t.ci.1)),
            num(r.bootstrap.map(|b| b.0)),
            num(r.bootstrap.map(|b| b.1)),
            num(r.t.map(|t| t.p)),
            num(r.t_holm),
            num(r.wilcoxon.map(|w| w.statistic)),
            r.wilcoxon
                .map_or(String::new(), |w| wilcoxon_name(&w).into()),
            num(r.wilcoxon.map(|w| w.p)),
            num(r.sign_p),
            super::collect::csv_field(r.note.as_deref().unwrap_or("")),
        ];
        let _ = writeln!(out, "{}", fields.join(","));
    }
    out
}

/// The forest plot's rows.
pub(crate) fn forest_rows(c: &Comparison) -> Vec<crate::report::ForestRow> {
    c.rows
        .iter()
        .filter(|r| r.mean.is_finite())
        .map(|r| {
            let label = if r.level == "all" {
                r.arm.clone()
            } else {
                format!("{} · {}", r.arm, r.level)
            };
            crate::report::ForestRow {
                label,
                mean: r.mean,
                interval: r.t.map(|t| t.ci),
                n: r.n,
                pooled: r.pooled,
            }
        })
        .collect()
}
