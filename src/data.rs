//! Named numeric columns: what every operation reads.

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView1, ArrayView2};
use std::path::Path;

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
        Ok(())
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

    /// Reads a CSV file with a header row; every column must parse as a number
    /// (empty cells, `NA` and `nan` are read as NaN and rejected when the column is used).
    pub fn from_csv(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        Self::from_reader(file, &shown)
    }

    /// Reads CSV from any reader (`source` names it in errors).
    pub fn from_reader(reader: impl std::io::Read, source: &str) -> Result<Self> {
        let csv_err = |message: String| Error::Csv {
            path: source.to_string(),
            message,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(reader);
        let headers = rdr.headers().map_err(|e| csv_err(e.to_string()))?.clone();
        if headers.is_empty() {
            return Err(Error::EmptyData(format!("`{source}` has no header row")));
        }
        let mut columns: Vec<Vec<f64>> = vec![Vec::new(); headers.len()];
        for (row, record) in rdr.records().enumerate() {
            let record = record.map_err(|e| csv_err(e.to_string()))?;
            for (j, cell) in record.iter().enumerate() {
                let v = match cell {
                    "" | "NA" | "na" | "NaN" | "nan" => f64::NAN,
                    s => s.parse::<f64>().map_err(|_| {
                        csv_err(format!(
                            "row {row}, column `{}`: `{s}` is not a number",
                            &headers[j]
                        ))
                    })?,
                };
                columns[j].push(v);
            }
        }
        let mut data = Dataset::new();
        for (name, col) in headers.iter().zip(columns) {
            data.push_column(name, col)?;
        }
        if data.n_rows() == 0 {
            return Err(Error::EmptyData(format!(
                "`{source}` has a header but no rows"
            )));
        }
        Ok(data)
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
