//! `ceteris effect`: its arguments and run, the average causal effect of one intervention set
//! against another (`NODE=value` atomic, `NODE+=delta` shift), as JSON or a table: of a model
//! file (`--model`, with the Monte-Carlo error `mc_error`), or of models fitted to a CSV file on
//! a graph: the possible effects of a CPDAG's DAGs (one for a DAG; `--data --graph`,
//! [`possible_effects`]), or a DAG's effect with a bootstrap interval (`--bootstrap B`,
//! [`EffectInterval`]).

use super::data_args::{read_path, with_report};
use super::resample_args::{parse_methods, SchemeArgs};
use super::scm_args::{graph_text, read_model};
use crate::output::{print_json, Progress};
use ceteris::scm::{
    possible_effects, read_graph, EffectInterval, EffectIntervalResult, FitKind, Graph,
    Intervention, PossibleEffects,
};
use ceteris::{Dataset, Engine, Error};
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Model file (scm-json/v1). Or fit the model with --data and --graph.
    #[arg(long, required_unless_present = "data", conflicts_with_all = ["data", "graph", "kind"])]
    model: Option<String>,
    /// CSV file to fit the model to on --graph (only the graph's columns are read), refit in
    /// every resample of --bootstrap B.
    #[arg(long, requires = "graph")]
    data: Option<String>,
    /// Field delimiter of --data: `,` (default), `;`, `|` or `tab`.
    #[arg(long, requires = "data")]
    delimiter: Option<String>,
    /// Drop the rows of --data with a missing value in a graph column (reported as
    /// `rows_dropped`); without it a missing value is an error.
    #[arg(long, requires = "data")]
    dropna: bool,
    /// The graph to fit, as `ceteris fit` takes it: edges and paths `Z->X->Y,Z->Y`, or a file
    /// (discover's JSON or DOT, or edges). A CPDAG (undirected edges) gives the possible effect
    /// of each DAG of its class (IDA); --bootstrap needs a DAG.
    #[arg(long, requires = "data")]
    graph: Option<String>,
    /// The fit: linear (default) or additive (as `ceteris fit`).
    #[arg(long, requires = "data")]
    kind: Option<String>,
    #[arg(long)]
    outcome: String,
    /// The alternative set: `NODE=value` (atomic) and `NODE+=delta` (shift), comma separated.
    #[arg(long, allow_hyphen_values = true)]
    alternative: String,
    /// The reference set, as `--alternative` (e.g. `X=0`, or `X+=0` for no shift).
    #[arg(long, allow_hyphen_values = true)]
    reference: String,
    /// Monte-Carlo samples of an effect (with --data: of each refit model that is not all
    /// linear; linear models give exact effects).
    #[arg(long, default_value_t = 100_000)]
    samples: u64,
    /// Seed of the Monte-Carlo samples (and, with --bootstrap, of the resampling).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bootstrap resamples B (with --data and --graph): refit the model and recompute the effect
    /// on B resamples of the data, for `std_error` and `intervals`.
    #[arg(long)]
    bootstrap: Option<u64>,
    #[command(flatten)]
    resampling: SchemeArgs,
    /// Confidence level of the intervals (with --bootstrap; default 0.95).
    #[arg(long)]
    level: Option<f64>,
    /// Interval methods, comma separated: percentile,basic,normal,bca (with --bootstrap; default
    /// percentile; BCa refits once per unit). `--method` (as `ceteris bootstrap`) is the same.
    #[arg(long, alias = "method", value_delimiter = ',')]
    methods: Vec<String>,
    /// Include the replicates in the JSON output (with --bootstrap).
    #[arg(long)]
    keep_replicates: bool,
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json or table.
    #[arg(long, default_value = "json")]
    format: String,
}

