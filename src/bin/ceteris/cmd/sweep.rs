//! `ceteris sweep`: its arguments, the settings they describe (intervention sets × shifts ×
//! `--do` grids), the run (sampled, or closed form with `--exact`) and the JSON or CSV output.

use super::scm_args::{parse_grid, parse_pairs, read_model};
use crate::output::{cpu_only_backend, print_json, Progress};
use crate::plot;
use ceteris::scm::{Intervention, Scm, Sweep};
use ceteris::{Engine, Error};
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Model file (scm-json/v1).
    #[arg(long)]
    model: String,
    /// Outcome node.
    #[arg(long)]
    outcome: String,
    /// Further nodes to summarise at every setting, from the same samples (`NODE,NODE`): each
    /// point gets `nodes: {NODE: {mean, variance, mc_error, quantiles}}`.
    #[arg(long, value_delimiter = ',')]
    nodes: Vec<String>,
    /// `NODE=lo:hi:count` (inclusive linspace) or `NODE=v1,v2,..`; several make a cartesian grid.
    #[arg(long = "do")]
    dos: Vec<String>,
    /// `NODE=delta`, applied in every setting.
    #[arg(long = "shift")]
    shifts: Vec<String>,
    /// JSON file with a list of intervention sets (spec section 2), evaluated in file order;
    /// --shift and --do apply on top of each set.
    #[arg(long)]
    interventions: Option<String>,
    /// Samples per setting (not with --exact, which samples nothing).
    #[arg(long, default_value_t = 100_000, conflicts_with = "exact")]
    samples: u64,
    /// Quantiles of the outcome, comma separated.
    #[arg(long, value_delimiter = ',')]
    quantiles: Vec<f64>,
    /// Seed of the noise draws (not with --exact).
    #[arg(long, default_value_t = 0, conflicts_with = "exact")]
    seed: u64,
    /// Same noise draws in every setting: on by default (smooth dose-response curves, precise
    /// differences between points, and each draw shared by all settings, so faster);
    /// `--common-random-numbers false` gives every setting its own draws (independent points).
    /// Not with --exact.
    #[arg(long, conflicts_with = "exact", default_value_t = true, num_args = 0..=1,
          default_missing_value = "true", action = clap::ArgAction::Set, value_name = "BOOL")]
    common_random_numbers: bool,
    /// Closed-form means and variances (linear models) instead of sampling.
    #[arg(long)]
    exact: bool,
    /// auto, cpu or gpu (--exact is closed form on the CPU: auto or cpu).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json, csv or table.
    #[arg(long, default_value = "json")]
    format: String,
    /// Draw the dose-response curve(s) of the mean with quantile bands (SVG).
    #[arg(long)]
    plot: Option<String>,
}

/// Runs `ceteris sweep`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    if !matches!(a.format.as_str(), "json" | "csv" | "table") {
        return Err(Error::param(
            "format",
            format!("unknown format `{}` (json, csv, table)", a.format),
        ));
    }
    if a.exact {
        cpu_only_backend(&a.backend, "sweep --exact")?;
    }
    let model = read_model(&a.model)?;
    let settings = settings(&a)?;
    let start = Instant::now();
    let out = if a.exact {
        let points = exact_points(&a, &model, &settings)?;
        json!({"outcome": a.outcome, "samples": 0, "backend": "exact (closed form)",
               "seconds": start.elapsed().as_secs_f64(), "points": points})
    } else {
        let progress = Progress::new("samples");
        let tick = |done: u64, total: u64| progress.tick(done, total);
        let engine = Engine::from_name(&a.backend)?;
        let nodes: Vec<&str> = a.nodes.iter().map(String::as_str).collect();
        let r = Sweep::new(&a.outcome, settings)
            .nodes(&nodes)
            .samples(a.samples)
            .quantiles(&a.quantiles)
            .seed(a.seed)
            .common_random_numbers(a.common_random_numbers)
            .run_with_progress(&engine, &model, Some(&tick))?;
        progress.finish();
        serde_json::to_value(&r).expect("serialisable")
    };
    if let Some(path) = &a.plot {
        plot::sweep(&out, path)?;
    }
    match a.format.as_str() {
        "json" => print_json(&out),
        "csv" => print_csv(&out, &a.nodes, false),
        _ => print_csv(&out, &a.nodes, true),
    }
    Ok(())
}

/// The settings of the sweep: the sets of `--interventions` (or one empty set), each with the
/// `--shift`s, then the cartesian product with the `--do` grids.
fn settings(a: &Args) -> Result<Vec<Vec<Intervention>>, Error> {
    let shifts: Vec<Intervention> = parse_pairs(&a.shifts, "shift")?
        .into_iter()
        .map(|(n, d)| Intervention::shift(&n, d))
        .collect();
    let base = match &a.interventions {
        Some(path) => {
            Intervention::sets_from_json(&std::fs::read_to_string(path).map_err(|source| {
                Error::Io {
                    path: path.clone(),
                    source,
                }
            })?)?
        }
        None => vec![Vec::new()],
    };
    let mut settings: Vec<Vec<Intervention>> = base
        .into_iter()
        .map(|mut set| {
            set.extend(shifts.iter().cloned());
            set
        })
        .collect();
    for spec in &a.dos {
        let (node, values) = parse_grid(spec)?;
        let mut next = Vec::with_capacity(settings.len() * values.len());
        for s in &settings {
            for &v in &values {
                let mut s2 = s.clone();
                s2.push(Intervention::atomic(&node, v));
                next.push(s2);
            }
        }
        settings = next;
    }
    Ok(settings)
}

