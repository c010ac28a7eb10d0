//! `ceteris independence`: its arguments and run, and the options of a conditional-independence
//! test (`TestOpts`, `build_test`) that `ceteris discover` shares.

use super::data_args::{with_report, DataArgs};
use crate::output::{print_json, Progress};
use crate::Format;
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
/// ([`refuse_ignored`]); their defaults are in the help text and in [`build_test`].
#[derive(clap::Args)]
pub(crate) struct TestOpts {
    /// hsic, hsic-u (hyppo's Hsic), kci, rcot, rcit, fisherz, or chisq / gsq (discrete columns,
    /// numbers or text labels).
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

/// An error naming the first option given that the chosen test (or null, or kernel) would
/// ignore: `--kernel` or `--width` with fisherz, `--permutations` without the permutation null.
fn refuse_ignored(a: &TestOpts) -> Result<(), Error> {
    let test = a.test.as_str();
    let null = a.null.as_deref().unwrap_or("default");
    let kernel = a.kernel.as_deref().unwrap_or("rbf");
    let widthless = kernel == "linear" || kernel.starts_with("polynomial");
    let kernel_test = matches!(test, "hsic" | "kci");
    // (flag, given, used by this test, what uses it)
    let rules: [(&str, bool, bool, &str); 7] = [
        (
            "kernel",
            a.kernel.is_some(),
            kernel_test,
            "it applies to hsic and kci",
        ),
        (
            "width",
            a.width.is_some(),
            (kernel_test || test == "hsic-u") && !widthless,
            "it applies to the rbf and laplace kernels of hsic, hsic-u and kci",
        ),
        (
            "tolerance",
            a.tolerance.is_some(),
            matches!(test, "hsic" | "hsic-u" | "kci"),
            "it applies to the kernel factors of hsic, hsic-u and kci",
        ),
        (
            "null",
            a.null.is_some(),
            matches!(test, "hsic" | "kci" | "rcot" | "rcit"),
            "fisherz has a normal null, and hsic-u, chisq and gsq chi-square ones",
        ),
        (
            "permutations",
            a.permutations.is_some(),
            kernel_test && null == "permutation",
            "it applies to --null permutation of hsic and kci",
        ),
        (
            "samples",
            a.samples.is_some(),
            kernel_test && null == "spectral",
            "it applies to --null spectral of hsic and kci",
        ),
        (
            "seed",
            a.seed.is_some(),
            (kernel_test && matches!(null, "permutation" | "spectral"))
                || matches!(test, "rcot" | "rcit"),
            "it seeds the permutation and spectral nulls of hsic and kci and the features of \
             rcot and rcit",
        ),
    ];
    let known = [
        "hsic", "hsic-u", "kci", "rcot", "rcit", "fisherz", "fisher-z", "chisq", "gsq",
    ];
    if !known.contains(&test) {
        return Ok(()); // the unknown test is reported by build_test
    }
    for (flag, given, used, why) in rules {
        if given && !used {
            let what = match (flag, test) {
                ("width", "hsic" | "kci") if widthless => format!("the {kernel} kernel (no width)"),
                ("permutations" | "samples" | "seed", "hsic" | "kci") => {
                    format!("{test} with the {null} null")
                }
                _ if test.starts_with("fisher") => "the Fisher-z test".into(),
                _ => format!("--test {test}"),
            };
            return Err(Error::param(
                flag,
                format!("{what} does not use --{flag} (it would ignore it): {why}"),
            ));
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

    /// Whether the test takes discrete columns (chisq, gsq), which are then read as labels.
    pub(crate) fn is_discrete(&self) -> bool {
        matches!(self.test.as_str(), "chisq" | "gsq")
    }
}

pub(crate) fn build_test(a: &TestOpts) -> Result<ceteris::independence::IndependenceTest, Error> {
    use ceteris::independence::{Approx, IndependenceTest, Kernel, Null, Width};
    refuse_ignored(a)?;
    let kernel_name = a.kernel.as_deref().unwrap_or("rbf");
    let kernel = match kernel_name.split_once(':') {
        None if kernel_name == "rbf" || kernel_name == "gaussian" => Kernel::Gaussian,
        None if kernel_name == "laplace" => Kernel::Laplace,
        None if kernel_name == "linear" => Kernel::Linear,
        None if kernel_name == "polynomial" => Kernel::Polynomial(2),
        Some(("polynomial", d)) => Kernel::Polynomial(
            d.parse()
                .map_err(|_| Error::param("kernel", format!("`{d}` is not a polynomial degree")))?,
        ),
        _ => {
            return Err(Error::param(
                "kernel",
                format!(
                    "unknown kernel `{kernel_name}` (rbf, laplace, linear, polynomial[:DEGREE])"
                ),
            ))
        }
    };
    let width = match a.width.as_deref().unwrap_or("empirical") {
        "empirical" => Width::Empirical,
        "median" => Width::Median,
        v => Width::Fixed(v.parse().map_err(|_| {
            Error::param(
                "width",
                format!("`{v}` is not empirical, median or a number"),
            )
        })?),
    };
    let permutations = a.permutations.unwrap_or(1000);
    let samples = a.samples.unwrap_or(1000);
    // zero draws is an error whichever null is asked for (not silently ignored)
    if permutations == 0 {
        return Err(Error::param("permutations", "must be at least 1"));
    }
    if samples == 0 {
        return Err(Error::param("samples", "must be at least 1"));
    }
    let rff = a.test == "rcot" || a.test == "rcit";
    let (null, approx) = match (a.null.as_deref().unwrap_or("default"), rff) {
        ("default" | "gamma", false) => (Null::Gamma, Approx::Lpb4),
        ("permutation", false) => (Null::Permutation(permutations), Approx::Lpb4),
        ("spectral", false) => (Null::Spectral(samples), Approx::Lpb4),
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
        "chisq" => IndependenceTest::chisq(),
        "gsq" => IndependenceTest::gsq(),
        other => {
            return Err(Error::param(
                "test",
                format!(
                    "unknown test `{other}` (hsic, hsic-u, kci, rcot, rcit, fisherz, chisq, gsq)"
                ),
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
    .tolerance(a.tolerance.unwrap_or(1e-9))
    .seed(a.seed.unwrap_or(0)))
}
