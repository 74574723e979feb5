//! Reading collect's runs.csv and selecting runs: `--baseline`, `--where`, `--arms`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::Run;

/// AXIS=VALUE[|VALUE...][,AXIS=...] (`--where`, `--arms`): the values each axis may take.
pub(super) fn parse_selection(
    flag: &str,
    spec: &str,
    axes: &[String],
) -> Result<Vec<(String, Vec<String>)>> {
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

pub(super) fn selected(
    selection: &[(String, Vec<String>)],
    axes: &BTreeMap<String, String>,
) -> bool {
    selection
        .iter()
        .all(|(a, values)| values.iter().any(|v| axes[a] == *v))
}

pub(super) fn parse_baseline(spec: &str, axes: &[String]) -> Result<Vec<(String, String)>> {
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
pub(super) fn read_runs(dir: &Path, axes: &[String], metric: &str) -> Result<Vec<Run>> {
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
pub(super) fn sort_levels(levels: &mut [Vec<String>]) {
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

pub(super) fn label(axes: &[String], values: &[String]) -> String {
    axes.iter()
        .zip(values)
        .map(|(a, v)| format!("{a}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
