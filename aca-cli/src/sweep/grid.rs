//! The sweep file: a base `aca run` configuration and axes whose cartesian product (less
//! `exclude`, plus `include`) gives the runs, each an ordinary `aca run` directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aca_core::Layers;
use aca_eval::{RunConfig, RunLayout, RunState};
use aca_search::{MethodKind, Preset, SearchConfig};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A sweep file (TOML or JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SweepFile {
    /// Preset of every run (`tiny` or `paper`).
    #[serde(default = "default_preset")]
    pub preset: Preset,
    /// Search method of the base run [default: darts].
    #[serde(default)]
    pub method: Option<MethodKind>,
    /// Any `aca run` configuration fields ({"search": .., "allocate": .., "train": ..,
    /// "eval_epoch": ..}), as in `aca run --config`.
    #[serde(default)]
    pub base: serde_json::Map<String, Value>,
    /// Axis name -> values. Names: `space`, `method`, `seed` and `dataset` (search and
    /// training), `strategy`,
    /// `scorer`, `eval_epoch`, or any dotted configuration path (`search.epochs`, `train.epochs`).
    #[serde(default)]
    pub axes: BTreeMap<String, Vec<Value>>,
    /// Points of the product to leave out: each a partial assignment {axis: value}.
    #[serde(default)]
    pub exclude: Vec<BTreeMap<String, Value>>,
    /// Extra points beyond the product: each a full assignment of every axis.
    #[serde(default)]
    pub include: Vec<BTreeMap<String, Value>>,
}

fn default_preset() -> Preset {
    Preset::Tiny
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Point {
    /// Its folder name, e.g. `space=aca,seed=1,epochs=25`.
    pub name: String,
    /// Its axis values.
    pub axes: BTreeMap<String, Value>,
    /// The search it reads, when several runs share one (a name under `searches/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_search: Option<String>,
    /// Its resolved configuration.
    pub config: RunConfig,
}

/// Where an axis writes into the run configuration (dotted paths).
fn targets(axis: &str) -> Vec<&str> {
    match axis {
        "space" => vec!["search.space"],
        "method" => vec!["search.method"],
        "seed" => vec!["search.seed", "train.seed"],
        "dataset" => vec!["search.data.dataset", "train.data.dataset"],
        "strategy" => vec!["allocate.strategy"],
        "scorer" => vec!["allocate.scorer"],
        other => vec![other],
    }
}

fn short(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
    .replace(['/', ' '], "_")
}

impl SweepFile {
    /// Reads a sweep file; `.toml` as TOML, anything else as JSON.
    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: Self = if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text)
                .with_context(|| format!("parsing sweep file {}", path.display()))?
        } else {
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("parsing sweep file {}", path.display()))?;
            if !value.is_object() {
                bail!(
                    "{}: a sweep file must be a JSON object ({{\"axes\": {{..}}, ..}}), got {}",
                    path.display(),
                    crate::config_file::json_kind(&value)
                );
            }
            serde_json::from_value(value)
                .with_context(|| format!("parsing sweep file {}", path.display()))?
        };
        for key in ["exclude", "include", "base"] {
            if file.axes.contains_key(key) {
                bail!(
                    "{}: `{key}` is inside [axes]; in TOML, write it before the first [table] (a key after a table header belongs to that table)",
                    path.display()
                );
            }
        }
        Ok(file)
    }

    /// The runs of the sweep, validated: every axis value must give a valid run configuration.
    pub fn points(&self) -> Result<Vec<Point>> {
        let preset = self.preset;
        for (axis, values) in &self.axes {
            if values.is_empty() {
                bail!("axis `{axis}` has no values: expected a non-empty list");
            }
            for (i, v) in values.iter().enumerate() {
                if values[..i].contains(v) {
                    bail!("axis `{axis}` lists the value {v} twice: expected distinct values");
                }
            }
        }
        // Two axes writing one configuration field (`seed` writes search.seed and train.seed)
        // would let one silently override the other.
        let axes: Vec<&String> = self.axes.keys().collect();
        for (i, a) in axes.iter().enumerate() {
            for b in &axes[i + 1..] {
                // One path is the other or holds it, segment by segment.
                let overlap = targets(a).into_iter().find(|ta| {
                    targets(b)
                        .iter()
                        .any(|tb| ta.split('.').zip(tb.split('.')).all(|(x, y)| x == y))
                });
                if let Some(path) = overlap {
                    bail!("axes `{a}` and `{b}` both set {path}: keep one of them");
                }
            }
        }
        let names: Vec<&String> = self.axes.keys().collect();
        // Readable names: the last segment of a dotted path unless two axes share it.
        let label = |axis: &str| -> String {
            let last = axis.rsplit('.').next().unwrap_or(axis);
            let clash = names
                .iter()
                .filter(|n| n.rsplit('.').next() == Some(last))
                .count()
                > 1;
            if clash {
                axis.to_string()
            } else {
                last.to_string()
            }
        };
        let mut assignments: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new()];
        for (axis, values) in &self.axes {
            assignments = assignments
                .into_iter()
                .flat_map(|a| {
                    values.iter().map(move |v| {
                        let mut a = a.clone();
                        a.insert(axis.clone(), v.clone());
                        a
                    })
                })
                .collect();
        }
        for (i, ex) in self.exclude.iter().enumerate() {
            if let Some(k) = ex.keys().find(|k| !self.axes.contains_key(*k)) {
                bail!("exclude[{i}] names `{k}`, which is not an axis");
            }
        }
        assignments.retain(|a| {
            !self
                .exclude
                .iter()
                .any(|ex| ex.iter().all(|(k, v)| a.get(k) == Some(v)))
        });
        for (i, inc) in self.include.iter().enumerate() {
            let missing: Vec<_> = names.iter().filter(|n| !inc.contains_key(**n)).collect();
            if !missing.is_empty() || inc.keys().any(|k| !self.axes.contains_key(k)) {
                bail!(
                    "include[{i}] must assign exactly the axes {:?}",
                    names.iter().map(|s| s.as_str()).collect::<Vec<_>>()
                );
            }
            if !assignments.contains(inc) {
                assignments.push(inc.clone());
            }
        }
        if assignments.is_empty() {
            bail!("the sweep has no runs left after `exclude`");
        }
        let mut points = Vec::with_capacity(assignments.len());
        for a in assignments {
            let config = self.config_for(preset, &a)?;
            let name = if a.is_empty() {
                "base".to_string()
            } else {
                a.iter()
                    .map(|(k, v)| format!("{}={}", label(k), short(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            if let Some(other) = points.iter().find(|p: &&Point| p.name == name) {
                bail!(
                    "two runs would be named `{name}` (axis values {} and {}): run names write `/` and \
                     spaces as `_`; make the values differ otherwise",
                    serde_json::to_string(&other.axes).unwrap_or_default(),
                    serde_json::to_string(&a).unwrap_or_default()
                );
            }
            points.push(Point {
                name,
                axes: a,
                shared_search: None,
                config,
            });
        }
        share_searches(&mut points, &label);
        Ok(points)
    }

    fn config_for(&self, preset: Preset, a: &BTreeMap<String, Value>) -> Result<RunConfig> {
        let what = || {
            a.iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // The sweep's base < its method < the run's axes.
        let mut layers =
            Layers::new(format!("the run with {}", what())).with(Value::Object(self.base.clone()));
        if let Some(m) = self.method {
            layers = layers.with_value("search.method", Value::from(m.to_string()));
        }
        for (axis, v) in a {
            for path in targets(axis) {
                layers = layers.with_value(path, v.clone());
            }
        }
        let mut config = RunConfig::layered(preset, &layers, None, None)?;
        // Every evaluated epoch is a snapshot of each search, so that runs differing only in
        // `eval_epoch` share one search.
        if let Some(epochs) = self.axes.get("eval_epoch") {
            for e in epochs.iter().filter_map(Value::as_u64) {
                let e = e as usize;
                if e < config.search.epochs && !config.search.snapshot_epochs.contains(&e) {
                    config.search.snapshot_epochs.push(e);
                }
            }
            config.search.snapshot_epochs.sort_unstable();
        }
        config
            .resolve()
            .with_context(|| format!("the run with {}", what()))?;
        Ok(config)
    }
}

/// Runs whose search configurations are equal share one search under `searches/` (one long search
/// with snapshots gives every `eval_epoch`, and allocation strategies reuse it).
fn share_searches(points: &mut [Point], label: &dyn Fn(&str) -> String) {
    let key = |c: &SearchConfig| serde_json::to_string(c).unwrap_or_default();
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        groups.entry(key(&p.config.search)).or_default().push(i);
    }
    for members in groups.values().filter(|m| m.len() > 1) {
        // Name the search by the axes on which its runs agree.
        let first = &points[members[0]].axes;
        let name: Vec<String> = first
            .iter()
            .filter(|(k, v)| members.iter().all(|&m| points[m].axes.get(*k) == Some(*v)))
            .map(|(k, v)| format!("{}={}", label(k), short(v)))
            .collect();
        let name = if name.is_empty() {
            "search".to_string()
        } else {
            name.join(",")
        };
        for &m in members {
            points[m].shared_search = Some(name.clone());
        }
    }
}

/// Writes the sweep's run directories (run.json, and the link to a shared search) under `dir`;
/// existing runs are left as they are, but a run whose configuration changed is refused.
/// The metrics TensorBoard's HParams table shows beside a sweep's axes: the training's scalars
/// of its last epoch.
pub(crate) const HPARAMS_METRICS: [&str; 3] = [
    "training/test_acc",
    "training/test_loss",
    "training/train_acc",
];

/// Writes the sweep's HParams experiment to `dir/tb`: its axes, with their values, as
/// hyperparameters and [`HPARAMS_METRICS`] as metrics. Each run's training records its own
/// session (its axis values) in `RUN/train/tb`.
pub(crate) fn write_hparams_experiment(
    dir: &Path,
    axes: &BTreeMap<String, Vec<Value>>,
) -> Result<()> {
    let tb_dir = dir.join(aca_core::tensorboard::TB_DIR);
    let mut tb = aca_core::tensorboard::EventWriter::open(&tb_dir, |_, _| false)?;
    tb.hparams_experiment(axes, &HPARAMS_METRICS)?;
    tb.flush()?;
    Ok(())
}

pub(crate) fn lay_out(dir: &Path, points: &[Point], preset: Preset) -> Result<Vec<PathBuf>> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).with_context(|| format!("creating {}", runs.display()))?;
    let mut out = Vec::with_capacity(points.len());
    for p in points {
        let run = runs.join(&p.name);
        let layout = RunLayout::new(&run);
        if layout.has_state() {
            if layout.read_state()?.config != p.config {
                bail!(
                    "{} holds a run with another configuration than the sweep file gives it; use a new sweep folder or remove that run",
                    run.display()
                );
            }
        } else {
            std::fs::create_dir_all(&run).with_context(|| format!("creating {}", run.display()))?;
            if let Some(shared) = &p.shared_search {
                let target = dir.join("searches").join(shared);
                std::fs::create_dir_all(&target)
                    .with_context(|| format!("creating {}", target.display()))?;
                let link = run.join("search");
                if std::fs::symlink_metadata(&link).is_err() {
                    std::os::unix::fs::symlink(Path::new("../../searches").join(shared), &link)
                        .with_context(|| format!("linking {}", link.display()))?;
                }
            }
            let mut state = RunState::new(preset, p.config.clone());
            state.hparams = p.axes.clone();
            layout.write_state(&state)?;
        }
        out.push(run);
    }
    Ok(out)
}
