//! The run directory every stage shares: created or resumed under a lock, the files that define
//! the run pinned (written by a new run, checked by a resume), an end-of-epoch checkpoint that
//! records the configuration it was made with, and the metrics log.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::checkpoint::{load_checkpoint, save_checkpoint};
use crate::error::{CoreError, Result};
use crate::fsutil::{json_differences, write_json_atomic};
use crate::lock::RunLock;
use crate::metrics::MetricsLog;

/// File names every run directory shares.
pub mod files {
    /// The resolved configuration.
    pub const CONFIG: &str = "config.json";
    /// One JSON object per epoch.
    pub const METRICS: &str = "metrics.jsonl";
    /// The latest end-of-epoch checkpoint.
    pub const CHECKPOINT: &str = "checkpoint.ot";
}

/// An open run directory, locked for this process until dropped.
#[derive(Debug)]
pub struct RunDir {
    dir: PathBuf,
    resume: bool,
    _lock: RunLock,
}

/// What a checkpoint gives back: the tensors, the epochs completed and the stage's own state.
#[derive(Debug)]
pub struct Resumed<S> {
    /// Every tensor saved, by name (prefixes as the stage wrote them).
    pub tensors: Vec<(String, Tensor)>,
    /// Epochs completed when the checkpoint was written.
    pub epochs_done: usize,
    /// The stage's own state (data streams and the like).
    pub state: S,
}

/// The state of a stage that keeps nothing beyond its tensors and epoch count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoState {}

#[derive(Serialize, Deserialize)]
struct CheckpointState<S> {
    epochs_done: usize,
    #[serde(flatten)]
    state: S,
    /// The resolved configuration the checkpoint was made with: a resume under another one (an
    /// edited config.json) is refused.
    #[serde(default)]
    config: Option<serde_json::Value>,
}

/// Creates `dir`, or the folder that a link at `dir` points to when that is missing: a sweep's
/// run links its shared search, and a fresh clone holds the link but not the empty folder (git
/// keeps no empty folders).
fn create_run_folder(dir: &Path) -> std::io::Result<()> {
    match std::fs::read_link(dir) {
        Ok(target) if !dir.exists() => {
            let base = dir.parent().unwrap_or_else(|| Path::new("."));
            std::fs::create_dir_all(base.join(target))
        }
        _ => std::fs::create_dir_all(dir),
    }
}

