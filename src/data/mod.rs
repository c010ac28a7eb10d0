//! Named numeric columns: what every operation reads, and reading them from CSV exports
//! (`csv.rs`).

mod csv;

pub use self::csv::{parse_delimiter, CsvOptions, Missing, MISSING_TOKENS};
use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView1, ArrayView2};
use std::path::Path;
use std::sync::Arc;

/// A table of named `f64` columns of equal length.
///
/// ```
/// use ceteris::Dataset;
/// let data = Dataset::new()
///     .with_column("x", vec![1.0, 2.0, 3.0]).unwrap()
///     .with_column("y", vec![2.0, 4.0, 7.0]).unwrap();
/// assert_eq!(data.n_rows(), 3);
/// assert_eq!(data.column("y").unwrap()[2], 7.0);
/// assert!(data.column("z").is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    names: Vec<String>,
    columns: Vec<Vec<f64>>,
    /// Per column: the labels of a factorised column (code `i` is `levels[i]`).
    levels: Vec<Option<Vec<String>>>,
    /// Where the rows came from, for a table read from a file.
    origin: Option<Arc<Origin>>,
}

/// The file a table was read from: each row's line (the header is line 1) and the rows dropped
/// for missing values.
#[derive(Debug)]
struct Origin {
    source: String,
    lines: Vec<u64>,
    rows_dropped: usize,
}

impl Dataset {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column; errors on a duplicate name or a length different from the existing columns.
    pub fn with_column(mut self, name: &str, values: Vec<f64>) -> Result<Self> {
        self.push_column(name, values)?;
        Ok(self)
    }

    /// Adds a column in place (see [`Dataset::with_column`]).
    pub fn push_column(&mut self, name: &str, values: Vec<f64>) -> Result<()> {
        if self.names.iter().any(|n| n == name) {
            return Err(Error::param(
                "column",
                format!("duplicate column name `{name}`"),
            ));
        }
        if let (Some(first), Some(col)) = (self.names.first(), self.columns.first()) {
            if col.len() != values.len() {
                return Err(Error::LengthMismatch {
                    a: first.clone(),
                    len_a: col.len(),
                    b: name.to_string(),
                    len_b: values.len(),
                });
            }
        }
        self.names.push(name.to_string());
        self.columns.push(values);
        self.levels.push(None);
        Ok(())
    }

    /// Marks column `name` as read from labels: its values are the codes `0..levels.len()` and
    /// code `i` stands for `levels[i]` (as [`Dataset::read_csv`] does for a label column). Tests
    /// that tell discrete columns from continuous ones (the `dg` test) read this. An unknown
    /// column, no levels, or a value that is not one of the codes is an error naming the column.
    ///
    /// ```
    /// let mut d = ceteris::Dataset::new().with_column("g", vec![1.0, 0.0, 2.0]).unwrap();
    /// d.set_labels("g", vec!["a".into(), "b".into(), "c".into()]).unwrap();
    /// assert_eq!(d.levels("g").unwrap()[2], "c");
    /// assert!(d.set_labels("g", vec!["a".into()]).is_err());
    /// ```
    pub fn set_labels(&mut self, name: &str, levels: Vec<String>) -> Result<()> {
        let values = self.column(name)?;
        if levels.is_empty() {
            return Err(Error::param(
                "levels",
                format!("column `{name}`: a label column needs at least one level"),
            ));
        }
        let k = levels.len() as f64;
        if let Some(v) = values
            .iter()
            .find(|v| !(v.fract() == 0.0 && **v >= 0.0 && **v < k))
        {
            return Err(Error::param(
                "levels",
                format!(
                    "column `{name}`: value {v} is not a code of its {} levels (0 to {})",
                    levels.len(),
                    levels.len() - 1
                ),
            ));
        }
        self.set_levels(name, levels);
        Ok(())
    }

    fn set_levels(&mut self, name: &str, levels: Vec<String>) {
        if let Some(i) = self.names.iter().position(|n| n == name) {
            self.levels[i] = Some(levels);
        }
    }

    /// The labels of a column read as labels from text or booleans: code `i` stands for
    /// `levels[i]` (see [`CsvOptions::labels`]); `None` for a numeric column.
    ///
    /// ```
    /// use ceteris::data::CsvOptions;
    /// let d = ceteris::Dataset::read_reader("g,y\nb,1\na,2\n".as_bytes(), "mem",
    ///     &CsvOptions::new().labels(&["g"])).unwrap();
    /// assert_eq!(d.column("g").unwrap(), &[1.0, 0.0]);
    /// assert_eq!(d.levels("g").unwrap()[1], "b");
    /// assert!(d.levels("y").is_none());
    /// ```
    pub fn levels(&self, name: &str) -> Option<&[String]> {
        let i = self.names.iter().position(|n| n == name)?;
        self.levels[i].as_deref()
    }

    /// Rows dropped for a missing value when the table was read ([`Missing::Drop`]); 0 for a
    /// table built in memory.
    pub fn rows_dropped(&self) -> usize {
        self.origin.as_ref().map_or(0, |o| o.rows_dropped)
    }

