use std::path::PathBuf;

/// Everything that can go wrong in the evaluation stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A channel plan that does not fit its genotype or is malformed.
    #[error("invalid channel plan{}: {reason}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    InvalidPlan {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
    /// A configuration value that cannot be used.
    #[error("{field} = {value}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A run directory that cannot be used.
    #[error("{}: {reason}", dir.display())]
    RunDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// A new run in a directory that already holds one.
    #[error("{} already holds a run", dir.display())]
    RunExists {
        /// The directory.
        dir: PathBuf,
    },
    /// A training run without its final weights.
    #[error("{}: no model.ot: the training has not finished", dir.display())]
    TrainingUnfinished {
        /// The training run.
        dir: PathBuf,
    },
    /// A stage of the pipeline failed.
    #[error("{stage}")]
    Stage {
        /// What failed: `search stage`, `allocation stage`, .., `TensorBoard files`.
        stage: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Shared layer errors.
    #[error(transparent)]
    Core(#[from] aca_core::CoreError),
    /// Search-space errors.
    #[error(transparent)]
    Space(#[from] aca_space::SpaceError),
    /// Data errors.
    #[error(transparent)]
    Data(#[from] aca_data::DataError),
    /// Search errors.
    #[error(transparent)]
    Search(#[from] aca_search::SearchError),
    /// A libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl EvalError {
    /// Whether another process holds the run directory's lock.
    pub fn is_locked(&self) -> bool {
        matches!(
            self,
            Self::Core(aca_core::CoreError::Locked { .. })
                | Self::Search(aca_search::SearchError::Core(
                    aca_core::CoreError::Locked { .. }
                ))
        )
    }
}

/// `Result` with [`EvalError`].
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
