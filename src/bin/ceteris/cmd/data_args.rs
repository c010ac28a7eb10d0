//! The flags every command that reads a CSV file shares (`--data`, `--delimiter`, `--dropna`),
//! reading only the columns the command uses, and what the output says about the read
//! (`rows_dropped`, `levels`).

use ceteris::data::{parse_delimiter, CsvOptions, Missing};
use ceteris::{Dataset, Error};
use serde_json::{Map, Value};

#[derive(clap::Args)]
pub(crate) struct DataArgs {
    /// CSV file with a header row (only the columns the command uses are read).
    #[arg(long)]
    pub(crate) data: String,
    /// Field delimiter: `,` (default), `;`, `|` or `tab`.
    #[arg(long, default_value = ",")]
    pub(crate) delimiter: String,
    /// Drop the rows with a missing value (empty, NA, N/A, NaN, nan, `.`, <NA>, null) in a used
    /// column, and report how many as `rows_dropped`; without it a missing value is an error.
    #[arg(long)]
    pub(crate) dropna: bool,
}

impl DataArgs {
    /// `columns` when given, else every column of the file's header (for reading them all as
    /// labels).
    pub(crate) fn columns_or_header(&self, columns: &[String]) -> Result<Vec<String>, Error> {
        if !columns.is_empty() {
            return Ok(columns.to_vec());
        }
        let mut r = csv::ReaderBuilder::new()
            .delimiter(parse_delimiter(&self.delimiter)?)
            .from_path(&self.data)
            .map_err(|e| Error::param("data", format!("cannot read `{}`: {e}", self.data)))?;
        let header = r.headers().map_err(|e| {
            Error::param(
                "data",
                format!("cannot read the header of `{}`: {e}", self.data),
            )
        })?;
        Ok(header.iter().map(|h| h.trim().to_string()).collect())
    }

    /// Reads `columns` (all when empty), `labels` among them factorised; missing values as
    /// `--dropna` says, or kept as NaN when `keep_missing` (test-wise deletion).
    pub(crate) fn read(
        &self,
        columns: &[String],
        labels: &[String],
        keep_missing: bool,
    ) -> Result<Dataset, Error> {
        read_path(
            &self.data,
            &self.delimiter,
            self.dropna,
            columns,
            labels,
            keep_missing,
        )
    }

    /// The read's report for the JSON output: `rows_dropped` (with `--dropna`) and
    /// `label_levels` (the mapping of each factorised column: code `i` is
    /// `label_levels[name][i]`).
    pub(crate) fn report(&self, data: &Dataset) -> Map<String, Value> {
        let mut m = Map::new();
        if self.dropna {
            m.insert("rows_dropped".into(), data.rows_dropped().into());
        }
        let levels: Map<String, Value> = data
            .names()
            .iter()
            .filter_map(|n| data.levels(n).map(|l| (n.clone(), Value::from(l.to_vec()))))
            .collect();
        if !levels.is_empty() {
            m.insert("label_levels".into(), Value::Object(levels));
        }
        m
    }

    /// The report as `--format table` lines.
    pub(crate) fn say_report(&self, data: &Dataset) {
        for (k, v) in self.report(data) {
            say!("{k:<11} {v}");
        }
    }
}

/// `value` serialised with the read's report merged in, as one JSON object.
pub(crate) fn with_report<T: serde::Serialize>(value: &T, report: Map<String, Value>) -> Value {
    let mut v = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.extend(report);
    }
    v
}

/// A two-level treatment read as a label: an error listing the levels when there are not two.
pub(crate) fn check_treatment(data: &Dataset, column: &str) -> Result<(), Error> {
    if let Some(levels) = data.levels(column) {
        if levels.len() != 2 {
            return Err(Error::param(
                "treatment",
                format!(
                    "column `{column}` has {} levels ({}); a treatment needs two",
                    levels.len(),
                    levels.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Reads `columns` of the CSV file at `path` (all when empty), `labels` among them factorised;
/// missing values dropped with `dropna`, kept as NaN when `keep_missing` (test-wise deletion),
/// else an error.
pub(crate) fn read_path(
    path: &str,
    delimiter: &str,
    dropna: bool,
    columns: &[String],
    labels: &[String],
    keep_missing: bool,
) -> Result<Dataset, Error> {
    let missing =
        match (keep_missing, dropna) {
            (true, true) => return Err(Error::param(
                "dropna",
                "--dropna drops rows before testing and --testwise-deletion nan drops them per \
                 test: choose one",
            )),
            (true, false) => Missing::Keep,
            (false, true) => Missing::Drop,
            (false, false) => Missing::Error,
        };
    let mut opts = CsvOptions::new()
        .delimiter(parse_delimiter(delimiter)?)
        .labels(labels)
        .missing(missing);
    if !columns.is_empty() {
        opts = opts.columns(columns);
    }
    Dataset::read_csv(path, &opts)
}
