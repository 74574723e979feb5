use std::path::PathBuf;

/// Everything that can go wrong in `aca-space`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpaceError {
    /// An op name that is not a DARTS primitive.
    #[error("unknown op `{name}` (expected one of none|zero, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5, noise)")]
    UnknownOp {
        /// The name as given.
        name: String,
    },
    /// An op-set name that is not built in.
    #[error("unknown op set `{name}` (expected aca, darts, darts-no-none, s1, s1-aca, s2, s3, s3-aca, s4 or s4-aca)")]
    UnknownOpSet {
        /// The name as given.
        name: String,
    },
    /// A custom op set that cannot be used.
    #[error("op set `{name}` is invalid: {reason}")]
    InvalidOpSet {
        /// The set's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A published genotype name that is not shipped.
    #[error("unknown genotype `{name}` (published genotypes: {known})")]
    UnknownGenotype {
        /// The name as given.
        name: String,
        /// The names that exist.
        known: String,
    },
    /// A genotype that breaks the cell topology or the op set.
    #[error("invalid genotype: {cell} cell: {reason}")]
    InvalidGenotype {
        /// `normal` or `reduce`.
        cell: &'static str,
        /// What is wrong, naming the edge.
        reason: String,
    },
    /// Text that does not parse as the named format.
    #[error("cannot parse {format} genotype: {reason}")]
    Parse {
        /// `json`, `darts` or `table`.
        format: &'static str,
        /// What is wrong and where.
        reason: String,
    },
    /// FairDARTS's threshold rule kept no op of a cell.
    #[error("the threshold rule keeps no op of the {cell} cell: no chosen op's weight reaches {threshold} (the largest is {largest:.3})")]
    EmptyCell {
        /// `normal` or `reduce`.
        cell: &'static str,
        /// The weight an op had to reach.
        threshold: f32,
        /// The largest weight of a chosen op.
        largest: f32,
    },
    /// Alpha matrices of the wrong shape or with non-finite values.
    #[error("invalid alphas: {reason}")]
    InvalidAlphas {
        /// What is wrong.
        reason: String,
    },
    /// A network that cannot be built with the given shape.
    #[error("invalid network: {reason}")]
    InvalidNetwork {
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A libtorch error.
    #[cfg(feature = "tch")]
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// `Result` with [`SpaceError`].
pub type Result<T, E = SpaceError> = std::result::Result<T, E>;
