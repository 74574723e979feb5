//! The state of each run, read from the run directories themselves.

use std::path::Path;

use aca_core::RunLock;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RunState {
    /// Nothing done yet.
    Pending,
    /// A process holds its lock.
    Running,
    /// Its summary is written.
    Done,
    /// Its last attempt failed (first line of the error).
    Failed(String),
    /// Part done, no process on it: a re-run resumes it.
    Stopped,
}

/// A run's state with its stage and epoch.
#[derive(Debug, Clone)]
pub(crate) struct RunStatus {
    pub state: RunState,
    /// `search 12/50`, `train 3/8`, ...
    pub stage: String,
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
        .unwrap_or(0)
}

/// Reads a run directory's state.
pub(crate) fn run_state(run: &Path) -> RunStatus {
    let state: Option<crate::pipeline::RunState> = std::fs::read_to_string(run.join("run.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let (search_epochs, train_epochs) = state
        .as_ref()
        .map_or((0, 0), |s| (s.config.search.epochs, s.config.train.epochs));
    let searched = lines(&run.join("search").join("metrics.jsonl"));
    let trained = lines(&run.join("train").join("metrics.jsonl"));
    let stage = if run.join("summary.txt").is_file() {
        "finished".to_string()
    } else if run.join("train").join("results.json").is_file() {
        "test".to_string()
    } else if trained > 0
        || (run.join("plan.json").is_file() && run.join("search").join("genotype.json").is_file())
    {
        format!("train {trained}/{train_epochs}")
    } else {
        format!("search {searched}/{search_epochs}")
    };
    let state = if RunLock::holder(run).is_some() {
        RunState::Running
    } else if run.join("summary.txt").is_file() {
        RunState::Done
    } else if let Some(e) = super::local::first_error(run) {
        RunState::Failed(e)
    } else if searched > 0 || trained > 0 {
        RunState::Stopped
    } else {
        RunState::Pending
    };
    RunStatus { state, stage }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunState::Pending => f.write_str("pending"),
            RunState::Running => f.write_str("running"),
            RunState::Done => f.write_str("done"),
            RunState::Failed(e) => write!(f, "failed: {e}"),
            RunState::Stopped => f.write_str("stopped"),
        }
    }
}
