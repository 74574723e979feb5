//! The state of each run, read from the run directories themselves.

use std::path::Path;

use aca_core::RunLock;
use aca_eval::RunLayout;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Standing {
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
    pub state: Standing,
    /// `search 12/50`, `train 3/8`, ...
    pub stage: String,
}

/// Reads a run directory's state.
pub(crate) fn run_state(run: &Path) -> RunStatus {
    let layout = RunLayout::new(run);
    let (search_epochs, train_epochs) = layout
        .read_state()
        .map_or((0, 0), |s| (s.config.search.epochs, s.config.train.epochs));
    let searched = layout.search_epochs_done();
    let trained = layout.train_epochs_done();
    let stage = if layout.finished() {
        "finished".to_string()
    } else if layout.train_done() {
        "test".to_string()
    } else if trained > 0 || (layout.plan().is_file() && layout.search_done()) {
        format!("train {trained}/{train_epochs}")
    } else {
        format!("search {searched}/{search_epochs}")
    };
    let state = if RunLock::holder(run).is_some() {
        Standing::Running
    } else if layout.finished() {
        Standing::Done
    } else if let Some(e) = super::local::first_error(run) {
        Standing::Failed(e)
    } else if searched > 0 || trained > 0 {
        Standing::Stopped
    } else {
        Standing::Pending
    };
    RunStatus { state, stage }
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Standing::Pending => f.write_str("pending"),
            Standing::Running => f.write_str("running"),
            Standing::Done => f.write_str("done"),
            Standing::Failed(e) => write!(f, "failed: {e}"),
            Standing::Stopped => f.write_str("stopped"),
        }
    }
}