impl RunDir {
    /// Opens `dir` for a `stage` run (`search`, `training run`): a new run creates the folder and
    /// refuses one that already holds a checkpoint; a resume opens it as it is. Either way the
    /// folder is locked, or refused at once if another process holds it.
    pub fn open(dir: &Path, resume: bool, stage: &str) -> Result<Self> {
        if !resume {
            if dir.join(files::CHECKPOINT).exists() {
                return Err(CoreError::RunExists {
                    dir: dir.into(),
                    stage: stage.into(),
                });
            }
            create_run_folder(dir).map_err(|source| CoreError::Io {
                path: dir.into(),
                source,
            })?;
        }
        let lock = RunLock::acquire(dir)?;
        tracing::debug!(dir = %dir.display(), resume, stage, "run directory opened");
        Ok(Self {
            dir: dir.into(),
            resume,
            _lock: lock,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file of the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether this run continues an earlier one.
    pub fn resumes(&self) -> bool {
        self.resume
    }

    /// Pins a file that defines the run (the configuration, a plan): a new run writes it; a
    /// resume requires the saved one to equal `value`, naming the fields that differ. Both are
    /// compared as `T` reads them, so fields added since the file was written take their defaults.
    pub fn pin<T: Serialize + DeserializeOwned>(&self, name: &str, value: &T) -> Result<()> {
        let path = self.path(name);
        if !self.resume {
            return write_json_atomic(&path, value);
        }
        let json_error = |source| CoreError::Json {
            path: path.clone(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            run_dir_error(
                &self.dir,
                format!("cannot resume: no readable {name} ({e})"),
            )
        })?;
        let saved: T = serde_json::from_str(&text).map_err(json_error)?;
        let saved = serde_json::to_value(&saved).map_err(json_error)?;
        let mine = serde_json::to_value(value).map_err(json_error)?;
        let differ = json_differences(&saved, &mine);
        if differ.is_empty() {
            Ok(())
        } else {
            Err(run_dir_error(
                &self.dir,
                format!(
                    "cannot resume: its {name} differs from this run's (fields: {}); resume with the run's own files, or start a new run",
                    differ.join(", ")
                ),
            ))
        }
    }

    /// Opens the metrics log for a run starting at `start_epoch` (later lines are dropped).
    pub fn metrics(&self, start_epoch: usize) -> Result<MetricsLog> {
        MetricsLog::open(&self.path(files::METRICS), start_epoch)
    }

    /// Writes the end-of-epoch checkpoint, atomically: `tensors`, the epochs completed, the
    /// stage's own `state` and the resolved `config` it was made with.
    pub fn save_checkpoint<S: Serialize, C: Serialize>(
        &self,
        tensors: &[(String, Tensor)],
        epochs_done: usize,
        state: &S,
        config: &C,
    ) -> Result<()> {
        save_checkpoint(
            &self.path(files::CHECKPOINT),
            tensors,
            &CheckpointState {
                epochs_done,
                state,
                config: serde_json::to_value(config).ok(),
            },
        )
    }

    /// The checkpoint of a resumed run, if it has one (a run stopped in its first epoch has not).
    /// One made with another configuration than `config` is refused, naming the fields. Both are
    /// compared as `C` reads them, so fields added since the checkpoint was written take their
    /// defaults.
    pub fn load_checkpoint<S: DeserializeOwned, C: Serialize + DeserializeOwned>(
        &self,
        config: &C,
    ) -> Result<Option<Resumed<S>>> {
        let path = self.path(files::CHECKPOINT);
        if !self.resume || !path.exists() {
            return Ok(None);
        }
        let (tensors, saved): (_, CheckpointState<S>) = load_checkpoint(&path)?;
        tracing::debug!(path = %path.display(), epochs_done = saved.epochs_done, "checkpoint read");
        if let Some(made_with) = saved.config {
            let json_error = |source| CoreError::Json {
                path: path.clone(),
                source,
            };
            let mine = serde_json::to_value(config).map_err(json_error)?;
            // As the configuration type reads it (new fields at their defaults); a configuration
            // the type cannot read is compared as written.
            let made_with = match serde_json::from_value::<C>(made_with.clone()) {
                Ok(typed) => serde_json::to_value(&typed).map_err(json_error)?,
                Err(_) => made_with,
            };
            let differ = json_differences(&made_with, &mine);
            if !differ.is_empty() {
                return Err(run_dir_error(
                    &self.dir,
                    format!(
                        "cannot resume: its checkpoint was made with another configuration (fields: {}); a resume continues the run exactly as it started, so restore {} or start a new run",
                        differ.join(", "),
                        files::CONFIG
                    ),
                ));
            }
        }
        Ok(Some(Resumed {
            tensors,
            epochs_done: saved.epochs_done,
            state: saved.state,
        }))
    }
}

fn run_dir_error(dir: &Path, reason: String) -> CoreError {
    CoreError::RunDir {
        dir: dir.into(),
        reason,
    }
}

/// A NaN or infinite `which` loss (`weight`, `architecture`, `validation`, `training`, `test`)
/// of a `run` (`search`, `training`) at `epoch` and `step` stops it; the checkpoint on disk is
/// the one written at the end of the previous epoch.
pub fn check_finite(
    value: f64,
    run: &'static str,
    which: &'static str,
    epoch: usize,
    step: usize,
) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(CoreError::Diverged {
            run,
            which,
            value,
            epoch,
            step,
            epochs_done: epoch,
        })
    }
}

/// Progress hooks of an epoch loop for a front end (progress bars); `R` is the stage's epoch
/// record. Every method has an empty default.
pub trait Observer<R> {
    /// An epoch of `steps` steps starts.
    fn epoch_started(&self, _epoch: usize, _epochs: usize, _steps: usize) {}
    /// A step ended.
    fn step_done(&self) {}
    /// An epoch ended.
    fn epoch_done(&self, _record: &R) {}
}

/// An observer that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;
impl<R> Observer<R> for Silent {}
