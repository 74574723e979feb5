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
    /// A libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with [`CoreError`].
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
