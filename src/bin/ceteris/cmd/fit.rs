//! `ceteris fit`: its arguments and run, a linear or additive model (scm-json/v1) fitted to a CSV
//! file on a given graph, printed or written to a file with a JSON summary.

use crate::output::{print_json, write_text};
use ceteris::scm::{parse_graph, FitKind, Scm};
use ceteris::{Dataset, Error};
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// CSV file with a header row; one column per node.
    #[arg(long)]
    data: String,
    /// Edges and paths, comma separated: `X->Y,Z->Y` or `Z->X->Y`; a lone name adds a root.
    #[arg(long)]
    graph: String,
    /// linear, or additive (linear plus tanh and square terms of each standardised parent).
    #[arg(long, default_value = "linear")]
    kind: String,
    /// Where to write the model; without it the model is printed.
    #[arg(long)]
    out: Option<String>,
}

/// Runs `ceteris fit`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    let kind: FitKind = a.kind.parse()?;
    let graph = parse_graph(&a.graph)?;
    let data = Dataset::from_csv(&a.data)?;
    let start = Instant::now();
    let model = Scm::fit(&data, &graph, kind)?;
    let seconds = start.elapsed().as_secs_f64();
    let text = model.to_json();
    match &a.out {
        Some(path) => {
            write_text(path, &format!("{text}\n"))?;
            print_json(&json!({
                "out": path, "kind": a.kind, "rows": data.n_rows(),
                "nodes": model.names(), "seconds": seconds,
            }));
        }
        None => say!("{text}"),
    }
    Ok(())
}
