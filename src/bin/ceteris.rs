//! The `ceteris` command line: CSV in, JSON or a table out.

use ceteris::{
    Bootstrap, BootstrapResult, Dataset, Engine, Error, IntervalMethod, Roles, Scheme, Statistic,
};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `println!` that ignores a closed stdout (e.g. piped into `head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "ceteris",
    version,
    about = "Fast causal-inference loops on the GPU or the CPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Json,
    Table,
}

#[derive(Subcommand)]
enum Command {
    /// Bootstrap a statistic: estimate, standard error, bias and confidence intervals.
    Bootstrap(Box<BootArgs>),
    /// Kernel independence test (HSIC, KCI): X ⫫ Y, or X ⫫ Y | Z.
    Independence(Box<IndepArgs>),
    /// Intervention sweep on a structural causal model (scm-json/v1).
    Sweep(Box<SweepArgs>),
    /// Average causal effect between two intervention sets.
    Effect(Box<EffectArgs>),
    /// Causal discovery: PC-stable, or CD-NOD with --domain, on batched CI tests.
    Discover(Box<DiscoverArgs>),
    /// Counterfactual values of every node for one observed unit (additive-noise models).
    Counterfactual(Box<CounterfactualArgs>),
    /// Fit a linear or additive model (scm-json/v1) from a CSV file and a graph.
    Fit(Box<FitArgs>),
    /// Draw samples from a model (observational, or under interventions) as CSV.
    Sample(Box<SampleArgs>),
    /// Run every capability at standard sizes on built-in synthetic data, on every backend.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct SweepArgs {
    /// Model file (scm-json/v1).
    #[arg(long)]
    model: String,
    /// Outcome node.
    #[arg(long)]
    outcome: String,
    /// Further nodes to summarise at every setting, from the same samples (`NODE,NODE`): each
    /// point gets `nodes: {NODE: {mean, variance, std_error, quantiles}}`.
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
    #[arg(long, default_value_t = 100_000)]
    samples: u64,
    /// Quantiles of the outcome, comma separated.
    #[arg(long, value_delimiter = ',')]
    quantiles: Vec<f64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Same noise draws in every setting (lower-variance contrasts).
    #[arg(long)]
    common_random_numbers: bool,
    /// Closed-form means and variances (linear models) instead of sampling.
    #[arg(long)]
    exact: bool,
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json or csv.
    #[arg(long, default_value = "json")]
    format: String,
    /// Draw the dose-response curve(s) of the mean with quantile bands (SVG).
    #[arg(long)]
    plot: Option<String>,
}

#[derive(clap::Args)]
struct CounterfactualArgs {
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

#[derive(clap::Args)]
struct SampleArgs {
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
}

#[derive(clap::Args)]
struct FitArgs {
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

#[derive(clap::Args)]
struct EffectArgs {
    #[arg(long)]
    model: String,
    #[arg(long)]
    outcome: String,
    /// The alternative set: `NODE=value` (atomic) and `NODE+=delta` (shift), comma separated.
    #[arg(long, allow_hyphen_values = true)]
    alternative: String,
    /// The reference set, as `--alternative` (e.g. `X=0`, or `X+=0` for no shift).
    #[arg(long, allow_hyphen_values = true)]
    reference: String,
    #[arg(long, default_value_t = 100_000)]
    samples: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json or table.
    #[arg(long, default_value = "json")]
    format: String,
}

/// Options of a conditional-independence test, shared by `independence` and `discover`.
#[derive(clap::Args)]
struct TestOpts {
    /// hsic, hsic-u (hyppo's Hsic), kci, rcot, rcit or fisherz.
    #[arg(long, default_value = "kci")]
    test: String,
    /// hsic/kci: gamma (default), permutation or spectral; rcot/rcit: lpb4 (default), hbe,
    /// gamma or chi2.
    #[arg(long, default_value = "default")]
    null: String,
    #[arg(long, default_value_t = 1000)]
    permutations: u32,
    /// Monte-Carlo draws of the spectral null.
    #[arg(long, default_value_t = 1000)]
    samples: u32,
    /// Test-wise deletion: per test, drop rows where any conditioning column equals this value
    /// (e.g. 0).
    #[arg(long)]
    testwise_deletion: Option<f64>,
    /// Low-rank tolerance of the kernel factors (relative residual trace; 0 = exact).
    #[arg(long, default_value_t = 1e-9)]
    tolerance: f64,
    /// empirical, median or a fixed bandwidth (a number).
    #[arg(long, default_value = "empirical")]
    width: String,
    /// rbf (Gaussian), laplace, linear or polynomial[:DEGREE] (default degree 2).
    #[arg(long, default_value = "rbf")]
    kernel: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args)]
struct DiscoverArgs {
    /// CSV file with a header row.
    #[arg(long)]
    data: String,
    /// Columns to use, comma separated (default: all but --domain).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    #[command(flatten)]
    t: TestOpts,
    /// Significance level of the tests.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Largest conditioning-set size.
    #[arg(long)]
    max_depth: Option<usize>,
    /// CD-NOD: column holding the domain or time index.
    #[arg(long)]
    domain: Option<String>,
    /// Forbidden edges, e.g. `a->b,c->d`.
    #[arg(long, value_delimiter = ',')]
    forbid: Vec<String>,
    /// Required edges, e.g. `a->b`.
    #[arg(long, value_delimiter = ',')]
    require: Vec<String>,
    /// Tiers, earliest first: `a,b;c;d` (no edge from a later tier into an earlier one).
    #[arg(long)]
    tiers: Option<String>,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json, dot or table.
    #[arg(long, default_value = "json")]
    format: String,
}

#[derive(clap::Args)]
struct IndepArgs {
    /// CSV file with a header row.
    #[arg(long)]
    data: String,
    /// X columns, comma separated.
    #[arg(long, value_delimiter = ',')]
    x: Vec<String>,
    /// Y columns, comma separated.
    #[arg(long, value_delimiter = ',')]
    y: Vec<String>,
    /// Conditioning columns, comma separated.
    #[arg(long, value_delimiter = ',')]
    z: Vec<String>,
    #[command(flatten)]
    t: TestOpts,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: String,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Test every pair of the columns not in --z (given --z when set), one row per pair.
    #[arg(long)]
    all_pairs: bool,
}

#[derive(clap::Args)]
struct BootArgs {
    /// CSV file with a header row.
    #[arg(long)]
    data: String,
    /// mean var std median quantile:Q weighted-mean diff-means ratio-means corr ols:NAME ipw hajek aipw
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
    /// iid stratified cluster bayesian poisson moving-block circular-block stationary
    #[arg(long, default_value = "iid")]
    scheme: String,
    #[arg(long)]
    strata: Option<String>,
    #[arg(long)]
    cluster: Option<String>,
    /// Block length (moving/circular) or mean block length (stationary).
    #[arg(long)]
    block_length: Option<f64>,
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

#[derive(clap::Args)]
struct BenchArgs {
    /// Smaller sizes (seconds instead of minutes).
    #[arg(long)]
    quick: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Backends to run: all (the CPU and the GPU engine, when an adapter is found), cpu or gpu.
    #[arg(long, default_value = "all")]
    backend: String,
    /// Capabilities to run: all, bootstrap, independence, scm, scm-large (1000 × 100 000 sweep,
    /// also in a full `all` run), discovery, or gpu-targets (the issues' GPU targets, GPU engines
    /// only, not part of `all`).
    #[arg(long, default_value = "all")]
    only: String,
    /// Write the SCM case's model (scm-json/v1) to this file, for the rival benchmarks.
    #[arg(long)]
    save_model: Option<String>,
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bootstrap(a) => bootstrap(*a),
        Command::Independence(a) => independence(*a),
        Command::Sweep(a) => sweep(*a),
        Command::Effect(a) => effect(*a),
        Command::Discover(a) => discover(*a),
        Command::Counterfactual(a) => counterfactual(*a),
        Command::Fit(a) => fit(*a),
        Command::Sample(a) => sample(*a),
        Command::Bench(a) => bench(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// A progress bar that appears on a terminal once a run has lasted a second.
fn progress_bar(unit: &str) -> (ProgressBar, Instant) {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit} ({{eta}} left) {{msg}}"
        ))
        .expect("valid template"),
    );
    (bar, Instant::now())
}

fn bootstrap(a: BootArgs) -> Result<(), Error> {
    let data = Dataset::from_csv(&a.data)?;
    let roles = Roles {
        weights: a.weights.clone(),
        treatment: a.treatment.clone(),
        outcome: a.outcome.clone(),
        propensity: a.propensity.clone(),
        mu0: a.mu0.clone(),
        mu1: a.mu1.clone(),
        covariates: a.covariates.clone(),
    };
    let columns: Vec<String> = match (&a.column, a.columns.is_empty()) {
        (Some(c), _) => vec![c.clone()],
        (None, false) => a.columns.clone(),
        (None, true) => Vec::new(),
    };
    let statistic = Statistic::parse(&a.statistic, &columns, &roles)?;
    let scheme = Scheme::parse(
        &a.scheme,
        a.strata.as_deref(),
        a.cluster.as_deref(),
        a.block_length,
    )?;
    let methods = a
        .method
        .iter()
        .map(|m| m.parse())
        .collect::<Result<Vec<IntervalMethod>, _>>()?;
    let engine = Engine::from_name(&a.backend)?;
    let boot = Bootstrap::new(statistic)
        .scheme(scheme)
        .resamples(a.resamples)
        .seed(a.seed)
        .level(a.level)
        .methods(&methods)
        .keep_replicates(a.keep_replicates || a.plot.is_some());
    let (bar, started) = progress_bar("resamples");
    let tick = |done: u64, total: u64| {
        if bar.is_hidden() && started.elapsed() > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_length(total);
        bar.set_position(done);
    };
    let mut result = boot.run_with_progress(&engine, &data, Some(&tick))?;
    bar.finish_and_clear();
    if let Some(path) = &a.plot {
        plot(&result, path)?;
    }
    if !a.keep_replicates {
        result.replicates = None;
    }
    match a.format {
        Format::Json => say!(
            "{}",
            serde_json::to_string_pretty(&result).expect("serialisable")
        ),
        Format::Table => print_table(&result),
    }
    Ok(())
}

fn discover(a: DiscoverArgs) -> Result<(), Error> {
    use ceteris::discovery::{EdgeKind, Knowledge, Pc};
    let data = Dataset::from_csv(&a.data)?;
    let test = build_test(&a.t)?;
    let edge = |spec: &str, what: &str| -> Result<(String, String), Error> {
        spec.split_once("->")
            .map(|(f, t)| (f.trim().to_string(), t.trim().to_string()))
            .filter(|(f, t)| !f.is_empty() && !t.is_empty())
            .ok_or_else(|| Error::param(what, format!("`{spec}` is not an edge FROM->TO")))
    };
    let mut k = Knowledge::new();
    for e in &a.forbid {
        let (f, t) = edge(e, "forbid")?;
        k = k.forbid(&f, &t);
    }
    for e in &a.require {
        let (f, t) = edge(e, "require")?;
        k = k.require(&f, &t);
    }
    if let Some(spec) = &a.tiers {
        let tiers: Vec<Vec<&str>> = spec
            .split(';')
            .map(|t| {
                t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .collect();
        if tiers.iter().any(Vec::is_empty) {
            return Err(Error::param("tiers", format!("`{spec}` has an empty tier")));
        }
        let refs: Vec<&[&str]> = tiers.iter().map(Vec::as_slice).collect();
        k = k.tiers(&refs);
    }
    let format = a.format.as_str();
    if !matches!(format, "json" | "dot" | "table") {
        return Err(Error::param(
            "format",
            format!("unknown format `{format}` (json, dot, table)"),
        ));
    }
    let engine = Engine::from_name(&a.backend)?;
    let pc = Pc::new(test)
        .alpha(a.alpha)
        .max_depth(a.max_depth)
        .knowledge(k)
        .domain(a.domain.as_deref());
    let cols: Vec<&str> = a.columns.iter().map(String::as_str).collect();
    let (bar, started) = progress_bar("tests");
    let tick = |level: usize, done: u64, total: u64| {
        if bar.is_hidden() && started.elapsed() > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_message(format!("level {level}"));
        bar.set_length(total);
        bar.set_position(done);
    };
    let r = pc.run_with_progress(&engine, &data, &cols, Some(&tick))?;
    bar.finish_and_clear();
    match format {
        "dot" => say!("{}", r.to_dot().trim_end()),
        "table" => {
            for e in &r.edges {
                let arrow = match e.kind {
                    EdgeKind::Directed => "-->",
                    EdgeKind::Undirected => "---",
                    EdgeKind::Bidirected => "<->",
                };
                say!("{} {arrow} {}", e.from, e.to);
            }
            say!(
                "{} tests in {} levels, {:.3} s on {}",
                r.tests_run,
                r.levels.len(),
                r.seconds,
                r.backend
            );
            for b in &r.borderline {
                say!(
                    "borderline: {} _||_ {} | {} (p = {:.6}, alpha = {})",
                    b.x,
                    b.y,
                    b.z.join(","),
                    b.p_value,
                    r.alpha
                );
            }
        }
        _ => say!(
            "{}",
            serde_json::to_string_pretty(&r).expect("serialisable")
        ),
    }
    Ok(())
}

/// The test the options describe.
fn build_test(a: &TestOpts) -> Result<ceteris::independence::IndependenceTest, Error> {
    use ceteris::independence::{Approx, IndependenceTest, Kernel, Null, Width};
    let kernel = match a.kernel.split_once(':') {
        None if a.kernel == "rbf" || a.kernel == "gaussian" => Kernel::Gaussian,
        None if a.kernel == "laplace" => Kernel::Laplace,
        None if a.kernel == "linear" => Kernel::Linear,
        None if a.kernel == "polynomial" => Kernel::Polynomial(2),
        Some(("polynomial", d)) => Kernel::Polynomial(
            d.parse()
                .map_err(|_| Error::param("kernel", format!("`{d}` is not a polynomial degree")))?,
        ),
        _ => {
            return Err(Error::param(
                "kernel",
                format!(
                    "unknown kernel `{}` (rbf, laplace, linear, polynomial[:DEGREE])",
                    a.kernel
                ),
            ))
        }
    };
    let width = match a.width.as_str() {
        "empirical" => Width::Empirical,
        "median" => Width::Median,
        v => Width::Fixed(v.parse().map_err(|_| {
            Error::param(
                "width",
                format!("`{v}` is not empirical, median or a number"),
            )
        })?),
    };
    // zero draws is an error whichever null is asked for (not silently ignored)
    if a.permutations == 0 {
        return Err(Error::param("permutations", "must be at least 1"));
    }
    if a.samples == 0 {
        return Err(Error::param("samples", "must be at least 1"));
    }
    let rff = a.test == "rcot" || a.test == "rcit";
    let (null, approx) = match (a.null.as_str(), rff) {
        ("default" | "gamma", false) => (Null::Gamma, Approx::Lpb4),
        ("permutation", false) => (Null::Permutation(a.permutations), Approx::Lpb4),
        ("spectral", false) => (Null::Spectral(a.samples), Approx::Lpb4),
        ("default" | "lpb4", true) => (Null::Gamma, Approx::Lpb4),
        ("hbe", true) => (Null::Gamma, Approx::Hbe),
        ("gamma", true) => (Null::Gamma, Approx::Gamma),
        ("chi2", true) => (Null::Gamma, Approx::Chi2),
        (other, _) => {
            return Err(Error::param(
                "null",
                format!(
                    "unknown null `{other}` for {} (hsic/kci: gamma, permutation, spectral; rcot/rcit: lpb4, hbe, gamma, chi2)",
                    a.test
                ),
            ))
        }
    };
    Ok(match a.test.as_str() {
        "kci" => IndependenceTest::kci(),
        "hsic" => IndependenceTest::hsic(),
        "rcot" => IndependenceTest::rcot(),
        "rcit" => IndependenceTest::rcit(),
        "fisherz" | "fisher-z" => IndependenceTest::fisher_z(),
        "hsic-u" => IndependenceTest::hsic_u(),
        other => {
            return Err(Error::param(
                "test",
                format!("unknown test `{other}` (hsic, hsic-u, kci, rcot, rcit, fisherz)"),
            ))
        }
    }
    .kernel(kernel)
    .width(match (a.test.as_str(), width) {
        // hsic-u's default is hyppo's median rule
        ("hsic-u", Width::Empirical) => Width::Median,
        (_, w) => w,
    })
    .null(null)
    .approx(approx)
    .testwise_deletion(a.testwise_deletion)
    .tolerance(a.tolerance)
    .seed(a.seed))
}

fn independence(a: IndepArgs) -> Result<(), Error> {
    let data = Dataset::from_csv(&a.data)?;
    let test = build_test(&a.t)?;
    let engine = Engine::from_name(&a.backend)?;
    let z: Vec<&str> = a.z.iter().map(String::as_str).collect();
    let pairs: Vec<(Vec<&str>, Vec<&str>)> = if a.all_pairs {
        let others: Vec<&str> = data
            .names()
            .iter()
            .map(String::as_str)
            .filter(|c| !z.contains(c))
            .collect();
        let mut v = Vec::new();
        for i in 0..others.len() {
            for j in i + 1..others.len() {
                v.push((vec![others[i]], vec![others[j]]));
            }
        }
        v
    } else {
        if a.x.is_empty() || a.y.is_empty() {
            return Err(Error::param("x", "give --x and --y (or --all-pairs)"));
        }
        vec![(
            a.x.iter().map(String::as_str).collect(),
            a.y.iter().map(String::as_str).collect(),
        )]
    };
    let tester = ceteris::independence::Tester::new(&engine, &data, test);
    let queries: Vec<_> = pairs
        .iter()
        .map(|(x, y)| {
            let own = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
            (own(x), own(y), own(&z))
        })
        .collect();
    let (bar, started) = progress_bar("tests");
    let tick = |done: u64, total: u64| {
        if bar.is_hidden() && started.elapsed() > Duration::from_secs(1) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        bar.set_length(total);
        bar.set_position(done);
    };
    let results = tester
        .batch_with_progress(&queries, Some(&tick))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    bar.finish_and_clear();
    match a.format {
        Format::Json if !a.all_pairs => say!(
            "{}",
            serde_json::to_string_pretty(&results[0]).expect("serialisable")
        ),
        Format::Json => say!(
            "{}",
            serde_json::to_string_pretty(&results).expect("serialisable")
        ),
        Format::Table => {
            say!(
                "{:<20} {:<20} {:<16} {:>14} {:>12}",
                "x",
                "y",
                "z",
                "statistic",
                "p_value"
            );
            for r in &results {
                say!(
                    "{:<20} {:<20} {:<16} {:>14.6} {:>12.6}",
                    r.x.join(","),
                    r.y.join(","),
                    r.z.join(","),
                    r.statistic,
                    r.p_value
                );
            }
        }
    }
    Ok(())
}

fn read_model(path: &str) -> Result<ceteris::scm::Scm, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_string(),
        source,
    })?;
    ceteris::scm::Scm::from_json(&text)
}

fn parse_num(v: &str, what: &str) -> Result<f64, Error> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| Error::param(what, format!("`{v}` is not a finite number")))
}

/// `NODE=lo:hi:count` or `NODE=v1,v2,...` into (node, values).
fn parse_grid(spec: &str) -> Result<(String, Vec<f64>), Error> {
    let (node, vals) = spec.split_once('=').ok_or_else(|| {
        Error::param(
            "do",
            format!("`{spec}` is not NODE=lo:hi:count or NODE=v1,v2"),
        )
    })?;
    let parts: Vec<&str> = vals.split(':').collect();
    let values = if parts.len() == 3 {
        let (lo, hi) = (parse_num(parts[0], "do")?, parse_num(parts[1], "do")?);
        let count: usize = parts[2]
            .parse()
            .map_err(|_| Error::param("do", format!("`{}` is not a count", parts[2])))?;
        if count == 0 {
            return Err(Error::param("do", format!("`{spec}`: the grid is empty")));
        }
        if count == 1 {
            vec![lo]
        } else {
            (0..count)
                .map(|i| lo + (hi - lo) * i as f64 / (count - 1) as f64)
                .collect()
        }
    } else if parts.len() == 1 {
        vals.split(',')
            .map(|v| parse_num(v, "do"))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        return Err(Error::param(
            "do",
            format!("`{spec}` is not NODE=lo:hi:count or NODE=v1,v2"),
        ));
    };
    Ok((node.trim().to_string(), values))
}

fn sweep(a: SweepArgs) -> Result<(), Error> {
    use ceteris::scm::{Intervention, Sweep};
    let model = read_model(&a.model)?;
    let engine = Engine::from_name(&a.backend)?;
    let shifts = a
        .shifts
        .iter()
        .map(|s| {
            let (n, v) = s
                .split_once('=')
                .ok_or_else(|| Error::param("shift", format!("`{s}` is not NODE=delta")))?;
            Ok(Intervention::shift(n.trim(), parse_num(v, "shift")?))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    // the sets of --interventions (or one empty set), each with the shifts, then the cartesian
    // product with the --do grids
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
    let start = Instant::now();
    let out = if a.exact {
        let points = settings
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
                let mut p = serde_json::json!({"mean": e.mean, "variance": e.variance, "std_error": 0.0, "quantiles": qs});
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
                            json!({"mean": e.mean, "variance": e.variance, "std_error": 0.0, "quantiles": qs}),
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
            .collect::<Result<Vec<_>, Error>>()?;
        json!({"outcome": a.outcome, "samples": 0, "backend": "exact (closed form)",
               "seconds": start.elapsed().as_secs_f64(), "points": points})
    } else {
        let (bar, started) = progress_bar("samples");
        let tick = |done: u64, total: u64| {
            if bar.is_hidden() && started.elapsed() > Duration::from_secs(1) {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
            bar.set_length(total);
            bar.set_position(done);
        };
        let nodes: Vec<&str> = a.nodes.iter().map(String::as_str).collect();
        let r = Sweep::new(&a.outcome, settings)
            .nodes(&nodes)
            .samples(a.samples)
            .quantiles(&a.quantiles)
            .seed(a.seed)
            .common_random_numbers(a.common_random_numbers)
            .run_with_progress(&engine, &model, Some(&tick))?;
        bar.finish_and_clear();
        serde_json::to_value(&r).expect("serialisable")
    };
    if let Some(path) = &a.plot {
        sweep_plot(&out, path)?;
    }
    match a.format.as_str() {
        "json" => say!(
            "{}",
            serde_json::to_string_pretty(&out).expect("serialisable")
        ),
        "csv" => {
            let points = out["points"].as_array().cloned().unwrap_or_default();
            // one column per node intervened on in any point (empty where a point leaves it
            // alone), then `shift_NODE` per shifted node
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
                cols.iter()
                    .cloned()
                    .chain(shift_cols.iter().map(|c| format!("shift_{c}")))
                    .chain(["mean".into(), "variance".into(), "std_error".into()])
                    .chain(qs.iter().map(|q| format!("q{q}")))
                    .chain(a.nodes.iter().flat_map(|n| {
                        ["mean", "variance", "std_error"]
                            .iter()
                            .map(move |k| format!("{n}_{k}"))
                            .chain(qs.iter().map(move |q| format!("{n}_q{q}")))
                    }))
                    .collect::<Vec<_>>()
                    .join(",")
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
                for k in ["mean", "variance", "std_error"] {
                    row.push(p[k].to_string());
                }
                for q in &qs {
                    row.push(p["quantiles"][q].to_string());
                }
                for n in &a.nodes {
                    let v = &p["nodes"][n];
                    for k in ["mean", "variance", "std_error"] {
                        row.push(v[k].to_string());
                    }
                    for q in &qs {
                        row.push(v["quantiles"][q].to_string());
                    }
                }
                say!("{}", row.join(","));
            }
        }
        other => {
            return Err(Error::param(
                "format",
                format!("unknown format `{other}` (json, csv)"),
            ))
        }
    }
    Ok(())
}

fn effect(a: EffectArgs) -> Result<(), Error> {
    use ceteris::scm::Intervention;
    let model = read_model(&a.model)?;
    let engine = Engine::from_name(&a.backend)?;
    if !["json", "table"].contains(&a.format.as_str()) {
        return Err(Error::param(
            "format",
            format!("unknown format `{}` (json, table)", a.format),
        ));
    }
    // `NODE=value` is atomic, `NODE+=delta` a shift
    let set = |spec: &str, what: &str| -> Result<Vec<Intervention>, Error> {
        spec.split(',')
            .map(|kv| {
                let (n, v) = kv.split_once('=').ok_or_else(|| {
                    Error::param(what, format!("`{kv}` is not NODE=value or NODE+=delta"))
                })?;
                Ok(match n.strip_suffix('+') {
                    Some(n) => Intervention::shift(n.trim(), parse_num(v, what)?),
                    None => Intervention::atomic(n.trim(), parse_num(v, what)?),
                })
            })
            .collect()
    };
    let (alternative, reference) = (
        set(&a.alternative, "alternative")?,
        set(&a.reference, "reference")?,
    );
    let start = Instant::now();
    let e = model.effect(
        &engine,
        &alternative,
        &reference,
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
        say!("std_error    {}", e.std_error);
        say!("samples      {}", a.samples);
        say!("backend      {}", e.backend);
        say!("seconds      {seconds:.4}");
        return Ok(());
    }
    say!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "outcome": a.outcome, "ace": e.ace, "std_error": e.std_error, "samples": a.samples,
            "alternative": a.alternative, "reference": a.reference,
            "backend": e.backend, "seconds": seconds,
        }))
        .expect("serialisable")
    );
    Ok(())
}

/// `NODE=value[,NODE=value]` items (each flag may hold several) into (node, value) pairs.
fn parse_pairs(items: &[String], what: &str) -> Result<Vec<(String, f64)>, Error> {
    items
        .iter()
        .flat_map(|item| item.split(','))
        .map(|kv| {
            let (n, v) = kv
                .split_once('=')
                .ok_or_else(|| Error::param(what, format!("`{kv}` is not NODE=value")))?;
            let x = v.trim().parse::<f64>().ok().filter(|x| x.is_finite());
            let x = x.ok_or_else(|| {
                Error::param(
                    what,
                    format!("`{}`: `{v}` is not a finite number", n.trim()),
                )
            })?;
            Ok((n.trim().to_string(), x))
        })
        .collect()
}

/// One intervention set from `--do NODE=v,..` and `--shift NODE=d,..` (applied together).
fn parse_set(dos: &[String], shifts: &[String]) -> Result<Vec<ceteris::scm::Intervention>, Error> {
    use ceteris::scm::Intervention;
    Ok(parse_pairs(dos, "do")?
        .into_iter()
        .map(|(n, v)| Intervention::atomic(&n, v))
        .chain(
            parse_pairs(shifts, "shift")?
                .into_iter()
                .map(|(n, d)| Intervention::shift(&n, d)),
        )
        .collect())
}

fn counterfactual(a: CounterfactualArgs) -> Result<(), Error> {
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
        say!(
            "{}",
            serde_json::to_string_pretty(&out).expect("serialisable")
        );
        return Ok(());
    };
    let data = Dataset::from_csv(path)?;
    let start = Instant::now();
    let cf = model.counterfactuals(&data, &set)?;
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
    say!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "out": out, "units": data.n_rows(), "means": means,
            "backend": format!("cpu (deterministic, {} threads)", rayon::current_num_threads()),
            "seconds": seconds,
        }))
        .expect("serialisable")
    );
    Ok(())
}

/// A data set as CSV text: a header of column names, then one row per line (values in Rust's
/// shortest round-trip form).
fn csv_text(d: &Dataset) -> Result<String, Error> {
    let cols: Vec<&[f64]> = d
        .names()
        .iter()
        .map(|n| d.column(n))
        .collect::<Result<_, _>>()?;
    let mut text = d.names().join(",");
    text.push('\n');
    for i in 0..d.n_rows() {
        let row: Vec<String> = cols.iter().map(|c| format!("{:?}", c[i])).collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    Ok(text)
}

/// Writes `text` to `path`, naming the path on failure.
fn write_text(path: &str, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_string(),
        source,
    })
}

fn sample(a: SampleArgs) -> Result<(), Error> {
    let model = read_model(&a.model)?;
    let set = parse_set(&a.dos, &a.shifts)?;
    let engine = Engine::from_name(&a.backend)?;
    let start = Instant::now();
    let s = model.sample(&engine, &set, a.samples, a.seed)?;
    let seconds = start.elapsed().as_secs_f64();
    let d = &s.data;
    let text = csv_text(d)?;
    match &a.out {
        Some(path) => {
            write_text(path, &text)?;
            say!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "out": path, "rows": d.n_rows(), "nodes": d.names(),
                    "backend": s.backend, "seconds": seconds,
                }))
                .expect("serialisable")
            );
        }
        None => say!("{}", text.trim_end()),
    }
    Ok(())
}

fn fit(a: FitArgs) -> Result<(), Error> {
    use ceteris::scm::{parse_graph, FitKind, Scm};
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
            say!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "out": path, "kind": a.kind, "rows": data.n_rows(),
                    "nodes": model.names(), "seconds": seconds,
                }))
                .expect("serialisable")
            );
        }
        None => say!("{text}"),
    }
    Ok(())
}

/// The dose-response plot of `ceteris sweep --plot`: the mean of each point with bands between the
/// outermost (and next-outermost) requested quantiles. When every point sets the same nodes and the
/// same shifts, the x axis is the value of the node with the most distinct values and each
/// combination of the other nodes' values is one curve (at most 8); otherwise x is the setting index.
fn sweep_plot(out: &serde_json::Value, path: &str) -> Result<(), Error> {
    use plotters::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};
    let io = |e: &dyn std::fmt::Display| Error::Io {
        path: path.to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let points = out["points"].as_array().cloned().unwrap_or_default();
    if points.is_empty() {
        return Err(Error::param("plot", "no points to plot"));
    }
    let keys = |p: &serde_json::Value| -> Vec<String> {
        p["interventions"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let first = keys(&points[0]);
    let regular = !first.is_empty()
        && points
            .iter()
            .all(|p| keys(p) == first && p["shifts"] == points[0]["shifts"]);
    // x variable: the node with the most distinct values
    let x_node = regular.then(|| {
        first
            .iter()
            .max_by_key(|k| {
                let distinct: BTreeSet<String> = points
                    .iter()
                    .map(|p| p["interventions"][k.as_str()].to_string())
                    .collect();
                (distinct.len(), std::cmp::Reverse((*k).clone()))
            })
            .expect("non-empty")
            .clone()
    });
    let group_of = |p: &serde_json::Value| -> String {
        first
            .iter()
            .filter(|k| Some(*k) != x_node.as_ref())
            .map(|k| format!("{k}={}", p["interventions"][k.as_str()]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let groups: BTreeSet<String> = points.iter().map(group_of).collect();
    let by_value = x_node.is_some() && groups.len() <= 8;
    // curves: label -> [(x, mean, quantiles by probability)]
    type Row = (f64, f64, Vec<(f64, f64)>);
    let mut curves: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (i, p) in points.iter().enumerate() {
        let (label, x) = match (&x_node, by_value) {
            (Some(k), true) => (
                group_of(p),
                p["interventions"][k.as_str()].as_f64().unwrap_or(f64::NAN),
            ),
            _ => (String::new(), i as f64),
        };
        let mut qs: Vec<(f64, f64)> = p["quantiles"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(q, v)| Some((q.parse::<f64>().ok()?, v.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default();
        qs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mean = p["mean"].as_f64().unwrap_or(f64::NAN);
        curves.entry(label).or_default().push((x, mean, qs));
    }
    for rows in curves.values_mut() {
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let all = || curves.values().flatten();
    let finite = |v: f64| v.is_finite();
    let (x_lo, x_hi) = all()
        .map(|r| r.0)
        .filter(|v| finite(*v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    let (y_lo, y_hi) = all()
        .flat_map(|r| std::iter::once(r.1).chain(r.2.iter().map(|q| q.1)))
        .filter(|v| finite(*v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
            (a.min(y), b.max(y))
        });
    if !(x_lo.is_finite() && y_lo.is_finite()) {
        return Err(Error::param("plot", "no finite points to plot"));
    }
    let pad = |lo: f64, hi: f64| {
        let w = if hi > lo { hi - lo } else { 1.0 };
        (lo - 0.05 * w, hi + 0.05 * w)
    };
    let ((x0, x1), (y0, y1)) = (pad(x_lo, x_hi), pad(y_lo, y_hi));
    let outcome = out["outcome"].as_str().unwrap_or("outcome");
    let x_desc = match (&x_node, by_value) {
        (Some(k), true) => format!("do({k})"),
        _ => "setting".to_string(),
    };
    let root = SVGBackend::new(path, (900, 550)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| io(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{outcome} under intervention ({} samples per setting)",
                out["samples"]
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| io(&e))?;
    // the setting index takes whole numbers only
    let index_labels = |x: &f64| {
        if x.fract() == 0.0 {
            format!("{x}")
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc).y_desc(outcome);
    if !by_value {
        mesh.x_label_formatter(&index_labels);
    }
    mesh.draw().map_err(|e| io(&e))?;
    let palette = [
        BLUE,
        RED,
        GREEN,
        MAGENTA,
        CYAN,
        BLACK,
        RGBColor(255, 140, 0),
        RGBColor(128, 0, 128),
    ];
    for (c, (label, rows)) in curves.iter().enumerate() {
        let color = palette[c % palette.len()];
        let nq = rows.iter().map(|r| r.2.len()).min().unwrap_or(0);
        // bands: outermost quantiles, then the next pair inwards
        for (k, alpha) in [(0usize, 0.15), (1, 0.25)] {
            if nq >= 2 * (k + 1) {
                let upper = rows.iter().map(|r| (r.0, r.2[nq - 1 - k].1));
                let lower = rows.iter().rev().map(|r| (r.0, r.2[k].1));
                let (qa, qb) = (rows[0].2[k].0, rows[0].2[nq - 1 - k].0);
                let name = if label.is_empty() {
                    format!("quantiles {qa}–{qb}")
                } else {
                    format!("quantiles {qa}–{qb} ({label})")
                };
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        upper.chain(lower).collect::<Vec<_>>(),
                        color.mix(alpha).filled(),
                    )))
                    .map_err(|e| io(&e))?
                    .label(name)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 20, y + 5)], color.mix(alpha).filled())
                    });
            }
        }
        let name = if label.is_empty() {
            "mean".to_string()
        } else {
            format!("mean ({label})")
        };
        chart
            .draw_series(LineSeries::new(
                rows.iter().map(|r| (r.0, r.1)),
                color.stroke_width(2),
            ))
            .map_err(|e| io(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(
                rows.iter()
                    .map(|r| Circle::new((r.0, r.1), 3, color.filled())),
            )
            .map_err(|e| io(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| io(&e))?;
    root.present().map_err(|e| io(&e))?;
    Ok(())
}

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
    say!("{:<12} {:>14} {:>14}", "interval", "low", "high");
    for (m, [lo, hi]) in &r.intervals {
        say!("{m:<12} {lo:>14.6} {hi:>14.6}");
    }
    for w in &r.warnings {
        say!("warning: {w}");
    }
}

fn plot(r: &BootstrapResult, path: &str) -> Result<(), Error> {
    use plotters::prelude::*;
    let reps: Vec<f64> = r
        .replicates
        .as_ref()
        .map(|v| v.iter().copied().filter(|x| x.is_finite()).collect())
        .unwrap_or_default();
    if reps.is_empty() {
        return Err(Error::param("plot", "no finite replicates to plot"));
    }
    let io = |e: &dyn std::fmt::Display| Error::Io {
        path: path.to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let (lo, hi) = reps
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let width = if hi > lo { hi - lo } else { 1.0 };
    let bins = 60usize;
    let mut counts = vec![0u32; bins];
    for &x in &reps {
        let i = (((x - lo) / width) * bins as f64) as usize;
        counts[i.min(bins - 1)] += 1;
    }
    let top = *counts.iter().max().unwrap_or(&1) as f64 * 1.1;
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| io(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "bootstrap replicates of {} ({} resamples)",
                r.statistic, r.resamples
            ),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(lo - 0.05 * width..hi + 0.05 * width, 0.0..top)
        .map_err(|e| io(&e))?;
    chart
        .configure_mesh()
        .x_desc(r.statistic.as_str())
        .y_desc("count")
        .draw()
        .map_err(|e| io(&e))?;
    let bw = width / bins as f64;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            let x0 = lo + i as f64 * bw;
            Rectangle::new([(x0, 0.0), (x0 + bw, c as f64)], BLUE.mix(0.4).filled())
        }))
        .map_err(|e| io(&e))?;
    let palette = [RED, GREEN, MAGENTA, CYAN, BLACK];
    for (i, (m, [a, b])) in r.intervals.iter().enumerate() {
        let color = palette[i % palette.len()];
        let y = top * (0.95 - 0.05 * i as f64);
        chart
            .draw_series(LineSeries::new([(*a, y), (*b, y)], color.stroke_width(3)))
            .map_err(|e| io(&e))?
            .label(m.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(3)));
    }
    chart
        .draw_series(LineSeries::new(
            [(r.estimate, 0.0), (r.estimate, top)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| io(&e))?
        .label("estimate")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| io(&e))?;
    root.present().map_err(|e| io(&e))?;
    Ok(())
}

/// Discovery cases of `ceteris bench`: PC-stable with KCI on 6 nonlinear variables (n = 500) and
/// with Fisher-z on 20 variables (n = 2000), on the CPU and on a GPU engine ([`bench_engines`]).
fn discovery_bench(
    a: &BenchArgs,
    scale: usize,
    rows: &mut Vec<serde_json::Value>,
) -> Result<(), Error> {
    use ceteris::discovery::Pc;
    use ceteris::independence::IndependenceTest;
    let cases = [
        (
            "pc-kci/6 vars",
            sem_data(500 / scale, 6, 3),
            IndependenceTest::kci(),
        ),
        (
            "pc-fisherz/20 vars",
            sem_data(2000 / scale, 20, 4),
            IndependenceTest::fisher_z(),
        ),
    ];
    for (engine, (name, data, test)) in bench_engines(a)
        .iter()
        .flat_map(|e| cases.iter().map(move |c| (e, c)))
    {
        let r = Pc::new(test.clone()).run(engine, data, &[])?;
        if a.format == Format::Table {
            say!(
                "{:<26} {:>9} {:>7} {:>10.4} {:>12}  {} ({} tests, {} edges)",
                name,
                data.n_rows(),
                "-",
                r.seconds,
                "-",
                r.backend,
                r.tests_run,
                r.edges.len()
            );
        }
        rows.push(json!({
            "case": name, "n": data.n_rows(), "tests": r.tests_run, "seconds": r.seconds,
            "edges": r.edges.len(), "backend": r.backend,
        }));
    }
    Ok(())
}

/// The engines of the `bench` cases that have a GPU path: the CPU unless `--backend gpu`, and a
/// GPU engine unless `--backend cpu` (a software adapter only with `--quick` or `--backend gpu`:
/// lavapipe timings say nothing about a GPU).
fn bench_engines(a: &BenchArgs) -> Vec<Engine> {
    let mut engines = Vec::new();
    if a.backend != "gpu" {
        engines.push(Engine::cpu());
    }
    if a.backend != "cpu" {
        if let Ok(g) = Engine::gpu() {
            if a.quick || !g.is_software_gpu() || a.backend == "gpu" {
                engines.push(g);
            }
        }
    }
    engines
}

/// SCM cases of `ceteris bench`: a 50-node linear-Gaussian DAG whose every node is an ancestor
/// of the outcome `n49` (so the sweep skips no node), 100 values of `do(n0)` × 10 000 samples,
/// on the CPU and on a GPU engine (software adapters only with --quick or --backend gpu, as for
/// the other cases); the same sweep as a naive single-threaded Rust loop (per sample, per node,
/// one Philox block and a library-function Box–Muller per node); and the counterfactuals of
/// 100 000 observed units under `do(n0 := 1)` (CPU).
fn scm_bench(a: &BenchArgs, scale: usize, rows: &mut Vec<serde_json::Value>) -> Result<(), Error> {
    use ceteris::scm::{Intervention, Sweep};
    let engines = bench_engines(a);
    let m = 50;
    let scm = ceteris::scm::Scm::random_linear(m, 11);
    if let Some(path) = &a.save_model {
        write_text(path, &scm.to_json())?;
    }
    let grid = |values: usize| -> Vec<Vec<Intervention>> {
        (0..values)
            .map(|i| {
                vec![Intervention::atomic(
                    "n0",
                    -3.0 + 6.0 * i as f64 / (values - 1).max(1) as f64,
                )]
            })
            .collect()
    };
    let report = |rows: &mut Vec<_>, name, values, samples, secs, backend: &str| {
        scm_row(a, rows, name, m, values, samples, secs, backend)
    };
    let outcome = format!("n{}", m - 1);
    let (values, samples) = (100 / scale.min(10), 10_000);
    let settings = grid(values);
    for engine in &engines {
        let start = Instant::now();
        let r = Sweep::new(&outcome, settings.clone())
            .samples(samples)
            .run(engine, &scm)?;
        let secs = start.elapsed().as_secs_f64();
        report(
            rows,
            format!("scm/sweep{values}x{samples} m=50"),
            values,
            samples,
            secs,
            &r.backend,
        );
    }
    if a.backend != "gpu" {
        let start = Instant::now();
        let means = naive_sweep(&scm, &settings, samples as u32);
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(means);
        report(
            rows,
            format!("scm/naive{values}x{samples} m=50"),
            values,
            samples,
            secs,
            "cpu (naive loop, 1 thread)",
        );
        // counterfactuals of many observed units under do(n0 := 1) (deterministic, CPU only)
        let units = 100_000 / scale;
        let observed = scm.sample(&Engine::cpu(), &[], units, 1)?.data;
        let start = Instant::now();
        let cf = scm.counterfactuals(&observed, &[Intervention::atomic("n0", 1.0)])?;
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(cf);
        report(
            rows,
            format!("scm/cf-units{units} m=50"),
            1,
            units as u64,
            secs,
            "cpu (deterministic)",
        );
    }
    Ok(())
}

/// The large SCM case of `ceteris bench` (`--only scm-large`, and part of a full run): the model of
/// [`scm_bench`], 1000 values × 100 000 samples on the CPU (summaries only: constant memory).
fn scm_large_bench(a: &BenchArgs, rows: &mut Vec<serde_json::Value>) -> Result<(), Error> {
    use ceteris::scm::{Intervention, Sweep};
    let (m, values, samples) = (50, 1000, 100_000u64);
    let scm = ceteris::scm::Scm::random_linear(m, 11);
    let settings: Vec<Vec<Intervention>> = (0..values)
        .map(|i| {
            vec![Intervention::atomic(
                "n0",
                -3.0 + 6.0 * i as f64 / (values - 1) as f64,
            )]
        })
        .collect();
    let start = Instant::now();
    let r = Sweep::new(&format!("n{}", m - 1), settings)
        .samples(samples)
        .run(&Engine::cpu(), &scm)?;
    let secs = start.elapsed().as_secs_f64();
    let name = format!("scm/sweep{values}x{samples} m=50");
    scm_row(a, rows, name, m, values, samples, secs, &r.backend);
    Ok(())
}

/// One SCM row of `ceteris bench`: a table line (with ns per node-sample) and a JSON row.
#[allow(clippy::too_many_arguments)]
fn scm_row(
    a: &BenchArgs,
    rows: &mut Vec<serde_json::Value>,
    name: String,
    m: usize,
    values: usize,
    samples: u64,
    secs: f64,
    backend: &str,
) {
    let ns = secs * 1e9 / (m as f64 * values as f64 * samples as f64);
    if a.format == Format::Table {
        say!(
            "{:<26} {:>9} {:>7} {:>10.4} {:>12}  {} ({ns:.2} ns per node-sample)",
            name,
            m,
            "-",
            secs,
            "-",
            backend
        );
    }
    rows.push(
        json!({"case": name, "nodes": m, "settings": values, "samples": samples,
        "seconds": secs, "ns_per_node_sample": ns, "backend": backend}),
    );
}

/// The outcome mean (last node) of each setting by the textbook loop: one thread, sample by
/// sample, node by node in topological order, one Philox block per node and a Box–Muller
/// transform with the standard library's `ln` and `cos` (the baseline of the SCM benchmark).
fn naive_sweep(
    scm: &ceteris::scm::Scm,
    settings: &[Vec<ceteris::scm::Intervention>],
    samples: u32,
) -> Vec<f64> {
    use ceteris::rng::{normal, Stream, STREAM_MONTE_CARLO};
    use ceteris::scm::{Intervention, Noise};
    let nodes = scm.nodes();
    let index: std::collections::HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(j, n)| (n.name.as_str(), j))
        .collect();
    let parents: Vec<Vec<(usize, f64)>> = nodes
        .iter()
        .map(|n| {
            n.coefficients
                .iter()
                .map(|(p, c)| (index[p.as_str()], *c))
                .collect()
        })
        .collect();
    let scales: Vec<f64> = nodes
        .iter()
        .map(|n| match n.noise {
            Some(Noise::Normal { scale }) => scale,
            _ => unreachable!("the benchmark model is linear-Gaussian"),
        })
        .collect();
    let stream = Stream::new(1, STREAM_MONTE_CARLO);
    let mut vals = vec![0.0; nodes.len()];
    settings
        .iter()
        .enumerate()
        .map(|(s, set)| {
            let mut fixed = vec![None; nodes.len()];
            for iv in set {
                if let Intervention::Atomic { node, value } = iv {
                    fixed[index[node.as_str()]] = Some(*value);
                }
            }
            let mut sum = 0.0;
            for i in 0..samples {
                for j in 0..nodes.len() {
                    vals[j] = match fixed[j] {
                        Some(v) => v,
                        None => {
                            let w = stream.block(i, (s * nodes.len() + j) as u32);
                            let eta: f64 = parents[j].iter().map(|&(p, c)| c * vals[p]).sum();
                            nodes[j].intercept + eta + scales[j] * normal(w[0], w[1])
                        }
                    };
                }
                sum += vals[nodes.len() - 1];
            }
            sum / samples as f64
        })
        .collect()
}

/// A `p`-column nonlinear structural model (chain-like with confounding), for the test benches.
fn sem_data(n: usize, p: usize, seed: u64) -> Dataset {
    use ceteris::rng::{open_unit, Stream};
    let s = Stream::new(seed, 5);
    let normal = |col: u32, i: usize| {
        let w = s.block(col, i as u32);
        let (u1, u2) = (open_unit(w[0]), open_unit(w[1]));
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for j in 0..p {
        let col = (0..n)
            .map(|i| {
                let e = normal(j as u32, i);
                match j {
                    0 => e,
                    _ if j % 3 == 1 => (cols[j - 1][i]).tanh() + 0.5 * e,
                    _ if j % 3 == 2 => (1.3 * cols[j - 1][i]).sin() + 0.3 * cols[0][i] + 0.5 * e,
                    _ => 0.6 * cols[j - 1][i] - 0.4 * cols[j - 2][i] + 0.7 * e,
                }
            })
            .collect();
        cols.push(col);
    }
    let mut d = Dataset::new();
    for (j, c) in cols.into_iter().enumerate() {
        d.push_column(&format!("v{j}"), c).expect("distinct names");
    }
    d
}

/// Up to `max` distinct queries `v_i ⫫ v_j | v_k` (|Z| = 1) on the columns `v0 … v{p−1}`.
fn z1_queries(p: usize, max: usize) -> Vec<ceteris::independence::Query> {
    let mut batch = Vec::new();
    for k in 0..p {
        for i in 0..p {
            for j in i + 1..p {
                if i != k && j != k && batch.len() < max {
                    batch.push((
                        vec![format!("v{i}")],
                        vec![format!("v{j}")],
                        vec![format!("v{k}")],
                    ));
                }
            }
        }
    }
    batch
}

/// Independence-test cases of `ceteris bench`.
fn independence_bench(a: &BenchArgs, scale: usize, rows: &mut Vec<serde_json::Value>) {
    use ceteris::independence::{IndependenceTest, Null};
    // single KCI tests run on the CPU; the HSIC permutation null and the KCI and RCoT batches
    // also run on a GPU engine
    let engines = bench_engines(a);
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let n_big = 2000 / scale.min(4);
    let perms = if a.quick { 100 } else { 1000 };
    let big = sem_data(n_big, 10, 1);
    let mid = sem_data(1000 / scale.min(4), 10, 2);
    // 1000 distinct tests X ⫫ Y | Z with |Z| = 1 on 16 columns (120 pairs × 14 conditioning columns)
    let small = sem_data(500, 16, 3);
    let batch = z1_queries(16, 1000 / scale);
    // RCoT on the 10-column data set: the |Z| = 1 queries among its columns
    let big_batch = z1_queries(10, 200);
    let cases: Vec<(
        String,
        &Dataset,
        IndependenceTest,
        Vec<ceteris::independence::Query>,
    )> = vec![
        (
            format!("kci/cond z1 n={n_big}"),
            &big,
            IndependenceTest::kci(),
            vec![(s(&["v1"]), s(&["v3"]), s(&["v2"]))],
        ),
        (
            format!("kci/uncond n={n_big}"),
            &big,
            IndependenceTest::kci(),
            vec![(s(&["v1"]), s(&["v3"]), vec![])],
        ),
        (
            format!("hsic/perm{perms} n={n_big}"),
            &big,
            IndependenceTest::hsic().null(Null::Permutation(perms)),
            vec![(s(&["v1"]), s(&["v3"]), vec![])],
        ),
        (
            format!("hsic/perm{perms} n={}", mid.n_rows()),
            &mid,
            IndependenceTest::hsic().null(Null::Permutation(perms)),
            vec![(s(&["v1"]), s(&["v3"]), vec![])],
        ),
        (
            format!("kci/batch{} n=500", batch.len()),
            &small,
            IndependenceTest::kci(),
            batch.clone(),
        ),
        (
            format!("rcot/batch{} n=500", batch.len()),
            &small,
            IndependenceTest::rcot(),
            batch.clone(),
        ),
        (
            format!("rcot/batch{} n={n_big}", big_batch.len()),
            &big,
            IndependenceTest::rcot(),
            big_batch,
        ),
    ];
    for (name, data, test, queries) in &cases {
        for engine in &engines {
            if engine.kind() == ceteris::BackendKind::Gpu
                && !name.starts_with("hsic/perm")
                && !name.starts_with("rcot/")
                && !name.starts_with("kci/batch")
            {
                continue;
            }
            independence_row(a, rows, engine, name, data, test, queries);
        }
    }
}

/// Runs one batch of independence tests and reports it (a table line and a JSON row with tests
/// per second).
fn independence_row(
    a: &BenchArgs,
    rows: &mut Vec<serde_json::Value>,
    engine: &Engine,
    name: &str,
    data: &Dataset,
    test: &ceteris::independence::IndependenceTest,
    queries: &[ceteris::independence::Query],
) {
    let start = std::time::Instant::now();
    let tester = ceteris::independence::Tester::new(engine, data, test.clone());
    let results = tester.batch(queries);
    let secs = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if a.format == Format::Table {
        say!(
            "{:<26} {:>9} {:>7} {:>10.4} {:>12}  {} ({} tests{})",
            name,
            data.n_rows(),
            "-",
            secs,
            "-",
            engine.describe(),
            queries.len(),
            if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            }
        );
    }
    rows.push(json!({
        "case": name, "n": data.n_rows(), "tests": queries.len(), "seconds": secs,
        "tests_per_s": queries.len() as f64 / secs, "backend": engine.describe(), "failed": failed,
    }));
}

/// The GPU targets of the issues as `ceteris bench --only gpu-targets` cases, on GPU engines
/// only (a software adapter with `--quick` or `--backend gpu`, sizes ÷ 10 and samples ÷ 100 under
/// `--quick`): HSIC permutation test n = 10 000, 1000 permutations (≤ 150 ms on an H100-class
/// GPU); 1000 KCI tests |Z| = 1 at n = 1000 (≥ 200 tests/s); 1000 RCoT tests |Z| = 1 at
/// n = 10 000 (≥ 10 000 tests/s); an SCM sweep of 100 nodes × 10⁶ samples × 100 settings
/// (10¹⁰ node-draws, ≤ 80 ms).
fn gpu_targets_bench(a: &BenchArgs, rows: &mut Vec<serde_json::Value>) -> Result<(), Error> {
    use ceteris::independence::{IndependenceTest, Null};
    use ceteris::scm::{Intervention, Sweep};
    let engines: Vec<Engine> = bench_engines(a)
        .into_iter()
        .filter(|e| e.kind() == ceteris::BackendKind::Gpu)
        .collect();
    let q = if a.quick { 10 } else { 1 };
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let hsic_data = sem_data(10_000 / q, 4, 7);
    let kci_data = sem_data(1000 / q, 16, 8);
    let rcot_data = sem_data(10_000 / q, 16, 9);
    let batch = z1_queries(16, 1000 / q);
    let scm = ceteris::scm::Scm::random_linear(100, 11);
    let samples = 1_000_000 / (q * q) as u64;
    let settings: Vec<Vec<Intervention>> = (0..100)
        .map(|i| vec![Intervention::atomic("n0", -3.0 + 6.0 * i as f64 / 99.0)])
        .collect();
    for engine in &engines {
        let cases = [
            (
                format!("target/hsic-perm1000 n={}", hsic_data.n_rows()),
                &hsic_data,
                IndependenceTest::hsic().null(Null::Permutation(1000)),
                vec![(s(&["v1"]), s(&["v3"]), vec![])],
            ),
            (
                format!("target/kci-batch{} n={}", batch.len(), kci_data.n_rows()),
                &kci_data,
                IndependenceTest::kci(),
                batch.clone(),
            ),
            (
                format!("target/rcot-batch{} n={}", batch.len(), rcot_data.n_rows()),
                &rcot_data,
                IndependenceTest::rcot(),
                batch.clone(),
            ),
        ];
        for (name, data, test, queries) in &cases {
            independence_row(a, rows, engine, name, data, test, queries);
        }
        let start = Instant::now();
        let r = Sweep::new("n99", settings.clone())
            .samples(samples)
            .run(engine, &scm)?;
        let secs = start.elapsed().as_secs_f64();
        let name = format!("target/sweep100x{samples} m=100");
        scm_row(a, rows, name, 100, 100, samples, secs, &r.backend);
    }
    Ok(())
}

struct Case {
    name: &'static str,
    statistic: Statistic,
    scheme: Scheme,
    method: IntervalMethod,
    n: usize,
    b: u64,
}

fn bench(a: BenchArgs) -> Result<(), Error> {
    let scale = if a.quick { 10 } else { 1 };
    let col = |c: &str| c.to_string();
    let ipw = Statistic::Ipw {
        treatment: col("t"),
        outcome: col("y"),
        propensity: col("e"),
    };
    let median = |n, b| Case {
        name: "median/iid/percentile",
        statistic: Statistic::Quantile {
            column: col("x"),
            q: 0.5,
        },
        scheme: Scheme::Iid,
        method: IntervalMethod::Percentile,
        n,
        b,
    };
    let cases = vec![
        Case {
            name: "mean/iid/percentile",
            statistic: Statistic::Mean { column: col("x") },
            scheme: Scheme::Iid,
            method: IntervalMethod::Percentile,
            n: 1_000_000 / scale,
            b: 10_000 / scale as u64,
        },
        Case {
            name: "mean/iid/bca",
            statistic: Statistic::Mean { column: col("x") },
            scheme: Scheme::Iid,
            method: IntervalMethod::Bca,
            n: 100_000 / scale,
            b: 1_000,
        },
        Case {
            name: "ipw/iid/percentile",
            statistic: ipw,
            scheme: Scheme::Iid,
            method: IntervalMethod::Percentile,
            n: 100_000 / scale,
            b: 1_000,
        },
        Case {
            name: "mean/poisson/percentile",
            statistic: Statistic::Mean { column: col("x") },
            scheme: Scheme::Poisson,
            method: IntervalMethod::Percentile,
            n: 1_000_000 / scale,
            b: 1_000 / scale as u64,
        },
        median(10_000 / scale, 1_000),
        median(1_000_000 / scale, 100),
    ];
    if !["all", "cpu", "gpu"].contains(&a.backend.as_str()) {
        return Err(Error::param(
            "backend",
            format!("unknown backend `{}` (all, cpu, gpu)", a.backend),
        ));
    }
    if ![
        "all",
        "bootstrap",
        "independence",
        "scm",
        "scm-large",
        "discovery",
        "gpu-targets",
    ]
    .contains(&a.only.as_str())
    {
        return Err(Error::param(
            "only",
            format!(
                "unknown capability `{}` (all, bootstrap, independence, scm, scm-large, \
                 discovery, gpu-targets)",
                a.only
            ),
        ));
    }
    let cases = if a.only != "all" && a.only != "bootstrap" {
        Vec::new()
    } else {
        cases
    };
    let mut engines: Vec<Engine> = Vec::new();
    if a.backend == "all" || a.backend == "cpu" {
        engines.push(Engine::cpu());
    }
    if a.backend == "all" || a.backend == "gpu" {
        match Engine::gpu() {
            // full sizes on a software rasteriser would take hours and say nothing about GPUs
            Ok(e) if e.is_software_gpu() && !a.quick && a.backend != "gpu" => eprintln!(
                "bench: skipping the software adapter at full sizes ({}); use --quick or --backend gpu",
                e.describe()
            ),
            Ok(e) => engines.push(e),
            Err(e) => eprintln!("bench: no GPU backend ({e})"),
        }
    }
    let mut rows = Vec::new();
    if a.format == Format::Table {
        say!(
            "{:<26} {:>9} {:>7} {:>10} {:>12}  backend",
            "case",
            "n",
            "B",
            "seconds",
            "Mdraws/s"
        );
    }
    let mut cache: Vec<(usize, Dataset)> = Vec::new();
    for case in &cases {
        if !cache.iter().any(|(n, _)| *n == case.n) {
            cache.push((case.n, Dataset::synthetic(case.n, 42)));
        }
        let data = &cache.iter().find(|(n, _)| *n == case.n).expect("cached").1;
        for engine in &engines {
            let boot = Bootstrap::new(case.statistic.clone())
                .scheme(case.scheme.clone())
                .resamples(case.b)
                .seed(1)
                .methods(&[case.method]);
            let r = boot.run(engine, data)?;
            let rate = case.n as f64 * case.b as f64 / r.seconds / 1e6;
            if a.format == Format::Table {
                say!(
                    "{:<26} {:>9} {:>7} {:>10.4} {:>12.1}  {}",
                    case.name,
                    case.n,
                    case.b,
                    r.seconds,
                    rate,
                    r.backend
                );
            }
            rows.push(json!({
                "case": case.name, "n": case.n, "resamples": case.b, "seconds": r.seconds,
                "mdraws_per_s": rate, "backend": r.backend, "estimate": r.estimate,
            }));
        }
    }
    if a.only == "all" || a.only == "independence" {
        independence_bench(&a, scale, &mut rows);
    }
    if a.only == "all" || a.only == "scm" {
        scm_bench(&a, scale, &mut rows)?;
    }
    if (a.only == "all" && !a.quick) || a.only == "scm-large" {
        scm_large_bench(&a, &mut rows)?;
    }
    if a.only == "gpu-targets" {
        gpu_targets_bench(&a, &mut rows)?;
    }
    if a.only == "all" || a.only == "discovery" {
        discovery_bench(&a, scale, &mut rows)?;
    }
    if a.format == Format::Json {
        say!(
            "{}",
            serde_json::to_string_pretty(&json!({ "quick": a.quick, "results": rows }))
                .expect("serialisable")
        );
    }
    Ok(())
}
