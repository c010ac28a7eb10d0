//! `ceteris fit`: its arguments and run, a linear or additive model (scm-json/v1, logistic nodes
//! for 0/1 columns) fitted to a CSV file on a given graph (inline edges, or a file: discover's
//! JSON or DOT, or a text file of edges), printed or written to a file with a summary.

use super::data_args::{with_report, DataArgs};
use super::scm_args::{graph_nodes, graph_text};
use crate::output::{print_json, write_text};
use ceteris::scm::{read_graph, FitKind, NodeType, Noise, Scm};
use ceteris::Error;
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The CSV file (one column per node; other columns are not read), `--delimiter`,
    /// `--dropna`.
    #[command(flatten)]
    data: DataArgs,
    /// The DAG: edges and paths, `X->Y,Z->Y` or `Z->X->Y` (a lone name adds a root; quote names
    /// with separators, `"a,b"->y`), or a FILE: `ceteris discover`'s JSON or DOT output, or a
    /// text file of such edges. Undirected edges (a CPDAG) are refused and listed.
    #[arg(long)]
    graph: String,
    /// linear, or additive (linear plus tanh and square terms of each standardised parent).
    #[arg(long, default_value = "linear")]
    kind: String,
    /// Where to write the model; without it the model is printed.
    #[arg(long)]
    out: Option<String>,
    /// auto or cpu: fitting runs on the CPU (f64) and reports "cpu"; gpu is refused (no GPU
    /// path).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json or table.
    #[arg(long, default_value = "json")]
    format: String,
}

/// One row of the table: node, type, intercept, coefficients and terms, noise.
fn table_row(node: &ceteris::scm::Node) -> String {
    let kind = match node.kind {
        NodeType::Linear => "linear",
        NodeType::Additive => "additive",
        NodeType::Logistic => "logistic",
    };
    let coef: Vec<String> = node
        .coefficients
        .iter()
        .map(|(p, c)| format!("{c:+.6}·{p}"))
        .collect();
    let terms = if node.terms.is_empty() {
        String::new()
    } else {
        format!(" + {} terms", node.terms.len())
    };
    let noise = match &node.noise {
        None => "U(0,1) threshold".to_string(),
        Some(Noise::Normal { scale }) => format!("normal({scale:.6})"),
        Some(Noise::Laplace { scale }) => format!("laplace({scale:.6})"),
        Some(Noise::Uniform { low, high }) => format!("uniform({low}, {high})"),
    };
    format!(
        "{:<16} {:<9} {:+.6} {}{terms}  noise {noise}",
        node.name,
        kind,
        node.intercept,
        coef.join(" ")
    )
}

/// Runs `ceteris fit`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    let kind: FitKind = a.kind.parse()?;
    match a.backend.as_str() {
        "auto" | "cpu" => {}
        "gpu" => {
            return Err(Error::param(
                "backend",
                "fit has no GPU path (it is deterministic least squares and Newton on the CPU, \
                 f64); use --backend cpu or auto",
            ))
        }
        other => {
            return Err(Error::param(
                "backend",
                format!("unknown backend `{other}` (auto, cpu, gpu)"),
            ))
        }
    }
    if !["json", "table"].contains(&a.format.as_str()) {
        return Err(Error::param(
            "format",
            format!("unknown format `{}` (json, table)", a.format),
        ));
    }
    let graph = read_graph(&graph_text(&a.graph)?)?.parent_sets()?;
    let data = a.data.read(&graph_nodes(&graph), &[], false)?;
    let start = Instant::now();
    let model = Scm::fit(&data, &graph, kind).map_err(|e| data.at_lines(e))?;
    let seconds = start.elapsed().as_secs_f64();
    let table = a.format == "table";
    if let Some(path) = &a.out {
        write_text(path, &format!("{}\n", model.to_json()))?;
    }
    match (&a.out, table) {
        (Some(path), false) => print_json(&with_report(
            &json!({
                "out": path, "kind": a.kind, "rows": data.n_rows(),
                "nodes": model.names(), "backend": "cpu", "seconds": seconds,
            }),
            a.data.report(&data),
        )),
        (None, false) => say!("{}", model.to_json()),
        (out, true) => {
            for node in model.nodes() {
                say!("{}", table_row(node));
            }
            say!(
                "{} nodes ({}) fitted to {} rows in {seconds:.4} s on cpu{}",
                model.names().len(),
                a.kind,
                data.n_rows(),
                out.as_ref()
                    .map_or(String::new(), |p| format!(", written to {p}"))
            );
            a.data.say_report(&data);
        }
    }
    Ok(())
}
