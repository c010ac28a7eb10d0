//! `ceteris bootstrap`: its arguments, the run, and the table of a bootstrap result.

use super::data_args::{check_treatment, with_report, DataArgs};
use super::resample_args::{parse_methods, SchemeArgs};
use crate::output::{print_json, Progress};
use crate::{plot, Format};
use ceteris::bootstrap::BootstrapOptions;
use ceteris::{BootstrapResult, Dataset, Engine, Error, Roles};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// mean var std median quantile:Q weighted-mean diff-means ratio-means corr ols:NAME ipw hajek aipw
    /// aipw-att (--propensity --mu0), att (with --covariates)
    #[arg(long, default_value = "mean")]
    statistic: String,
    /// Column of one-column statistics.
    #[arg(long)]
    column: Option<String>,
    /// Two columns (corr, ratio-means), comma separated.
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    #[arg(long)]
    weights: Option<String>,
    #[arg(long)]
    treatment: Option<String>,
    #[arg(long)]
    outcome: Option<String>,
    #[arg(long)]
    propensity: Option<String>,
    #[arg(long)]
    mu0: Option<String>,
    #[arg(long)]
    mu1: Option<String>,
    /// Clip the propensity to [A, 1 − A] in the estimate and every resample (ipw, hajek, aipw,
    /// aipw-att;
    /// 0 < A < 0.5).
    #[arg(long)]
    clip: Option<f64>,
    /// Drop the units whose refit propensity lies outside [A, 1 − A] and refit, in the estimate
    /// and every resample (ipw, hajek, aipw, att, aipw-att with --covariates; 0 < A < 0.5).
    #[arg(long)]
    trim: Option<f64>,
    /// An L2 penalty on the refit propensity's slopes, `l2:LAMBDA` (ipw, hajek, aipw, att,
    /// aipw-att with --covariates).
    #[arg(long)]
    penalty: Option<String>,
    /// Cross-fit the refit nuisance models over K folds (aipw, aipw-att with --covariates;
    /// K ≥ 2): each
    /// unit's propensity and outcome predictions come from models fit on the other folds, in the
    /// estimate and every resample.
    #[arg(long)]
    crossfit: Option<u32>,
    /// Covariates of ols, comma separated.
    #[arg(long, value_delimiter = ',')]
    covariates: Vec<String>,
    #[arg(long, default_value_t = 9999)]
    resamples: u64,
    #[arg(long, default_value_t = 0.95)]
    level: f64,
    /// Interval methods, comma separated: percentile,basic,normal,bca,studentized.
    #[arg(long, value_delimiter = ',', default_value = "percentile,bca")]
    method: Vec<String>,
    #[command(flatten)]
    resampling: SchemeArgs,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: String,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Draw the replicate histogram with the intervals marked (SVG).
    #[arg(long)]
    plot: Option<String>,
    /// Include the replicates in the JSON output.
    #[arg(long)]
    keep_replicates: bool,
}

/// Runs `ceteris bootstrap`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    let data = read(&a)?;
    run_on(&a, &data).map_err(|e| data.at_lines(e))
}

/// Reads the columns the statistic and the scheme use; cluster, strata and the treatment are
/// labels (any text, factorised).
fn read(a: &Args) -> Result<Dataset, Error> {
    let mut used: Vec<String> = a.column.iter().cloned().collect();
    used.extend(a.columns.iter().cloned());
    used.extend(a.covariates.iter().cloned());
    let roles = [
        &a.weights,
        &a.treatment,
        &a.outcome,
        &a.propensity,
        &a.mu0,
        &a.mu1,
    ];
    used.extend(roles.into_iter().flatten().cloned());
    let labels: Vec<String> = [&a.treatment, &a.resampling.strata, &a.resampling.cluster]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    used.extend(labels.iter().cloned());
    let data = a.data.read(&used, &labels, false)?;
    if let Some(t) = &a.treatment {
        check_treatment(&data, t)?;
    }
    Ok(data)
}

