//! Run directories as types: the layout of an `aca run` directory (the search in `search/`, the
//! plan, the training in `train/`), and what any run directory holds, recognised by reading its
//! configuration as the stage's type rather than by guessing from file names.

use std::path::{Path, PathBuf};

use aca_search::{files as search_files, EpochRecord, SearchConfig};

use crate::error::Result;
use crate::pipeline::RunState;
use crate::plan::ChannelPlan;
use crate::train::{files as train_files, read_json, TrainConfig, TrainRecord, TrainResults};

/// The files of an `aca run` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLayout {
    root: PathBuf,
}

impl RunLayout {
    /// The pipeline's configuration and seconds per stage.
    pub const RUN_JSON: &'static str = "run.json";
    /// The log of every stage.
    pub const LOG: &'static str = "log.txt";
    /// The summary printed at the end.
    pub const SUMMARY: &'static str = "summary.txt";
    /// A failed run's error (removed when it starts again).
    pub const ERROR: &'static str = "error.txt";

    /// The layout under `root`.
    pub fn new(root: &Path) -> Self {
        Self { root: root.into() }
    }

    /// The run directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A file of the run directory itself.
    pub fn file(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The search run (a link to a shared search in a sweep).
    pub fn search_dir(&self) -> PathBuf {
        self.root.join("search")
    }

    /// The channel plan trained.
    pub fn plan(&self) -> PathBuf {
        self.root.join(train_files::PLAN)
    }

    /// The training run.
    pub fn train_dir(&self) -> PathBuf {
        self.root.join("train")
    }

    /// Whether the search has finished (its genotype is written).
    pub fn search_done(&self) -> bool {
        self.search_dir()
            .join(search_files::GENOTYPE_JSON)
            .is_file()
    }

    /// Whether the search has a checkpoint to continue from.
    pub fn search_started(&self) -> bool {
        self.search_dir().join(search_files::CHECKPOINT).is_file()
    }

    /// Whether the training has finished (its results are written).
    pub fn train_done(&self) -> bool {
        self.train_dir().join(train_files::RESULTS).is_file()
    }

    /// Whether the training has a checkpoint to continue from.
    pub fn train_started(&self) -> bool {
        self.train_dir().join(train_files::CHECKPOINT).is_file()
    }

    /// Whether the whole run has finished (its summary is written).
    pub fn finished(&self) -> bool {
        self.file(Self::SUMMARY).is_file()
    }

    /// Search epochs finished (lines of its metrics log).
    pub fn search_epochs_done(&self) -> usize {
        count_lines(&self.search_dir().join(search_files::METRICS))
    }

    /// Training epochs finished.
    pub fn train_epochs_done(&self) -> usize {
        count_lines(&self.train_dir().join(train_files::METRICS))
    }

    /// Whether `run.json` exists: the folder holds a run.
    pub fn has_state(&self) -> bool {
        self.file(Self::RUN_JSON).is_file()
    }

    /// The run's configuration and time spent (`run.json`).
    pub fn read_state(&self) -> Result<RunState> {
        read_json(&self.file(Self::RUN_JSON))
    }

    /// Writes `run.json`, atomically.
    pub fn write_state(&self, state: &RunState) -> Result<()> {
        Ok(aca_core::write_json_atomic(
            &self.file(Self::RUN_JSON),
            state,
        )?)
    }
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

/// What a run directory holds, for reports: the search and training parts, each read through
/// its own types. An `aca run` directory has both; a search or training run directory one.
#[derive(Debug, Clone, Default)]
pub struct RunContents {
    /// The search run's folder and resolved configuration.
    pub search: Option<(PathBuf, SearchConfig)>,
    /// The training run's folder and resolved configuration.
    pub train: Option<(PathBuf, TrainConfig)>,
    /// The channel plan, if one is written.
    pub plan: Option<PathBuf>,
}

impl RunContents {
    /// Reads what `dir` holds: an `aca run` directory (`search/`, `train/`), or a single stage's
    /// run directory, recognised by which configuration type its `config.json` is. A
    /// `config.json` that is neither is an error naming it.
    pub fn read(dir: &Path) -> Result<Self> {
        let layout = RunLayout::new(dir);
        let mut found = Self::default();
        for stage_dir in [layout.search_dir(), layout.train_dir(), dir.to_path_buf()] {
            let path = stage_dir.join(search_files::CONFIG);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            match (
                serde_json::from_str::<SearchConfig>(&text),
                serde_json::from_str::<TrainConfig>(&text),
            ) {
                (Ok(c), _) => {
                    found.search.get_or_insert((stage_dir, c));
                }
                (_, Ok(c)) => {
                    found.train.get_or_insert((stage_dir, c));
                }
                (Err(as_search), Err(as_train)) => {
                    return Err(crate::train::run_dir_error(
                        &path,
                        format!(
                            "neither a search configuration ({as_search}) nor a training configuration ({as_train})"
                        ),
                    ))
                }
            }
        }
        let mut plans = vec![layout.plan()];
        plans.extend(found.search.iter().map(|(d, _)| d.join(train_files::PLAN)));
        plans.extend(found.train.iter().map(|(d, _)| d.join(train_files::PLAN)));
        found.plan = plans.into_iter().find(|p| p.is_file());
        Ok(found)
    }

    /// The search's epoch records (empty without a search or metrics).
    pub fn search_records(&self) -> std::io::Result<Vec<EpochRecord>> {
        match &self.search {
            Some((dir, _)) => read_records(&dir.join(search_files::METRICS)),
            None => Ok(Vec::new()),
        }
    }

    /// The training's epoch records.
    pub fn train_records(&self) -> std::io::Result<Vec<TrainRecord>> {
        match &self.train {
            Some((dir, _)) => read_records(&dir.join(train_files::METRICS)),
            None => Ok(Vec::new()),
        }
    }

    /// Whether the search finished.
    pub fn search_finished(&self) -> bool {
        self.search
            .as_ref()
            .is_some_and(|(d, _)| d.join(search_files::GENOTYPE_JSON).is_file())
    }

    /// The training's final results, once it finished.
    pub fn train_results(&self) -> Option<TrainResults> {
        let (dir, _) = self.train.as_ref()?;
        let text = std::fs::read_to_string(dir.join(train_files::RESULTS)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The plan, if one is written and readable.
    pub fn read_plan(&self) -> crate::Result<Option<ChannelPlan>> {
        self.plan.as_deref().map(ChannelPlan::read).transpose()
    }
}

/// The JSON lines of a metrics file (none if it does not exist yet); a line that does not parse
/// is an error naming the file and line.
fn read_records<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}, line {}: {e}", path.display(), i + 1),
                )
            })
        })
        .collect()
}