    /// The file line of data row `row` (0-based) for a table read from CSV, counting the
    /// header as line 1.
    ///
    /// ```
    /// use ceteris::data::{CsvOptions, Missing};
    /// let d = ceteris::Dataset::read_reader("x\n1\nNA\n3\n".as_bytes(), "mem",
    ///     &CsvOptions::new().missing(Missing::Drop)).unwrap();
    /// assert_eq!(d.line(1), Some(4));
    /// ```
    pub fn line(&self, row: usize) -> Option<u64> {
        self.origin.as_ref()?.lines.get(row).copied()
    }

    /// For a table read from a file, an error that names a data row ([`Error::NonFinite`],
    /// [`Error::OutOfRange`]) rewritten to name the file and its line; any other error as it is.
    ///
    /// ```
    /// use ceteris::data::CsvOptions;
    /// let d = ceteris::Dataset::read_reader("p\n0.5\n1.5\n".as_bytes(), "f.csv",
    ///     &CsvOptions::new()).unwrap();
    /// let e = ceteris::Error::OutOfRange { column: "p".into(), row: 1, value: 1.5,
    ///     expected: "a probability".into() };
    /// assert!(d.at_lines(e).to_string().contains("line 3"));
    /// ```
    pub fn at_lines(&self, e: Error) -> Error {
        let Some(origin) = &self.origin else {
            return e;
        };
        let line = |row: usize| origin.lines.get(row).copied();
        let message = match &e {
            Error::NonFinite { column, row } => line(*row).map(|l| {
                format!("line {l}, column `{column}`: a non-finite value (NaN or infinity)")
            }),
            Error::OutOfRange {
                column,
                row,
                value,
                expected,
            } => line(*row).map(|l| {
                format!("line {l}, column `{column}`: value {value} is out of range ({expected})")
            }),
            _ => None,
        };
        match message {
            Some(message) => Error::Csv {
                path: origin.source.clone(),
                message,
            },
            None => e,
        }
    }

    /// Number of rows (0 for a table without columns).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// A column by name, or [`Error::UnknownColumn`].
    pub fn column(&self, name: &str) -> Result<&[f64]> {
        match self.names.iter().position(|n| n == name) {
            Some(i) => Ok(&self.columns[i]),
            None => Err(Error::UnknownColumn {
                name: name.to_string(),
                available: self.names.join(", "),
            }),
        }
    }

    /// A column by name as an ndarray view (no copy).
    ///
    /// ```
    /// let d = ceteris::Dataset::new().with_column("x", vec![1.0, 2.0]).unwrap();
    /// assert_eq!(d.column_view("x").unwrap().sum(), 3.0);
    /// ```
    pub fn column_view(&self, name: &str) -> Result<ArrayView1<'_, f64>> {
        self.column(name).map(ArrayView1::from)
    }

    /// A table from an `n × p` ndarray (any memory layout) and its `p` column names, copied
    /// into columns once. Errors name the mismatch: a name count other than `p`, or a duplicate
    /// name.
    ///
    /// ```
    /// use ndarray::array;
    /// let a = array![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]];
    /// let d = ceteris::Dataset::from_array(a.view(), &["x", "y"]).unwrap();
    /// assert_eq!(d.column("y").unwrap(), &[10.0, 20.0, 30.0]);
    /// assert_eq!(d.to_array(), a);
    /// assert!(ceteris::Dataset::from_array(a.view(), &["x"]).is_err());
    /// ```
    pub fn from_array(array: ArrayView2<'_, f64>, names: &[&str]) -> Result<Self> {
        if names.len() != array.ncols() {
            return Err(Error::param(
                "names",
                format!(
                    "{} column names for an array of {} columns",
                    names.len(),
                    array.ncols()
                ),
            ));
        }
        let mut data = Dataset::new();
        for (name, col) in names.iter().zip(array.columns()) {
            data.push_column(name, col.to_vec())?;
        }
        Ok(data)
    }

    /// The table as an `n × p` array, columns in [`Dataset::names`] order.
    ///
    /// ```
    /// let d = ceteris::Dataset::new().with_column("x", vec![1.0, 2.0]).unwrap();
    /// assert_eq!(d.to_array().shape(), &[2, 1]);
    /// ```
    pub fn to_array(&self) -> Array2<f64> {
        Array2::from_shape_fn((self.n_rows(), self.columns.len()), |(i, j)| {
            self.columns[j][i]
        })
    }

    /// A copy with column `name` clipped to `[lo, hi]`; values outside `[0, 1]` are refused
    /// first (this clips probabilities).
    pub(crate) fn clipped(&self, name: &str, lo: f64, hi: f64) -> Result<Dataset> {
        let col = self.finite_column(name)?;
        if let Some(row) = col.iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(Error::OutOfRange {
                column: name.into(),
                row,
                value: col[row],
                expected: "a probability between 0 and 1".into(),
            });
        }
        let mut out = self.clone();
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .expect("found above");
        out.columns[i] = col.iter().map(|v| v.clamp(lo, hi)).collect();
        Ok(out)
    }

    /// A column that must be non-empty and finite (NaN/inf reported with its row).
    pub fn finite_column(&self, name: &str) -> Result<&[f64]> {
        let col = self.column(name)?;
        if col.is_empty() {
            return Err(Error::EmptyData(format!("column `{name}` has no rows")));
        }
        if let Some(row) = col.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                column: name.to_string(),
                row,
            });
        }
        Ok(col)
    }

    /// Reads every column of a CSV file with a header row as numbers (booleans as 1/0);
    /// missing values ([`MISSING_TOKENS`]) are read as NaN and rejected when the column is used.
    /// [`Dataset::read_csv`] chooses the columns, labels, delimiter and missing-value policy.
    pub fn from_csv(path: impl AsRef<Path>) -> Result<Self> {
        Self::read_csv(path, &CsvOptions::new().missing(Missing::Keep))
    }

    /// [`Dataset::from_csv`] from any reader (`source` names it in errors).
    ///
    /// ```
    /// let d = ceteris::Dataset::from_reader("a,b\n1,True\n3,NA\n".as_bytes(), "mem").unwrap();
    /// assert_eq!(d.column("b").unwrap()[0], 1.0);
    /// assert!(d.column("b").unwrap()[1].is_nan());
    /// ```
    pub fn from_reader(reader: impl std::io::Read, source: &str) -> Result<Self> {
        Self::read_reader(reader, source, &CsvOptions::new().missing(Missing::Keep))
    }
}

