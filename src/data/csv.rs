//! Reading CSV exports as analysts bring them: only the columns a command uses, label columns
//! (strings, booleans) factorised, missing-value tokens, booleans, other delimiters, and every
//! message naming the file's line (the header is line 1).

use super::{Dataset, Origin};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// The cells read as missing: empty, `NA`, `N/A`, `NaN`, `nan`, `.` (Stata), `<NA>` (pandas'
/// nullable types), `null`, and their usual case variants.
pub const MISSING_TOKENS: &[&str] = &[
    "", "NA", "na", "N/A", "n/a", "NaN", "nan", "NAN", ".", "<NA>", "null", "NULL", "Null",
];

/// What a missing value in a used column does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Missing {
    /// An error naming the column and the line (the default).
    #[default]
    Error,
    /// The row is dropped (counted in [`Dataset::rows_dropped`]).
    Drop,
    /// Kept as NaN, for operations that handle it themselves (test-wise deletion).
    Keep,
}

/// How [`Dataset::read_csv`] reads a file.
///
/// ```
/// use ceteris::data::{CsvOptions, Missing};
/// let opts = CsvOptions::new()
///     .delimiter(b';')
///     .columns(&["y", "arm"])
///     .labels(&["arm"])
///     .missing(Missing::Drop);
/// # let _ = opts;
/// ```
#[derive(Clone, Debug)]
pub struct CsvOptions {
    delimiter: u8,
    columns: Option<Vec<String>>,
    labels: Vec<String>,
    missing: Missing,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            columns: None,
            labels: Vec::new(),
            missing: Missing::Error,
        }
    }
}

impl CsvOptions {
    /// Comma-separated, every column read as a number, missing values an error.
    pub fn new() -> Self {
        Self::default()
    }

    /// The field delimiter (`b','`, `b';'`, `b'\t'` or `b'|'`; others are refused when reading).
    pub fn delimiter(mut self, d: u8) -> Self {
        self.delimiter = d;
        self
    }

    /// Read only these columns, in this order (the others may hold anything). A name twice is
    /// read once.
    pub fn columns<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            if !out.iter().any(|o| o == n.as_ref()) {
                out.push(n.as_ref().to_string());
            }
        }
        self.columns = Some(out);
        self
    }

    /// Columns that are labels (clusters, strata, domains, a two-level treatment): numbers are
    /// kept as they are; booleans become 0 (`False`) and 1 (`True`); any other text is
    /// factorised to the codes `0, 1, …` of its distinct values in sorted order, and the mapping
    /// is kept ([`Dataset::levels`]).
    pub fn labels<S: AsRef<str>>(mut self, names: &[S]) -> Self {
        self.labels = names.iter().map(|n| n.as_ref().to_string()).collect();
        self
    }

    /// What a missing value in a read column does (default [`Missing::Error`]).
    pub fn missing(mut self, m: Missing) -> Self {
        self.missing = m;
        self
    }
}

/// `--delimiter`'s spellings: `,` `;` `|`, and a tab as `\t`, `tab` or the character itself.
///
/// ```
/// assert_eq!(ceteris::data::parse_delimiter("tab").unwrap(), b'\t');
/// assert_eq!(ceteris::data::parse_delimiter(";").unwrap(), b';');
/// assert!(ceteris::data::parse_delimiter(":").is_err());
/// ```
pub fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "|" | "pipe" => Ok(b'|'),
        "\t" | "\\t" | "tab" => Ok(b'\t'),
        other => Err(Error::param(
            "delimiter",
            format!("`{other}` is not a supported delimiter (`,`, `;`, `|` or `tab`)"),
        )),
    }
}

fn shown(d: u8) -> &'static str {
    match d {
        b',' => ",",
        b';' => ";",
        b'|' => "|",
        _ => "tab",
    }
}

/// One read column while the file streams by.
enum Cells {
    /// Numbers (booleans as 0/1, missing as NaN); `bools` counts the boolean cells.
    Number { values: Vec<f64>, bools: usize },
    /// A label column's raw text (None = missing).
    Text(Vec<Option<Box<str>>>),
}

fn boolean(s: &str) -> Option<f64> {
    match s {
        "True" | "true" | "TRUE" => Some(1.0),
        "False" | "false" | "FALSE" => Some(0.0),
        _ => None,
    }
}