/// Runs `ceteris effect`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    if !["json", "table"].contains(&a.format.as_str()) {
        return Err(Error::param(
            "format",
            format!("unknown format `{}` (json, table)", a.format),
        ));
    }
    if a.bootstrap.is_none() {
        let bootstrap_only = [
            ("level", a.level.is_some()),
            ("methods", !a.methods.is_empty()),
            ("keep-replicates", a.keep_replicates),
        ];
        let flag = a
            .resampling
            .given()
            .or_else(|| bootstrap_only.iter().find(|f| f.1).map(|f| f.0));
        if let Some(flag) = flag {
            return Err(Error::param(
                flag,
                format!(
                    "--{flag} applies to the bootstrap interval: it needs --data, --graph and \
                     --bootstrap B (it would be ignored)"
                ),
            ));
        }
    }
    let (alternative, reference) = (
        Intervention::parse_list(&a.alternative, "alternative")?,
        Intervention::parse_list(&a.reference, "reference")?,
    );
    let engine =
        if a.model.is_some() {
            Engine::from_name(&a.backend)?
        } else {
            // fitting, exact effects and the refits run on the CPU (f64): auto means cpu here
            match a.backend.as_str() {
                "auto" | "cpu" => Engine::cpu(),
                "gpu" => return Err(Error::param(
                    "backend",
                    "--data fits models on the CPU (f64) and has no GPU path: use --backend cpu \
                     or auto (a model file's Monte-Carlo effect, --model, runs on the GPU)",
                )),
                other => Engine::from_name(other)?,
            }
        };
    match (&a.model, a.bootstrap) {
        (Some(_), Some(_)) => Err(Error::param(
            "bootstrap",
            "--bootstrap refits the model on resampled data and a model file has nothing to \
             refit: pass the data and the graph (--data F.csv --graph \"Z->X->Y,Z->Y\") instead \
             of --model",
        )),
        (Some(path), None) => model_effect(&a, path, &engine, &alternative, &reference),
        (None, b) => {
            let (Some(path), Some(graph)) = (&a.data, &a.graph) else {
                unreachable!("clap requires --data with --graph and one of --model and --data")
            };
            let graph = read_graph(&graph_text(graph)?)?;
            // the graph's columns, and the scheme's cluster or strata (labels: any text)
            let labels: Vec<String> = [&a.resampling.strata, &a.resampling.cluster]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let columns: Vec<String> = graph.nodes.iter().chain(&labels).cloned().collect();
            let data = read_path(
                path,
                a.delimiter.as_deref().unwrap_or(","),
                a.dropna,
                &columns,
                &labels,
                false,
            )?;
            let run = match b {
                Some(b) => interval(&a, b, &engine, &data, &graph, &alternative, &reference),
                None => possible(&a, &data, &graph, &alternative, &reference),
            };
            run.map_err(|e| data.at_lines(e))
        }
    }
}

/// The read's report (`rows_dropped` with --dropna) for the JSON output.
fn report(a: &Args, data: &Dataset) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    if a.dropna {
        m.insert("rows_dropped".into(), data.rows_dropped().into());
    }
    m
}

/// `--data --graph` without `--bootstrap`: the effect of the model fitted on each DAG of the
/// graph's equivalence class (one for a DAG).
fn possible(
    a: &Args,
    data: &Dataset,
    graph: &Graph,
    alternative: &[Intervention],
    reference: &[Intervention],
) -> Result<(), Error> {
    let kind: FitKind = a.kind.as_deref().unwrap_or("linear").parse()?;
    let r = possible_effects(
        data,
        graph,
        kind,
        &a.outcome,
        alternative,
        reference,
        a.samples,
        a.seed,
    )?;
    if a.format == "table" {
        print_possible(&r);
        if a.dropna {
            say!("rows_dropped {}", data.rows_dropped());
        }
    } else {
        print_json(&with_report(&r, report(a, data)));
    }
    Ok(())
}

/// Possible effects as `--format table` prints them.
fn print_possible(r: &PossibleEffects) {
    say!("outcome      {}", r.outcome);
    say!("alternative  {}", r.alternative);
    say!("reference    {}", r.reference);
    say!("kind         {}", r.kind);
    say!("dags         {}", r.dags);
    if r.dags == 1 {
        say!("effect       {:.6}", r.effects[0]);
    } else {
        let set: Vec<String> = r
            .distinct_effects
            .iter()
            .map(|v| format!("{v:.6}"))
            .collect();
        say!(
            "effects      {{{}}} (one per DAG of the class, IDA)",
            set.join(", ")
        );
    }
    if r.exact {
        say!("mc_error     0 (exact effects)");
    } else {
        say!("mc_error     {:.6} ({} samples)", r.mc_error, r.samples);
    }
    say!("rows         {}", r.rows);
    say!("backend      {}", r.backend);
    say!("seconds      {:.4}", r.seconds);
}

