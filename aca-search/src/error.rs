use std::path::PathBuf;

/// Everything that can go wrong in a search.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// A configuration value that cannot be used.
    #[error("search config: {field} = {value}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A run directory that cannot be resumed.
    #[error("cannot resume {}: {reason}", dir.display())]
    Resume {
        /// The run directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// A search's supernet file that cannot be opened as the network it records.
    #[error("supernet {}: {reason}", path.display())]
    Supernet {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// FairDARTS's threshold rule kept no op of a cell at the end of a search.
    #[error("{source}. The search's alphas are in {}: search longer, lower method_options.fair_darts.threshold, or take DARTS's rule (method_options.fair_darts.rule = \"darts\", or `aca genotype derive --alphas` on that file)", alphas.display())]
    EmptySparseCell {
        /// Where the alphas were written.
        alphas: PathBuf,
        /// The derivation's error.
        source: aca_space::SpaceError,
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
    /// A libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with [`SearchError`].
pub type Result<T, E = SearchError> = std::result::Result<T, E>;
