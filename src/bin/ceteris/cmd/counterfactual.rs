//! `ceteris counterfactual`: its arguments and run, the counterfactual values of one observed
//! unit (JSON) or of every row of a CSV file (CSV, or a file and a JSON summary with `--out`).

use super::scm_args::{parse_pairs, parse_set, read_model};
use crate::output::{
    columns_json, cpu_only_backend, csv_text, print_json, print_rows_table, write_text,
};
use crate::RowsFormat;
use ceteris::{Dataset, Error};
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Model file (scm-json/v1).
    #[arg(long)]
    model: String,
    /// The observed unit, every node: `NODE=value,NODE=value,...`.
    #[arg(long, required_unless_present = "data", conflicts_with = "data")]
    observed: Option<String>,
    /// A CSV of observed units, one per row, with a column for every node (other columns are
    /// ignored): prints the counterfactual values as CSV, or writes them to `--out`.
    #[arg(long)]
    data: Option<String>,
    /// With `--data`: where to write the counterfactual CSV; a JSON summary (mean observed and
    /// counterfactual value of each node) is printed instead.
    #[arg(long, requires = "data")]
    out: Option<String>,
    /// `NODE=value[,NODE=value]` (atomic interventions).
    #[arg(long = "do")]
    dos: Vec<String>,
    /// `NODE=delta[,NODE=delta]` (shift interventions).
    #[arg(long = "shift")]
    shifts: Vec<String>,
    /// auto or cpu (counterfactuals run on the CPU, deterministic; gpu is an error).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json, table or csv. Default: json for `--observed` and for the summary of `--out`, csv
    /// for the rows of `--data` (json: `{"values": {node: [...]}, "noise": {node: [...]}}`).
    #[arg(long, value_enum)]
    format: Option<RowsFormat>,
}

/// Runs `ceteris counterfactual`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    cpu_only_backend(&a.backend, "counterfactual")?;
    if a.out.is_some() && a.format == Some(RowsFormat::Csv) {
        return Err(Error::param(
            "format",
            "with --out the rows go to the file as CSV; --format json or table prints the summary",
        ));
    }
    let model = read_model(&a.model)?;
    let set = parse_set(&a.dos, &a.shifts)?;
    let Some(path) = &a.data else {
        let observed = parse_pairs(
            std::slice::from_ref(a.observed.as_ref().expect("clap")),
            "observed",
        )?;
        let start = Instant::now();
        let cf = model.counterfactual(&observed, &set)?;
        let backend = "cpu (deterministic, one unit)";
        let seconds = start.elapsed().as_secs_f64();
        match a.format.unwrap_or(RowsFormat::Json) {
            RowsFormat::Json => {
                let mut out = serde_json::to_value(&cf).expect("serialisable");
                out["backend"] = json!(backend);
                out["seconds"] = json!(seconds);
                print_json(&out);
            }
            RowsFormat::Csv => {
                let mut row = Dataset::new();
                for name in model.names() {
                    row.push_column(name, vec![cf.values[name]])?;
                }
                say!("{}", csv_text(&row)?.trim_end());
            }
            RowsFormat::Table => {
                say!("{:<16} {:>14} {:>14}", "node", "value", "noise");
                for name in model.names() {
                    let noise = cf
                        .noise
                        .get(name)
                        .map_or(String::new(), |v| format!("{v:.6}"));
                    say!("{name:<16} {:>14.6} {noise:>14}", cf.values[name]);
                }
                say!("backend {backend}, {seconds:.4} s");
            }
        }
        return Ok(());
    };
    // the model's nodes only; other columns may hold anything
    let data = Dataset::read_csv(
        path,
        &ceteris::data::CsvOptions::new().columns(&model.names()),
    )?;
    let start = Instant::now();
    let cf = model
        .counterfactuals(&data, &set)
        .map_err(|e| data.at_lines(e))?;
    let seconds = start.elapsed().as_secs_f64();
    let backend = format!(
        "cpu (deterministic, {} threads)",
        rayon::current_num_threads()
    );
    let Some(out) = &a.out else {
        match a.format.unwrap_or(RowsFormat::Csv) {
            RowsFormat::Csv => say!("{}", csv_text(&cf.values)?.trim_end()),
            RowsFormat::Table => print_rows_table(&cf.values)?,
            RowsFormat::Json => print_json(&json!({
                "values": columns_json(&cf.values)?, "noise": columns_json(&cf.noise)?,
                "backend": backend, "seconds": seconds,
            })),
        }
        return Ok(());
    };
    write_text(out, &csv_text(&cf.values)?)?;
    if a.format == Some(RowsFormat::Table) {
        say!("{:<16} {:>14} {:>14}", "node", "observed", "counterfactual");
        let mean = |c: &[f64]| c.iter().sum::<f64>() / c.len() as f64;
        for name in model.names() {
            say!(
                "{name:<16} {:>14.6} {:>14.6}",
                mean(data.column(name)?),
                mean(cf.values.column(name)?)
            );
        }
        say!(
            "{} units to {out}; backend {backend}, {seconds:.4} s",
            data.n_rows()
        );
        return Ok(());
    }
    let mean = |c: &[f64]| c.iter().sum::<f64>() / c.len() as f64;
    let mut means = serde_json::Map::new();
    for name in model.names() {
        means.insert(
            name.to_string(),
            json!({
                "observed": mean(data.column(name)?),
                "counterfactual": mean(cf.values.column(name)?),
            }),
        );
    }
    print_json(&json!({
        "out": out, "units": data.n_rows(), "means": means,
        "backend": backend,
        "seconds": seconds,
    }));
    Ok(())
}
