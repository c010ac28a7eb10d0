//! `ceteris counterfactual`: its arguments and run, the counterfactual values of one observed
//! unit (JSON) or of every row of a CSV file (CSV, or a file and a JSON summary with `--out`).

use super::scm_args::{parse_pairs, parse_set, read_model};
use crate::output::{csv_text, print_json, write_text};
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
}

/// Runs `ceteris counterfactual`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    let model = read_model(&a.model)?;
    let set = parse_set(&a.dos, &a.shifts)?;
    let Some(path) = &a.data else {
        let observed = parse_pairs(
            std::slice::from_ref(a.observed.as_ref().expect("clap")),
            "observed",
        )?;
        let start = Instant::now();
        let cf = model.counterfactual(&observed, &set)?;
        let mut out = serde_json::to_value(&cf).expect("serialisable");
        out["backend"] = json!("cpu (deterministic, one unit)");
        out["seconds"] = json!(start.elapsed().as_secs_f64());
        print_json(&out);
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
    let Some(out) = &a.out else {
        say!("{}", csv_text(&cf.values)?.trim_end());
        return Ok(());
    };
    write_text(out, &csv_text(&cf.values)?)?;
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
        "backend": format!("cpu (deterministic, {} threads)", rayon::current_num_threads()),
        "seconds": seconds,
    }));
    Ok(())
}
