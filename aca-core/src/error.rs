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
    /// A libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
