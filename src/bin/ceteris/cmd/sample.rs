//! `ceteris sample`: its arguments and run, draws from a model (observational, or under
//! interventions) printed as CSV or written to a file with a JSON summary.

use super::scm_args::{parse_set, read_model};
use crate::output::{columns_json, csv_text, print_json, print_rows_table, write_text};
use crate::RowsFormat;
use ceteris::{Engine, Error};
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Model file (scm-json/v1).
    #[arg(long)]
    model: String,
    /// Rows to draw.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// `NODE=value[,NODE=value]` (atomic interventions; none = observational).
    #[arg(long = "do")]
    dos: Vec<String>,
    /// `NODE=delta[,NODE=delta]` (shift interventions).
    #[arg(long = "shift")]
    shifts: Vec<String>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the CSV; without it the CSV is printed.
    #[arg(long)]
    out: Option<String>,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// csv (default without --out), json (`{"data": {node: [...]}, "backend", "seconds"}`; the
    /// default summary with --out) or table.
    #[arg(long, value_enum)]
    format: Option<RowsFormat>,
}

/// Runs `ceteris sample`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    if a.out.is_some() && a.format == Some(RowsFormat::Csv) {
        return Err(Error::param(
            "format",
            "with --out the rows go to the file as CSV; --format json or table prints the summary",
        ));
    }
    let model = read_model(&a.model)?;
    let set = parse_set(&a.dos, &a.shifts)?;
    let engine = Engine::from_name(&a.backend)?;
    let start = Instant::now();
    let s = model.sample(&engine, &set, a.samples, a.seed)?;
    let seconds = start.elapsed().as_secs_f64();
    let d = &s.data;
    let text = csv_text(d)?;
    match (&a.out, a.format) {
        (Some(path), Some(RowsFormat::Table)) => {
            write_text(path, &text)?;
            say!("out      {path}");
            say!("rows     {}", d.n_rows());
            say!("nodes    {}", d.names().join(","));
            say!("backend  {}", s.backend);
            say!("seconds  {seconds:.4}");
        }
        (Some(path), _) => {
            write_text(path, &text)?;
            print_json(&json!({
                "out": path, "rows": d.n_rows(), "nodes": d.names(),
                "backend": s.backend, "seconds": seconds,
            }));
        }
        (None, None | Some(RowsFormat::Csv)) => say!("{}", text.trim_end()),
        (None, Some(RowsFormat::Table)) => print_rows_table(d)?,
        (None, Some(RowsFormat::Json)) => print_json(&json!({
            "data": columns_json(d)?, "backend": s.backend, "seconds": seconds,
        })),
    }
    Ok(())
}