impl Dataset {
    /// Built-in synthetic observational data set (deterministic in `seed`), used by `ceteris bench`
    /// and the examples. Columns: `x` (lognormal), `z` (normal confounder), `e` (true propensity,
    /// in [0.05, 0.95]), `t` (treatment ~ Bernoulli(e)), `y = 1 + 2t + z + noise` (true ATE 2),
    /// `mu0`, `mu1` (the true outcome regressions), `cluster` (50 rows each) and `w` (weights).
    ///
    /// ```
    /// let d = ceteris::Dataset::synthetic(1000, 1);
    /// assert_eq!(d.n_rows(), 1000);
    /// assert!(d.column("t").unwrap().iter().all(|&t| t == 0.0 || t == 1.0));
    /// ```
    pub fn synthetic(n: usize, seed: u64) -> Dataset {
        use crate::rng::{open_unit, Stream, STREAM_MONTE_CARLO};
        let s = Stream::new(seed, STREAM_MONTE_CARLO);
        let mut cols: [Vec<f64>; 9] = Default::default();
        for i in 0..n {
            let w = s.block(i as u32, 0);
            let (u1, u2, u3, u4) = (
                open_unit(w[0]),
                open_unit(w[1]),
                open_unit(w[2]),
                open_unit(w[3]),
            );
            let r = (-2.0 * u1.ln()).sqrt();
            let (g1, g2) = (
                r * (2.0 * std::f64::consts::PI * u2).cos(),
                r * (2.0 * std::f64::consts::PI * u2).sin(),
            );
            let z = g1;
            let e = (1.0 / (1.0 + (-0.8 * z).exp())).clamp(0.05, 0.95);
            let t = if u3 < e { 1.0 } else { 0.0 };
            let mu0 = 1.0 + z;
            let mu1 = 3.0 + z;
            let y = if t == 1.0 { mu1 } else { mu0 } + g2;
            cols[0].push((0.5 * g2).exp());
            cols[1].push(z);
            cols[2].push(e);
            cols[3].push(t);
            cols[4].push(y);
            cols[5].push(mu0);
            cols[6].push(mu1);
            cols[7].push((i / 50) as f64);
            cols[8].push(0.5 + u4);
        }
        let names = ["x", "z", "e", "t", "y", "mu0", "mu1", "cluster", "w"];
        let mut d = Dataset::new();
        for (name, col) in names.iter().zip(cols) {
            d.push_column(name, col)
                .expect("distinct names, equal lengths");
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_roundtrip_and_errors() {
        let d = Dataset::from_reader("a,b\n1,2\n3,NA\n".as_bytes(), "mem").unwrap();
        assert_eq!(d.column("a").unwrap(), &[1.0, 3.0]);
        match d.finite_column("b") {
            Err(Error::NonFinite { column, row }) => assert_eq!((column.as_str(), row), ("b", 1)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Dataset::from_reader("a\nx\n".as_bytes(), "mem"),
            Err(Error::Csv { .. })
        ));
        assert!(matches!(
            Dataset::from_reader("a,b\n".as_bytes(), "mem"),
            Err(Error::EmptyData(_))
        ));
        assert!(matches!(
            Dataset::new()
                .with_column("a", vec![1.0])
                .unwrap()
                .with_column("b", vec![1.0, 2.0]),
            Err(Error::LengthMismatch { .. })
        ));
    }
}
