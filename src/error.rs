//! The one error type of ceteris.

/// Everything that can go wrong, with the offending column, row or parameter named.
///
/// ```
/// use ceteris::Error;
/// let e = Error::NonFinite { column: "x".into(), row: 3 };
/// assert_eq!(e.to_string(), "column `x` has a non-finite value (NaN or infinity) at row 3");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No rows (or no columns) where some are needed.
    #[error("empty data: {0}")]
    EmptyData(String),
    /// NaN or infinity in the input; `row` is 0-based among the data rows.
    #[error("column `{column}` has a non-finite value (NaN or infinity) at row {row}")]
    NonFinite {
        /// Column name.
        column: String,
        /// 0-based data row.
        row: usize,
    },
    /// Columns of different lengths.
    #[error("length mismatch: `{a}` has {len_a} rows but `{b}` has {len_b}")]
    LengthMismatch {
        /// First column.
        a: String,
        /// Its length.
        len_a: usize,
        /// Second column.
        b: String,
        /// Its length.
        len_b: usize,
    },
    /// A column with zero variance where the statistic needs variance.
    #[error("column `{0}` is constant, but the statistic needs it to vary")]
    ConstantColumn(String),
    /// Too few rows (overall, in an arm, stratum or cluster set).
    #[error("too few rows in {what}: need at least {need}, got {got}")]
    TooFewRows {
        /// What is too small (e.g. "treatment arm 1").
        what: String,
        /// The minimum.
        need: usize,
        /// What there is.
        got: usize,
    },
    /// A value outside its allowed range (propensities, treatment codes, weights).
    #[error("column `{column}` row {row}: value {value} is out of range ({expected})")]
    OutOfRange {
        /// Column name.
        column: String,
        /// 0-based row.
        row: usize,
        /// Offending value.
        value: f64,
        /// The range that was expected.
        expected: String,
    },
    /// A parameter outside its domain.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// Parameter name (as the CLI spells it).
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A column name that is not in the data.
    #[error("unknown column `{name}` (available: {available})")]
    UnknownColumn {
        /// The name asked for.
        name: String,
        /// The columns that exist, comma separated.
        available: String,
    },
    /// No usable GPU adapter.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// A GPU failure: out of memory, device lost, validation, mapping.
    #[error("GPU error ({kind}): {message}")]
    Gpu {
        /// Short category: "out-of-memory", "validation", "device-lost", "map", "limits",
        /// "numerics" (a non-finite device result, or an input too ill-conditioned for f32).
        kind: &'static str,
        /// The driver's message.
        message: String,
    },
    /// Reading or writing a file.
    #[error("I/O error on `{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A CSV file that cannot be parsed.
    #[error("CSV error in `{path}`: {message}")]
    Csv {
        /// The file.
        path: String,
        /// What went wrong, with the line where known.
        message: String,
    },
    /// The run was stopped through its [`Cancel`](crate::Cancel) token, between batches.
    #[error("cancelled")]
    Cancelled,
}

/// Result alias.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Whether this is a GPU-side failure that a CPU rerun can recover from.
    pub fn is_gpu(&self) -> bool {
        matches!(self, Error::Gpu { .. } | Error::NoAdapter(_))
    }
}
