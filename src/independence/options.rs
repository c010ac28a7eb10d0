//! An independence test described by named options, as a command line or a binding takes them
//! (`None`: an option not given): the option names, their defaults, and the one rule that an
//! option the chosen test, null or kernel would ignore is an error. `ceteris independence` /
//! `discover` and the Python package build their tests here.

use super::{Approx, IndependenceTest, Kernel, Null, Width};
use crate::error::{Error, Result};

/// A test by name with its options; [`TestOptions::build`] makes the [`IndependenceTest`].
///
/// ```
/// use ceteris::independence::TestOptions;
/// let kci = TestOptions { test: "kci".into(), null: Some("spectral".into()), ..Default::default() };
/// assert!(kci.build().is_ok());
/// // Fisher-z has no kernel: a kernel option is an error, not ignored
/// let fz = TestOptions { test: "fisherz".into(), kernel: Some("linear".into()), ..Default::default() };
/// assert!(fz.build().unwrap_err().to_string().contains("would ignore"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TestOptions {
    /// hsic, hsic-u, kci, rcot, rcit, fisherz (or fisher-z), chisq or gsq.
    pub test: String,
    /// hsic/kci: gamma (default), permutation or spectral; rcot/rcit: lpb4 (default), hbe,
    /// gamma or chi2.
    pub null: Option<String>,
    /// Permutations of the permutation null (default 1000).
    pub permutations: Option<u32>,
    /// Monte-Carlo draws of the spectral null (default 1000).
    pub samples: Option<u32>,
    /// Test-wise deletion marker ([`IndependenceTest::testwise_deletion`]).
    pub testwise_deletion: Option<f64>,
    /// Low-rank tolerance of the kernel factors (default 1e-9).
    pub tolerance: Option<f64>,
    /// empirical (default), median or a number.
    pub width: Option<String>,
    /// rbf (default), laplace, linear or `polynomial[:DEGREE]`.
    pub kernel: Option<String>,
    /// Seed of the permutation/spectral nulls and of RCoT/RCIT's features (default 0).
    pub seed: Option<u64>,
}

impl TestOptions {
    /// The test, options named `` `name` `` in errors (see [`TestOptions::build_spelled`]).
    pub fn build(&self) -> Result<IndependenceTest> {
        self.build_spelled(&|f| format!("`{f}`"))
    }

    /// The test, with `spell` writing an option's name in errors as the caller's users type it
    /// (`--kernel` on a command line). Errors: an unknown test, null, kernel or width; zero
    /// permutations or samples; an option given that the test, null or kernel would ignore.
    ///
    /// ```
    /// use ceteris::independence::TestOptions;
    /// let o = TestOptions { test: "kci".into(), samples: Some(10), ..Default::default() };
    /// let e = o.build_spelled(&|f| format!("--{f}")).unwrap_err().to_string();
    /// assert!(e.contains("--samples"));
    /// ```
    pub fn build_spelled(&self, spell: &dyn Fn(&str) -> String) -> Result<IndependenceTest> {
        let a = self;
        a.refuse_ignored(spell)?;
        let kernel_name = a.kernel.as_deref().unwrap_or("rbf");
        let kernel = match kernel_name.split_once(':') {
            None if kernel_name == "rbf" || kernel_name == "gaussian" => Kernel::Gaussian,
            None if kernel_name == "laplace" => Kernel::Laplace,
            None if kernel_name == "linear" => Kernel::Linear,
            None if kernel_name == "polynomial" => Kernel::Polynomial(2),
            Some(("polynomial", d)) => Kernel::Polynomial(d.parse().map_err(|_| {
                Error::param("kernel", format!("`{d}` is not a polynomial degree"))
            })?),
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
            "dg" => IndependenceTest::dg(),
            other => {
                return Err(Error::param(
                    "test",
                    format!(
                    "unknown test `{other}` (hsic, hsic-u, kci, rcot, rcit, fisherz, chisq, gsq, dg)"
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

    /// An error naming the first option given that the chosen test (or null, or kernel) would
    /// ignore: a kernel or width with fisherz, permutations without the permutation null.
    fn refuse_ignored(&self, spell: &dyn Fn(&str) -> String) -> Result<()> {
        let a = self;
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
                "fisherz has a normal null, and hsic-u, chisq, gsq and dg chi-square ones",
            ),
            (
                "permutations",
                a.permutations.is_some(),
                kernel_test && null == "permutation",
                "it applies to the permutation null of hsic and kci",
            ),
            (
                "samples",
                a.samples.is_some(),
                kernel_test && null == "spectral",
                "it applies to the spectral null of hsic and kci",
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
            "hsic", "hsic-u", "kci", "rcot", "rcit", "fisherz", "fisher-z", "chisq", "gsq", "dg",
        ];
        if !known.contains(&test) {
            return Ok(()); // the unknown test is reported by build_test
        }
        for (flag, given, used, why) in rules {
            if given && !used {
                let what = match (flag, test) {
                    ("width", "hsic" | "kci") if widthless => {
                        format!("the {kernel} kernel (no width)")
                    }
                    ("permutations" | "samples" | "seed", "hsic" | "kci") => {
                        format!("{test} with the {null} null")
                    }
                    _ if test.starts_with("fisher") => "the Fisher-z test".into(),
                    _ => format!("test `{test}`"),
                };
                return Err(Error::param(
                    flag,
                    format!(
                        "{what} does not use {} (it would ignore it): {why}",
                        spell(flag)
                    ),
                ));
            }
        }
        Ok(())
    }
}