/// `1,5` or `-0,25`: a number written with a decimal comma.
fn decimal_comma(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    match s.split_once(',') {
        Some((a, b)) => {
            !a.is_empty()
                && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

impl Dataset {
    /// Reads a CSV file with a header row, as [`CsvOptions`] say (see [`Dataset::read_reader`]).
    pub fn read_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        Self::read_reader(std::io::BufReader::new(file), &shown, opts)
    }

    /// Reads CSV with a header row from any reader; `source` names it in errors, and every error
    /// names the line (the header is line 1).
    ///
    /// * Only the columns in [`CsvOptions::columns`] are read (all when unset); the others may
    ///   hold anything.
    /// * Missing values ([`MISSING_TOKENS`]) are an error, dropped rows or NaN
    ///   ([`CsvOptions::missing`]).
    /// * `True`/`False` (any of the usual cases) read as 1/0; label columns
    ///   ([`CsvOptions::labels`]) may hold any text.
    /// * A number with a decimal comma (`1,5`) is an error that says so; a file that reads as one
    ///   column with a `;`, tab or `|` in its header is an error suggesting the delimiter.
    ///
    /// ```
    /// use ceteris::data::{CsvOptions, Missing};
    /// use ceteris::Dataset;
    /// let csv = "name,treated,y,arm\nann,True,1.5,b\nbob,False,NA,a\ncy,True,2.5,a\n";
    /// let opts = CsvOptions::new()
    ///     .columns(&["treated", "y", "arm"])
    ///     .labels(&["arm"])
    ///     .missing(Missing::Drop);
    /// let d = Dataset::read_reader(csv.as_bytes(), "mem", &opts).unwrap();
    /// assert_eq!(d.column("treated").unwrap(), &[1.0, 1.0]);
    /// assert_eq!(d.column("arm").unwrap(), &[1.0, 0.0]);
    /// assert_eq!(d.levels("arm").unwrap(), &["a".to_string(), "b".to_string()]);
    /// assert_eq!(d.rows_dropped(), 1);
    /// // the default: a missing value is an error naming the column and the line
    /// let e = Dataset::read_reader(csv.as_bytes(), "mem", &CsvOptions::new().columns(&["y"]));
    /// assert!(e.unwrap_err().to_string().contains("line 3"));
    /// ```
    pub fn read_reader(
        reader: impl std::io::Read,
        source: &str,
        opts: &CsvOptions,
    ) -> Result<Dataset> {
        if !matches!(opts.delimiter, b',' | b';' | b'|' | b'\t') {
            return Err(Error::param("delimiter", "use `,`, `;`, `|` or tab"));
        }
        let err = |message: String| Error::Csv {
            path: source.to_string(),
            message,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(opts.delimiter)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let headers = rdr
            .headers()
            .map_err(|e| err(format!("line 1 (the header): {e}")))?
            .clone();
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(Error::EmptyData(format!("`{source}` has no header row")));
        }
        if headers.len() == 1 && opts.delimiter == b',' {
            for (c, name) in [(';', ";"), ('\t', "tab"), ('|', "|")] {
                if headers[0].contains(c) {
                    return Err(err(format!(
                        "the header reads as one column, `{}`, which contains `{}`: is the file \
                         {}-separated? Pass --delimiter '{name}'",
                        &headers[0],
                        if c == '\t' { "\\t" } else { name },
                        if c == '\t' { "tab" } else { name },
                    )));
                }
            }
        }
        for (j, h) in headers.iter().enumerate() {
            if h.is_empty() {
                return Err(err(format!(
                    "line 1 (the header): column {} has no name",
                    j + 1
                )));
            }
            if let Some(k) = headers.iter().take(j).position(|o| o == h) {
                return Err(err(format!(
                    "line 1 (the header): columns {} and {} are both named `{h}`",
                    k + 1,
                    j + 1
                )));
            }
        }
        let wanted: Vec<String> = match &opts.columns {
            Some(c) => c.clone(),
            None => headers.iter().map(str::to_string).collect(),
        };
        let mut index = Vec::with_capacity(wanted.len());
        for name in &wanted {
            match headers.iter().position(|h| h == name) {
                Some(j) => index.push(j),
                None => {
                    return Err(Error::UnknownColumn {
                        name: name.clone(),
                        available: headers.iter().collect::<Vec<_>>().join(", "),
                    })
                }
            }
        }
        for l in &opts.labels {
            if !wanted.contains(l) {
                return Err(Error::UnknownColumn {
                    name: l.clone(),
                    available: wanted.join(", "),
                });
            }
        }
        let mut cells: Vec<Cells> = wanted
            .iter()
            .map(|name| {
                if opts.labels.contains(name) {
                    Cells::Text(Vec::new())
                } else {
                    Cells::Number {
                        values: Vec::new(),
                        bools: 0,
                    }
                }
            })
            .collect();
        let mut lines: Vec<u64> = Vec::new();
        let mut dropped = 0usize;
        let mut record = csv::StringRecord::new();
        let mut row_missing = vec![false; wanted.len()];
        loop {
            match rdr.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = e.position().map(|p| p.line());
                    let at = line.map_or(String::new(), |l| format!("line {l}: "));
                    return Err(err(match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => {
                            let mut m = format!(
                                "{at}{len} fields where the header has {expected_len} (delimiter \
                                 `{}`)",
                                shown(opts.delimiter)
                            );
                            if opts.delimiter == b',' && len > expected_len {
                                m.push_str(
                                    "; if the file uses decimal commas, re-export it with `.` as \
                                     the decimal point, or with another delimiter and pass \
                                     --delimiter",
                                );
                            }
                            m
                        }
                        _ => format!("{at}{e}"),
                    }));
                }
            }
            let line = record.position().map_or(0, |p| p.line());
            let mut any_missing = false;
            for (k, &j) in index.iter().enumerate() {
                let cell = record.get(j).unwrap_or("");
                let missing = MISSING_TOKENS.contains(&cell);
                row_missing[k] = missing;
                any_missing |= missing;
            }
            if any_missing {
                match opts.missing {
                    Missing::Error => {
                        let k = row_missing.iter().position(|&m| m).expect("some");
                        return Err(err(format!(
                            "line {line}, column `{}`: missing value `{}` (pass --dropna to drop \
                             the rows with a missing value in a used column)",
                            wanted[k],
                            record.get(index[k]).unwrap_or("")
                        )));
                    }
                    Missing::Drop => {
                        dropped += 1;
                        continue;
                    }
                    Missing::Keep => {}
                }
            }
            for (k, &j) in index.iter().enumerate() {
                let cell = record.get(j).unwrap_or("");
                match &mut cells[k] {
                    Cells::Text(v) => {
                        v.push((!row_missing[k]).then(|| cell.into()));
                    }
                    Cells::Number { values, bools } => {
                        if row_missing[k] {
                            values.push(f64::NAN);
                        } else if let Ok(x) = cell.parse::<f64>() {
                            values.push(x);
                        } else if let Some(b) = boolean(cell) {
                            values.push(b);
                            *bools += 1;
                        } else if decimal_comma(cell) {
                            return Err(err(format!(
                                "line {line}, column `{}`: `{cell}` has a decimal comma; ceteris \
                                 reads `.` as the decimal point (re-export with decimal='.')",
                                wanted[k]
                            )));
                        } else {
                            return Err(err(format!(
                                "line {line}, column `{}`: `{cell}` is not a number{}",
                                wanted[k],
                                if opts.columns.is_none() {
                                    " (choose the columns to read, e.g. with --columns)"
                                } else {
                                    ""
                                }
                            )));
                        }
                    }
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(Error::EmptyData(if dropped > 0 {
                format!("`{source}`: every row has a missing value in a used column")
            } else {
                format!("`{source}` has a header but no rows")
            }));
        }
        let mut data = Dataset::new();
        for (name, col) in wanted.iter().zip(cells) {
            match col {
                Cells::Number { values, bools } => {
                    let present = values.iter().filter(|v| !v.is_nan()).count();
                    data.push_column(name, values)?;
                    if bools > 0 && bools == present {
                        data.set_levels(name, vec!["False".into(), "True".into()]);
                    }
                }
                Cells::Text(text) => {
                    let (values, levels) = factorise(&text);
                    data.push_column(name, values)?;
                    if let Some(levels) = levels {
                        data.set_levels(name, levels);
                    }
                }
            }
        }
        data.origin = Some(Arc::new(Origin {
            source: source.to_string(),
            lines,
            rows_dropped: dropped,
        }));
        Ok(data)
    }
}

/// A label column's codes, and its levels unless every cell is a number (kept as it is).
/// Booleans give 0/1 with levels `False`, `True`; other text the sorted distinct values.
fn factorise(text: &[Option<Box<str>>]) -> (Vec<f64>, Option<Vec<String>>) {
    let present = || text.iter().flatten();
    if present().all(|s| s.parse::<f64>().is_ok()) {
        let v = text
            .iter()
            .map(|s| s.as_ref().map_or(f64::NAN, |s| s.parse().expect("checked")))
            .collect();
        return (v, None);
    }
    if present().all(|s| boolean(s).is_some()) {
        let v = text
            .iter()
            .map(|s| {
                s.as_ref()
                    .map_or(f64::NAN, |s| boolean(s).expect("checked"))
            })
            .collect();
        return (v, Some(vec!["False".into(), "True".into()]));
    }
    let levels: Vec<String> = present()
        .map(|s| s.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let v = text
        .iter()
        .map(|s| match s {
            Some(s) => levels
                .binary_search_by(|l| l.as_str().cmp(s))
                .expect("a level") as f64,
            None => f64::NAN,
        })
        .collect();
    (v, Some(levels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, opts: &CsvOptions) -> Result<Dataset> {
        Dataset::read_reader(text.as_bytes(), "mem", opts)
    }

    #[test]
    fn every_missing_token_is_missing() {
        for tok in MISSING_TOKENS {
            let text = format!("x,y\n1,2\n3,{tok}\n");
            let e = read(&text, &CsvOptions::new()).unwrap_err().to_string();
            assert!(
                e.contains("line 3, column `y`: missing value"),
                "{tok}: {e}"
            );
            let d = read(&text, &CsvOptions::new().missing(Missing::Drop)).unwrap();
            assert_eq!((d.n_rows(), d.rows_dropped()), (1, 1), "{tok}");
            let d = read(&text, &CsvOptions::new().missing(Missing::Keep)).unwrap();
            assert!(d.column("y").unwrap()[1].is_nan(), "{tok}");
        }
    }

    #[test]
    fn header_problems_and_delimiter_hints() {
        let e = read("a;b\n1;2\n", &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--delimiter ';'"), "{e}");
        let e = read("a\tb\n1\t2\n", &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--delimiter 'tab'"), "{e}");
        let e = read("a,a\n1,2\n", &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("columns 1 and 2 are both named `a`"), "{e}");
        let e = read("a,\n1,2\n", &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("column 2 has no name"), "{e}");
        assert!(matches!(
            read("", &CsvOptions::new()),
            Err(Error::EmptyData(_))
        ));
        let d = read("a|b\n1|2\n", &CsvOptions::new().delimiter(b'|')).unwrap();
        assert_eq!(d.column("b").unwrap(), &[2.0]);
        assert!(read("a\n1\n", &CsvOptions::new().delimiter(b':')).is_err());
    }

    #[test]
    fn labels_keep_numbers_and_sort_text() {
        let text = "g,h,b,y\n10,z,True,1\n2,a,False,2\n10,z,,3\n";
        let opts = CsvOptions::new()
            .labels(&["g", "h", "b"])
            .missing(Missing::Keep);
        let d = read(text, &opts).unwrap();
        // numbers are kept as they are, without levels
        assert_eq!(d.column("g").unwrap(), &[10.0, 2.0, 10.0]);
        assert!(d.levels("g").is_none());
        assert_eq!(d.column("h").unwrap(), &[1.0, 0.0, 1.0]);
        assert_eq!(d.levels("h").unwrap(), &["a".to_string(), "z".to_string()]);
        let b = d.column("b").unwrap();
        assert_eq!((b[0], b[1]), (1.0, 0.0));
        assert!(b[2].is_nan());
        // a label named but not read
        let e = read(text, &CsvOptions::new().columns(&["y"]).labels(&["h"]));
        assert!(matches!(e, Err(Error::UnknownColumn { .. })));
        // quoted multi-line cells: lines count the file's lines
        let d = read("a,s\n1,\"x\ny\"\n2,z\n", &CsvOptions::new().columns(&["a"])).unwrap();
        assert_eq!((d.line(0), d.line(1)), (Some(2), Some(4)));
    }

    #[test]
    fn decimal_commas_are_recognised() {
        assert!(decimal_comma("1,5") && decimal_comma("-0,25") && decimal_comma("+3,0"));
        assert!(!decimal_comma("1,") && !decimal_comma(",5") && !decimal_comma("a,b"));
        let e = read("x\n\"1,5\"\n", &CsvOptions::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("decimal comma"), "{e}");
    }
}