/// `--model`: the Monte-Carlo effect of the model file.
fn model_effect(
    a: &Args,
    path: &str,
    engine: &Engine,
    alternative: &[Intervention],
    reference: &[Intervention],
) -> Result<(), Error> {
    let model = read_model(path)?;
    let start = Instant::now();
    let e = model.effect(
        engine,
        alternative,
        reference,
        &a.outcome,
        a.samples,
        a.seed,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    if a.format == "table" {
        say!("outcome      {}", a.outcome);
        say!("alternative  {}", a.alternative);
        say!("reference    {}", a.reference);
        say!("ace          {}", e.ace);
        say!("mc_error     {}", e.mc_error);
        say!("samples      {}", a.samples);
        say!("backend      {}", e.backend);
        say!("seconds      {seconds:.4}");
        return Ok(());
    }
    print_json(&json!({
        "outcome": a.outcome, "ace": e.ace, "mc_error": e.mc_error, "samples": a.samples,
        "alternative": a.alternative, "reference": a.reference,
        "backend": e.backend, "seconds": seconds,
    }));
    Ok(())
}

/// `--data --graph --bootstrap B`: the effect of the fitted model with a bootstrap interval.
fn interval(
    a: &Args,
    resamples: u64,
    engine: &Engine,
    data: &Dataset,
    graph: &Graph,
    alternative: &[Intervention],
    reference: &[Intervention],
) -> Result<(), Error> {
    let graph = graph.parent_sets().map_err(|e| match e {
        Error::InvalidParameter { name, reason } if !graph.undirected.is_empty() => Error::param(
            name,
            format!(
                "{reason}; a bootstrap interval needs a DAG (without --bootstrap, effect gives \
                 the possible effect of each DAG of the class)"
            ),
        ),
        e => e,
    })?;
    let kind: FitKind = a.kind.as_deref().unwrap_or("linear").parse()?;
    let methods = if a.methods.is_empty() {
        vec![ceteris::IntervalMethod::Percentile]
    } else {
        parse_methods(&a.methods)?
    };
    let progress = Progress::new("resamples");
    let tick = |done: u64, total: u64| progress.tick(done, total);
    let mut result = EffectInterval::new(&graph, kind, &a.outcome)
        .alternative(alternative)
        .reference(reference)
        .samples(a.samples)
        .scheme(a.resampling.scheme()?)
        .resamples(resamples)
        .seed(a.seed)
        .level(a.level.unwrap_or(0.95))
        .methods(&methods)
        .keep_replicates(a.keep_replicates)
        .run_with_progress(engine, data, Some(&tick))?;
    progress.finish();
    if !a.keep_replicates {
        result.replicates = None;
    }
    if a.format == "table" {
        print_table(&result);
        if a.dropna {
            say!("rows_dropped {}", data.rows_dropped());
        }
    } else {
        print_json(&with_report(&result, report(a, data)));
    }
    Ok(())
}

/// The result of `--bootstrap` as `--format table` prints it.
fn print_table(r: &EffectIntervalResult) {
    say!("outcome      {}", r.outcome);
    say!("alternative  {}", r.alternative);
    say!("reference    {}", r.reference);
    say!("kind         {}", r.kind);
    say!("estimate     {:.6}", r.estimate);
    say!("std_error    {:.6}", r.std_error);
    say!("bias         {:.6}", r.bias);
    if r.exact {
        say!("mc_error     0 (exact effects)");
    } else {
        say!("mc_error     {:.6} ({} samples)", r.mc_error, r.samples);
    }
    say!(
        "resamples    {} ({} valid, {} failed refits), scheme {}, level {}",
        r.resamples,
        r.valid_resamples,
        r.failed_resamples,
        r.scheme,
        r.level
    );
    say!("backend      {}", r.backend);
    say!("seconds      {:.4}", r.seconds);
    say!("{:<12} {:>14} {:>14}", "interval", "low", "high");
    for (m, [lo, hi]) in &r.intervals {
        say!("{m:<12} {lo:>14.6} {hi:>14.6}");
    }
    for w in &r.warnings {
        say!("warning: {w}");
    }
}