/// The points of `--exact`: closed-form mean, variance and quantiles of the outcome (and of
/// `--nodes`) in each setting, with the setting's interventions and shifts.
fn exact_points(
    a: &Args,
    model: &Scm,
    settings: &[Vec<Intervention>],
) -> Result<Vec<serde_json::Value>, Error> {
    settings
        .iter()
        .enumerate()
        .map(|(s, set)| {
            let e = model.exact(set, &a.outcome).map_err(|e| match e {
                Error::InvalidParameter { name, reason } => Error::InvalidParameter {
                    name,
                    reason: format!("setting {s}: {reason}"),
                },
                other => other,
            })?;
            let mut qs = serde_json::Map::new();
            for &q in &a.quantiles {
                let v = e.quantile(q).ok_or_else(|| {
                    Error::param(
                        "quantiles",
                        "exact quantiles need normal noise on every path to the outcome",
                    )
                })?;
                qs.insert(q.to_string(), json!(v));
            }
            let mut p = serde_json::json!({"mean": e.mean, "variance": e.variance, "mc_error": 0.0, "quantiles": qs});
            if !a.nodes.is_empty() {
                let mut nodes = serde_json::Map::new();
                for name in &a.nodes {
                    let e = model.exact(set, name)?;
                    let mut qs = serde_json::Map::new();
                    for &q in &a.quantiles {
                        let v = e.quantile(q).ok_or_else(|| {
                            Error::param(
                                "quantiles",
                                "exact quantiles need normal noise on every path to the node",
                            )
                        })?;
                        qs.insert(q.to_string(), json!(v));
                    }
                    nodes.insert(
                        name.clone(),
                        json!({"mean": e.mean, "variance": e.variance, "mc_error": 0.0, "quantiles": qs}),
                    );
                }
                p["nodes"] = nodes.into();
            }
            let (mut iv, mut sh) = (serde_json::Map::new(), serde_json::Map::new());
            for i in set {
                match i {
                    Intervention::Atomic { node, value } => {
                        iv.insert(node.clone(), json!(value));
                    }
                    Intervention::Shift { node, delta } => {
                        sh.insert(node.clone(), json!(delta));
                    }
                }
            }
            p["interventions"] = iv.into();
            p["shifts"] = sh.into();
            Ok(p)
        })
        .collect()
}

/// The points as CSV (or, `table`, as right-aligned columns): one column per node intervened on
/// in any point (empty where a point leaves it alone), then `shift_NODE` per shifted node, the
/// outcome's summaries and those of `nodes`.
fn print_csv(out: &serde_json::Value, nodes: &[String], table: bool) {
    let line = |cells: Vec<String>| {
        if table {
            cells
                .iter()
                .map(|c| format!("{c:>14}"))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            cells.join(",")
        }
    };
    let points = out["points"].as_array().cloned().unwrap_or_default();
    let keys = |field: &str| {
        points
            .iter()
            .flat_map(|p| p[field].as_object().into_iter().flat_map(|m| m.keys()))
            .cloned()
            .collect::<std::collections::BTreeSet<String>>()
    };
    let cols: Vec<String> = keys("interventions").into_iter().collect();
    let shift_cols: Vec<String> = keys("shifts").into_iter().collect();
    let qs: Vec<String> = points
        .first()
        .and_then(|p| {
            p["quantiles"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
        })
        .unwrap_or_default();
    say!(
        "{}",
        line(
            cols.iter()
                .cloned()
                .chain(shift_cols.iter().map(|c| format!("shift_{c}")))
                .chain(["mean".into(), "variance".into(), "mc_error".into()])
                .chain(qs.iter().map(|q| format!("q{q}")))
                .chain(nodes.iter().flat_map(|n| {
                    ["mean", "variance", "mc_error"]
                        .iter()
                        .map(move |k| format!("{n}_{k}"))
                        .chain(qs.iter().map(move |q| format!("{n}_q{q}")))
                }))
                .collect::<Vec<_>>()
        )
    );
    for p in &points {
        let cell = |v: &serde_json::Value| match v {
            serde_json::Value::Null => String::new(),
            v => v.to_string(),
        };
        let mut row: Vec<String> = cols
            .iter()
            .map(|c| cell(&p["interventions"][c]))
            .chain(shift_cols.iter().map(|c| cell(&p["shifts"][c])))
            .collect();
        for k in ["mean", "variance", "mc_error"] {
            row.push(p[k].to_string());
        }
        for q in &qs {
            row.push(p["quantiles"][q].to_string());
        }
        for n in nodes {
            let v = &p["nodes"][n];
            for k in ["mean", "variance", "mc_error"] {
                row.push(v[k].to_string());
            }
            for q in &qs {
                row.push(v["quantiles"][q].to_string());
            }
        }
        say!("{}", line(row));
    }
}
