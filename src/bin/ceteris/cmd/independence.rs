//! `ceteris independence`: its arguments and run, and the options of a conditional-independence
//! test (`TestOpts`, `build_test`) that `ceteris discover` shares.

use super::data_args::{with_report, DataArgs};
use crate::output::{print_json, Progress};
use crate::Format;
use ceteris::independence::TestOptions;
use ceteris::{Dataset, Engine, Error};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
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

/// Options of a conditional-independence test, shared by `independence` and `discover`. The
/// options a test has no use for are `None` unless given, so that giving one is an error
/// ([`TestOptions`]); their defaults are in the help text and in [`TestOptions`].
#[derive(clap::Args)]
pub(crate) struct TestOpts {
    /// hsic, hsic-u (hyppo's Hsic), kci, rcot, rcit, fisherz, chisq / gsq (discrete columns,
    /// numbers or text labels), or dg (mixed data: text columns discrete, numbers continuous;
    /// degenerate-Gaussian likelihood ratio, Andrews, Ramsey & Cooper 2019).
    #[arg(long, default_value = "kci")]
    pub(crate) test: String,
    /// hsic/kci: gamma (default), permutation or spectral; rcot/rcit: lpb4 (default), hbe,
    /// gamma or chi2 (fisherz and hsic-u have one null each and take none).
    #[arg(long)]
    null: Option<String>,
    /// Permutations of the permutation null (default 1000).
    #[arg(long)]
    permutations: Option<u32>,
    /// Monte-Carlo draws of the spectral null (default 1000).
    #[arg(long)]
    samples: Option<u32>,
    /// Test-wise deletion: per test, drop rows where any conditioning column equals this value
    /// (e.g. 0); `nan` drops, per test, the rows with a missing value in any of its columns
    /// (missing values are then read as NaN instead of being an error).
    #[arg(long)]
    testwise_deletion: Option<f64>,
    /// Low-rank tolerance of the kernel factors (relative residual trace; 0 = exact; default
    /// 1e-9; hsic, hsic-u, kci).
    #[arg(long)]
    tolerance: Option<f64>,
    /// empirical (default), median or a fixed bandwidth (a number); rbf and laplace kernels of
    /// hsic, hsic-u, kci.
    #[arg(long)]
    width: Option<String>,
    /// rbf (Gaussian, the default), laplace, linear or polynomial[:DEGREE] (default degree 2);
    /// hsic and kci.
    #[arg(long)]
    kernel: Option<String>,
    /// Seed of the permutation or spectral null (hsic, kci) and of the random features (rcot,
    /// rcit); default 0.
    #[arg(long)]
    seed: Option<u64>,
}

impl TestOpts {
    /// Whether `--testwise-deletion` was given (it acts on conditional tests only).
    pub(crate) fn testwise_deletion(&self) -> bool {
        self.testwise_deletion.is_some()
    }
}

/// Runs `ceteris independence`: one test, or every pair with `--all-pairs`, as one batch.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    // --all-pairs uses every column; otherwise only x, y and z are read
    let used: Vec<String> = if a.all_pairs {
        Vec::new()
    } else {
        a.x.iter().chain(&a.y).chain(&a.z).cloned().collect()
    };
    // discrete tests read their columns as labels (text factorised to codes)
    let labels = if a.t.is_discrete() {
        a.data.columns_or_header(&used)?
    } else {
        Vec::new()
    };
    let data = a.data.read(&used, &labels, a.t.keeps_missing())?;
    run_on(&a, &data).map_err(|e| data.at_lines(e))
}

fn run_on(a: &Args, data: &Dataset) -> Result<(), Error> {
    let test = build_test(&a.t)?;
    let engine = Engine::from_name(&a.backend)?;
    let z: Vec<&str> = a.z.iter().map(String::as_str).collect();
    if a.all_pairs && !(a.x.is_empty() && a.y.is_empty()) {
        let flag = if a.x.is_empty() { "y" } else { "x" };
        return Err(Error::param(
            flag,
            format!("--all-pairs tests every pair of columns: it would ignore --{flag}"),
        ));
    }
    // a number marks rows by their conditioning columns; `nan` (missing values) by every column
    if a.t.testwise_deletion() && !a.t.keeps_missing() && z.is_empty() {
        return Err(Error::param(
            "testwise-deletion",
            "--testwise-deletion VALUE drops rows by their conditioning columns: without --z it \
             would ignore it (`nan` drops missing values from every column of the test)",
        ));
    }
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
    let tester = ceteris::independence::Tester::new(&engine, data, test);
    let queries: Vec<_> = pairs
        .iter()
        .map(|(x, y)| {
            let own = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
            (own(x), own(y), own(&z))
        })
        .collect();
    let progress = Progress::new("tests");
    let tick = |done: u64, total: u64| progress.tick(done, total);
    let results = tester
        .batch_with_progress(&queries, Some(&tick))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    progress.finish();
    match a.format {
        Format::Json if !a.all_pairs => print_json(&with_report(&results[0], a.data.report(data))),
        Format::Json => {
            for (k, v) in a.data.report(data) {
                eprintln!("note: {k} {v}");
            }
            print_json(&results)
        }
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
            a.data.say_report(data);
        }
    }
    Ok(())
}

/// The test the options describe.
impl TestOpts {
    /// Whether missing values are read as NaN (test-wise deletion of them).
    pub(crate) fn keeps_missing(&self) -> bool {
        self.testwise_deletion.is_some_and(f64::is_nan)
    }

    /// Whether the test takes discrete columns (chisq, gsq; dg's mixed ones), which are then read
    /// as labels (text factorised, numbers kept: dg treats the factorised ones as discrete).
    pub(crate) fn is_discrete(&self) -> bool {
        matches!(self.test.as_str(), "chisq" | "gsq" | "dg")
    }
}

/// The test the options describe, built and checked by the library ([`TestOptions`]: an option
/// the test would ignore is an error naming its flag).
pub(crate) fn build_test(a: &TestOpts) -> Result<ceteris::independence::IndependenceTest, Error> {
    TestOptions {
        test: a.test.clone(),
        null: a.null.clone(),
        permutations: a.permutations,
        samples: a.samples,
        testwise_deletion: a.testwise_deletion,
        tolerance: a.tolerance,
        width: a.width.clone(),
        kernel: a.kernel.clone(),
        seed: a.seed,
    }
    .build_spelled(&|f| format!("--{f}"))
}
