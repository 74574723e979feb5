//! `aca sweep collect`: one row per finished run, and the same grouped over seeds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aca_eval::{ChannelPlan, RunLayout, TrainResults};
use aca_space::CellType;
use anyhow::{Context, Result};
use serde_json::Value;

use super::grid::Point;

/// The numbers of one finished run.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub name: String,
    pub axes: Vec<(String, String)>,
    pub top1: f64,
    pub top5: f64,
    pub params: i64,
    pub flops: u64,
    /// skip_connect edges of the normal cell in the genotype evaluated.
    pub skip_normal: usize,
    pub identity_normal: f64,
    pub identity_reduce: f64,
    pub search_seconds: f64,
    pub train_seconds: f64,
}

/// Numeric columns, their header and how they print.
const COLUMNS: [(&str, usize); 9] = [
    ("top1", 2),
    ("top5", 2),
    ("params", 0),
    ("madds_M", 1),
    ("skip_normal", 2),
    ("identity_normal", 3),
    ("identity_reduce", 3),
    ("search_s", 0),
    ("train_s", 0),
];

impl Row {
    fn values(&self) -> [f64; 9] {
        [
            100.0 * self.top1,
            100.0 * self.top5,
            self.params as f64,
            self.flops as f64 / 1e6,
            self.skip_normal as f64,
            self.identity_normal,
            self.identity_reduce,
            self.search_seconds,
            self.train_seconds,
        ]
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads a finished run; `None` while it is not finished.
pub(crate) fn read_row(run: &Path, point: &Point) -> Result<Option<Row>> {
    let layout = RunLayout::new(run);
    if !layout.finished() {
        return Ok(None);
    }
    let results_path = layout.train_dir().join(aca_eval::files::RESULTS);
    let results: TrainResults = serde_json::from_str(
        &std::fs::read_to_string(&results_path)
            .with_context(|| format!("reading {}", results_path.display()))?,
    )
    .with_context(|| format!("parsing {}", results_path.display()))?;
    let plan = ChannelPlan::read(&layout.plan())?;
    let state = layout.read_state()?;
    Ok(Some(Row {
        name: point.name.clone(),
        axes: point
            .axes
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect(),
        top1: results.test_top1,
        top5: results.test_top5,
        params: results.params,
        flops: results.flops,
        skip_normal: plan.genotype.skip_count(CellType::Normal),
        identity_normal: plan.identity_share(CellType::Normal),
        identity_reduce: plan.identity_share(CellType::Reduce),
        search_seconds: state.seconds.search,
        train_seconds: state.seconds.train,
    }))
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per run, CSV.
pub(crate) fn runs_csv(axes: &[String], rows: &[Row]) -> String {
    let mut out = String::new();
    let mut header: Vec<String> = vec!["run".into()];
    header.extend(axes.iter().cloned());
    header.extend(COLUMNS.iter().map(|(c, _)| c.to_string()));
    let _ = writeln!(
        out,
        "{}",
        header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(",")
    );
    for r in rows {
        let mut fields = vec![csv_field(&r.name)];
        fields.extend(r.axes.iter().map(|(_, v)| csv_field(v)));
        fields.extend(
            r.values()
                .iter()
                .zip(COLUMNS)
                .map(|(v, (_, d))| format!("{v:.d$}", d = d.max(2))),
        );
        let _ = writeln!(out, "{}", fields.join(","));
    }
    out
}

/// Runs grouped over the `seed` axis: per group the other axes, n, and mean ± standard
/// deviation (sample, n - 1) of every number.
pub(crate) struct Group {
    pub axes: Vec<(String, String)>,
    pub n: usize,
    pub mean: [f64; 9],
    pub std: [f64; 9],
}

pub(crate) fn group(rows: &[Row]) -> Vec<Group> {
    type Axes = Vec<(String, String)>;
    let mut groups: Vec<(Axes, Vec<&Row>)> = Vec::new();
    for r in rows {
        let key: Vec<(String, String)> = r
            .axes
            .iter()
            .filter(|(k, _)| k != "seed")
            .cloned()
            .collect();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups
        .into_iter()
        .map(|(axes, members)| {
            let n = members.len();
            let mut mean = [0.0; 9];
            let mut std = [0.0; 9];
            for m in &members {
                for (i, v) in m.values().iter().enumerate() {
                    mean[i] += v / n as f64;
                }
            }
            if n > 1 {
                for m in &members {
                    for (i, v) in m.values().iter().enumerate() {
                        std[i] += (v - mean[i]).powi(2) / (n - 1) as f64;
                    }
                }
                for s in &mut std {
                    *s = s.sqrt();
                }
            }
            Group { axes, n, mean, std }
        })
        .collect()
}

/// The grouped table, CSV (mean and std columns).
pub(crate) fn groups_csv(axes: &[String], groups: &[Group]) -> String {
    let mut out = String::new();
    let mut header: Vec<String> = axes.iter().filter(|a| *a != "seed").cloned().collect();
    header.push("n".into());
    for (c, _) in COLUMNS {
        header.push(format!("{c}_mean"));
        header.push(format!("{c}_std"));
    }
    let _ = writeln!(out, "{}", header.join(","));
    for g in groups {
        let mut fields: Vec<String> = g.axes.iter().map(|(_, v)| csv_field(v)).collect();
        fields.push(g.n.to_string());
        for i in 0..COLUMNS.len() {
            fields.push(format!("{:.4}", g.mean[i]));
            fields.push(format!("{:.4}", g.std[i]));
        }
        let _ = writeln!(out, "{}", fields.join(","));
    }
    out
}

/// The grouped table, Markdown, with `missing` unfinished runs noted.
pub(crate) fn groups_markdown(axes: &[String], groups: &[Group], missing: usize) -> String {
    let mut out = String::new();
    let shown: Vec<&String> = axes.iter().filter(|a| *a != "seed").collect();
    let labels = [
        "test top-1 %",
        "test top-5 %",
        "params",
        "mult-adds (M)",
        "skip (normal)",
        "identity (normal)",
        "identity (reduce)",
        "search s",
        "train s",
    ];
    let mut header: Vec<String> = shown.iter().map(|s| s.to_string()).collect();
    header.push("n".into());
    header.extend(labels.iter().map(|s| s.to_string()));
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for g in groups {
        let mut cells: Vec<String> = g.axes.iter().map(|(_, v)| v.clone()).collect();
        cells.push(g.n.to_string());
        for (i, (_, d)) in COLUMNS.iter().enumerate() {
            cells.push(if g.n > 1 {
                format!("{:.d$} ± {:.d$}", g.mean[i], g.std[i], d = *d)
            } else {
                format!("{:.d$}", g.mean[i], d = *d)
            });
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    if missing > 0 {
        let _ = writeln!(
            out,
            "\n{missing} run(s) not finished yet: not in the table (`aca sweep status` lists them)."
        );
    }
    out
}

/// Figures: each metric against every numeric axis (one line per combination of the other axes,
/// mean ± standard deviation over seeds), and the skip count per search epoch of every search.
pub(crate) fn figures(
    out: &Path,
    axes: &[String],
    groups: &[Group],
    searches: &[(String, PathBuf)],
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let numeric: Vec<&String> = axes
        .iter()
        .filter(|a| *a != "seed")
        .filter(|a| {
            groups.iter().all(|g| {
                g.axes
                    .iter()
                    .find(|(k, _)| k == *a)
                    .is_some_and(|(_, v)| v.parse::<f64>().is_ok())
            })
        })
        .collect();
    for axis in numeric {
        for (metric, column, label) in [
            ("top1", 0usize, "test top-1 (%)"),
            ("skip", 4, "skip_connect edges (normal cell)"),
            ("identity", 5, "identity share (normal cell)"),
        ] {
            type Line = (String, Vec<(f64, f64, f64)>);
            let mut lines: Vec<Line> = Vec::new();
            for g in groups {
                let x: f64 = match g.axes.iter().find(|(k, _)| k == axis) {
                    Some((_, v)) => v.parse().unwrap_or(0.0),
                    None => continue,
                };
                let name: Vec<String> = g
                    .axes
                    .iter()
                    .filter(|(k, _)| k != axis)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let name = if name.is_empty() {
                    "all".into()
                } else {
                    name.join(",")
                };
                let point = (x, g.mean[column], g.std[column]);
                match lines.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, pts)) => pts.push(point),
                    None => lines.push((name, vec![point])),
                }
            }
            for (_, pts) in &mut lines {
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let series: Vec<crate::report::Series> = lines
                .iter()
                .map(|(n, p)| (n.clone(), p.iter().map(|&(x, y, _)| (x, y)).collect()))
                .collect();
            let spread: Vec<Vec<f64>> = lines
                .iter()
                .map(|(_, p)| p.iter().map(|&(_, _, e)| e).collect())
                .collect();
            let path = out.join(format!("{metric}_vs_{}.png", axis.replace('.', "_")));
            crate::report::error_bar_figure(
                &path,
                &format!("{label} against {axis} (mean ± std over seeds)"),
                axis,
                label,
                &series,
                &spread,
            )?;
            written.push(path);
        }
    }
    let series: Vec<crate::report::Series> = searches
        .iter()
        .map(|(name, dir)| {
            let pts = std::fs::read_to_string(dir.join("metrics.jsonl"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<aca_search::EpochRecord>(l).ok())
                .map(|r| ((r.epoch + 1) as f64, r.skip_normal as f64))
                .collect();
            (name.clone(), pts)
        })
        .filter(|(_, p): &(String, Vec<(f64, f64)>)| !p.is_empty())
        .collect();
    if !series.is_empty() {
        let path = out.join("skip_per_epoch.png");
        crate::report::error_bar_figure(
            &path,
            "skip_connect edges in the normal cell per search epoch",
            "search epoch",
            "skip_connect edges",
            &series,
            &[],
        )?;
        written.push(path);
    }
    Ok(written)
}
