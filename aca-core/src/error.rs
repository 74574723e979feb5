use std::path::PathBuf;

/// Everything that can go wrong in `aca-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// JSON that cannot be written or read.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// Configuration layers that do not make a configuration.
    #[error("{label}")]
    Layers {
        /// What the layers are (`run configuration c.json`).
        label: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A device that is not available or not known.
    #[error("device `{name}`: {reason}")]
    Device {
        /// The device as asked for.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// Parameters, gradients or saved state that do not fit the optimizer.
    #[error("optimizer: {reason}")]
    Optimizer {
        /// What does not fit.
        reason: String,
    },
    /// A checkpoint that cannot be used.
    #[error("checkpoint {}: {reason}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A run directory that another process is working on.
    #[error("{} is in use by another aca process ({holder}); wait for it to finish or stop it first", dir.display())]
    Locked {
        /// The run directory.
        dir: PathBuf,
        /// Who holds it: host and pid.
        holder: String,
    },
    /// A new run in a folder that already holds one (resuming it continues it).
    #[error("{}: it already holds a {stage}", dir.display())]
    RunExists {
        /// The run directory.
        dir: PathBuf,
        /// `search`, `training run`.
        stage: String,
    },
    /// A run directory that cannot be used as asked (a new run in a used folder, a resume
    /// under another configuration).
    #[error("{}: {reason}", dir.display())]
    RunDir {
        /// The run directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// The loss became NaN or infinite; the last good checkpoint is kept.
    #[error("the {which} loss is {value} at epoch {epoch}, step {step}: the {run} diverged; the last good checkpoint ({epochs_done} epochs completed) is kept; try a lower learning rate")]
    Diverged {
        /// `search` or `training`.
        run: &'static str,
        /// `weight`, `architecture`, `validation`, `training` or `test`.
        which: &'static str,
        /// The value.
        value: f64,
        /// Epoch (0-based).
        epoch: usize,
        /// Step in the epoch.
        step: usize,
        /// Epochs completed in the checkpoint kept.
        epochs_done: usize,
    },
    /// A libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
