//! What the commands share to report: the progress bar of long runs, pretty JSON on stdout, and
//! CSV text and files.

use ceteris::{Dataset, Error};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

/// A progress bar that appears on a terminal once a run has lasted a second.
pub(crate) struct Progress {
    bar: ProgressBar,
    started: Instant,
}

impl Progress {
    /// A hidden bar counting `unit`.
    pub(crate) fn new(unit: &str) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{bar:40}} {{pos}}/{{len}} {unit} ({{eta}} left) {{msg}}"
            ))
            .expect("valid template"),
        );
        Progress {
            bar,
            started: Instant::now(),
        }
    }

    /// Shows the bar on stderr once the run has lasted a second.
    fn reveal(&self) {
        if self.bar.is_hidden() && self.started.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// `done` of `total`.
    pub(crate) fn tick(&self, done: u64, total: u64) {
        self.reveal();
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// `done` of `total`, with a message after the bar.
    pub(crate) fn tick_with_message(&self, message: String, done: u64, total: u64) {
        self.reveal();
        self.bar.set_message(message);
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Prints `value` as pretty JSON.
pub(crate) fn print_json<T: serde::Serialize + ?Sized>(value: &T) {
    say!(
        "{}",
        serde_json::to_string_pretty(value).expect("serialisable")
    );
}

/// A data set as CSV text: a header of column names, then one row per line (values in Rust's
/// shortest round-trip form).
pub(crate) fn csv_text(d: &Dataset) -> Result<String, Error> {
    let cols: Vec<&[f64]> = d
        .names()
        .iter()
        .map(|n| d.column(n))
        .collect::<Result<_, _>>()?;
    // RFC 4180: a header holding a comma, quote or line break is quoted, quotes doubled
    let header: Vec<String> = d
        .names()
        .iter()
        .map(|n| {
            if n.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", n.replace('"', "\"\""))
            } else {
                n.clone()
            }
        })
        .collect();
    let mut text = header.join(",");
    text.push('\n');
    for i in 0..d.n_rows() {
        let row: Vec<String> = cols.iter().map(|c| format!("{:?}", c[i])).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    Ok(text)
}

/// Writes `text` to `path`, naming the path on failure.
pub(crate) fn write_text(path: &str, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_string(),
        source,
    })
}

/// A data set as JSON, `{column: [values]}` in column order.
pub(crate) fn columns_json(d: &Dataset) -> Result<serde_json::Value, Error> {
    let mut m = serde_json::Map::new();
    for name in d.names() {
        m.insert(name.clone(), serde_json::json!(d.column(name)?));
    }
    Ok(serde_json::Value::Object(m))
}

/// Prints a data set as a table: a header of column names, then one row per line.
pub(crate) fn print_rows_table(d: &Dataset) -> Result<(), Error> {
    let cols: Vec<&[f64]> = d
        .names()
        .iter()
        .map(|n| d.column(n))
        .collect::<Result<_, _>>()?;
    let head: Vec<String> = d.names().iter().map(|n| format!("{n:>14}")).collect();
    say!("{}", head.join(" "));
    for i in 0..d.n_rows() {
        let row: Vec<String> = cols.iter().map(|c| format!("{:>14.6}", c[i])).collect();
        say!("{}", row.join(" "));
    }
    Ok(())
}

/// `--backend` of a command that runs on the CPU only (deterministic work with no device
/// path): `auto` and `cpu` run it, `gpu` is an error saying so.
pub(crate) fn cpu_only_backend(backend: &str, command: &str) -> Result<(), Error> {
    match backend {
        "auto" | "cpu" => Ok(()),
        "gpu" => Err(Error::param(
            "backend",
            format!("{command} has no GPU path (it runs on the CPU, deterministic): use --backend cpu or auto"),
        )),
        other => Err(Error::param(
            "backend",
            format!("unknown backend `{other}` (auto, cpu, gpu)"),
        )),
    }
}
