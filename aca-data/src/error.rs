use std::path::PathBuf;

/// Everything that can go wrong in `aca-data`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// Reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file that is not in the format it should be.
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A dataset that cannot be found where it was looked for.
    #[error("{dataset} not found in {}: {hint}", dir.display())]
    NotFound {
        /// The dataset.
        dataset: crate::kind::DatasetKind,
        /// Where it was looked for.
        dir: PathBuf,
        /// What to do.
        hint: String,
    },
    /// An option value that cannot be used.
    #[error("{field} = {value}: {reason}")]
    Config {
        /// The option.
        field: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A download that did not succeed.
    #[error("downloading {url}: {reason}")]
    Download {
        /// The address.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A downloaded archive whose checksum is not the published one.
    #[error("{}: MD5 is {found}, expected the published {expected}; the download is corrupt and was removed", path.display())]
    Checksum {
        /// The archive.
        path: PathBuf,
        /// The published MD5.
        expected: String,
        /// The MD5 of what was downloaded.
        found: String,
    },
    /// A libtorch error.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| DataError::Io { path, source }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        DataError::Format {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// `Result` with [`DataError`].
pub type Result<T, E = DataError> = std::result::Result<T, E>;