fn run_on(a: &Args, data: &Dataset) -> Result<(), Error> {
    let roles = Roles {
        weights: a.weights.clone(),
        treatment: a.treatment.clone(),
        outcome: a.outcome.clone(),
        propensity: a.propensity.clone(),
        mu0: a.mu0.clone(),
        mu1: a.mu1.clone(),
        covariates: a.covariates.clone(),
    };
    if a.column.is_some() && !a.columns.is_empty() {
        return Err(Error::param(
            "columns",
            "give --column (one-column statistics) or --columns (corr, ratio-means), not both: \
             one would be ignored",
        ));
    }
    if a.keep_replicates && a.format == Format::Table {
        return Err(Error::param(
            "keep-replicates",
            "--keep-replicates adds the replicates to the JSON output; --format table would \
             ignore it",
        ));
    }
    let columns: Vec<String> = match (&a.column, a.columns.is_empty()) {
        (Some(c), _) => vec![c.clone()],
        (None, false) => a.columns.clone(),
        (None, true) => Vec::new(),
    };
    let penalty = match &a.penalty {
        None => None,
        Some(p) => Some(
            p.strip_prefix("l2:")
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| {
                    Error::param("penalty", format!("`{p}` is not of the form l2:LAMBDA"))
                })?,
        ),
    };
    // the refit and option rules are the library's (shared with the Python binding)
    let options = BootstrapOptions {
        columns,
        roles,
        clip: a.clip,
        trim: a.trim,
        penalty,
        crossfit: a.crossfit,
        scheme: a.resampling.scheme()?,
        resamples: a.resamples,
        seed: a.seed,
        level: a.level,
        methods: parse_methods(&a.method)?,
        keep_replicates: a.keep_replicates || a.plot.is_some(),
        ..BootstrapOptions::new(&a.statistic)
    };
    let run = options.build_spelled(&|f| format!("--{f}"))?;
    let engine = Engine::from_name(&a.backend)?;
    let progress = Progress::new("resamples");
    let tick = |done: u64, total: u64| progress.tick(done, total);
    let result = run.run_with_progress(&engine, data, Some(&tick))?;
    progress.finish();
    finish(a, data, result)
}

/// Plots, drops the replicates unless asked to keep them, and prints the result.
fn finish(a: &Args, data: &Dataset, mut result: BootstrapResult) -> Result<(), Error> {
    if let Some(path) = &a.plot {
        plot::bootstrap(&result, path)?;
    }
    if !a.keep_replicates {
        result.replicates = None;
    }
    match a.format {
        Format::Json => print_json(&with_report(&result, a.data.report(data))),
        Format::Table => {
            print_table(&result);
            a.data.say_report(data);
        }
    }
    Ok(())
}

/// The result as `--format table` prints it.
fn print_table(r: &BootstrapResult) {
    say!("statistic   {}", r.statistic);
    say!("estimate    {:.6}", r.estimate);
    say!("std_error   {:.6}", r.std_error);
    say!("bias        {:.6}", r.bias);
    say!(
        "resamples   {} ({} valid), scheme {}, level {}",
        r.resamples,
        r.valid_resamples,
        r.scheme,
        r.level
    );
    say!("backend     {}", r.backend);
    if let Some(f) = &r.fallback {
        say!("fallback    {f}");
    }
    say!("seconds     {:.4}", r.seconds);
    if let Some(n) = &r.nuisance {
        say!("nuisance    {n}");
    }
    if let Some(o) = &r.overlap {
        for (arm, a) in [("treated", &o.treated), ("control", &o.control)] {
            say!(
                "overlap     {arm}: n {}, propensity [{:.4}, {:.4}], effective n {:.1}",
                a.n,
                a.min_propensity,
                a.max_propensity,
                a.effective_sample_size
            );
        }
        say!(
            "overlap     largest normalised weight {:.4}, {} outside [0.01, 0.99]",
            o.max_normalized_weight,
            o.outside_01_99
        );
    }
    say!("{:<12} {:>14} {:>14}", "interval", "low", "high");
    for (m, [lo, hi]) in &r.intervals {
        say!("{m:<12} {lo:>14.6} {hi:>14.6}");
    }
    for w in &r.warnings {
        say!("warning: {w}");
    }
}
