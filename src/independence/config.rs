//! The [`IndependenceTest`] constructors (one per test, with its defaults) and option setters,
//! and the [`TestResult`] of a query.

use super::{Approx, IndependenceTest, Kernel, Null, TestKind, TestResult, Width};
use std::time::Instant;

impl IndependenceTest {
    /// KCI with causal-learn's defaults (empirical widths, gamma null).
    ///
    /// On a GPU engine the gamma-null tests of a [`Tester::batch`](super::Tester::batch) (or one
    /// [`IndependenceTest::run`]; HSIC's gamma null too) run as one device job: the factors,
    /// and per Z set the bounded basis `B` with `Rz = I − B Bᵀ` (`‖B‖₂ ≤ 1`; the ε = 1e-3
    /// regularisation stays in f64), are built on the host; the Grams, cross products,
    /// projections, residuals and the gamma moments' Hadamard sums are computed in f32 on the
    /// device with compensated row sums (8-term sums, Kahan-added); the eigendecompositions of
    /// the small `MᵀM` and the p-values are f64 on the host. Statistics agree with the CPU's
    /// within 1e-4 relative and p-values within 1e-3 (tested on lavapipe; observed ~2e-7 and
    /// ~1e-7: the f32 sums of bounded terms lose about `10 · 6e-8` relative, and eigenvalues
    /// near the 1e-5 truncation threshold may be kept or dropped differently, which moves the
    /// moments by ~1e-5 relative). The Hadamard sums take the cheaper of two routes per test,
    /// as on the CPU: `n · r_a² · r_b² / 4` or `n² (r_a + r_b) / 2` multiply-adds in the kept
    /// ranks, so high-rank, many-row cases are slow on software adapters;
    /// `backend` says which ran. Under the spectral null (KCI or HSIC) the statistic and the
    /// eigenvalue weights are computed in f64 on the host and the Monte-Carlo draws run on the
    /// device (f32, one tree sum per draw): a draw falls on the other side of the statistic than
    /// on the CPU only when its total is within f32 rounding of it, so p-values agree within a
    /// draw or two (tested: |Δp| ≤ 2 / draws).
    ///
    /// ```
    /// use ceteris::{Dataset, Engine, independence::{IndependenceTest, Tester}};
    /// let data = Dataset::synthetic(150, 1);
    /// let engine = Engine::auto(); // a hardware GPU when there is one, else the CPU
    /// let tester = Tester::new(&engine, &data, IndependenceTest::kci());
    /// let s = |c: &str| vec![c.to_string()];
    /// let r = tester.batch(&[(s("t"), s("y"), s("z")), (s("x"), s("w"), vec![])]);
    /// assert!(r[0].as_ref().unwrap().p_value < 0.01); // t -> y even given z
    /// ```
    pub fn kci() -> Self {
        IndependenceTest {
            kind: TestKind::Kci,
            deletion: None,
            tolerance: 1e-9,
            approx: Approx::Lpb4,
            num_f: 100,
            num_f2: 5,
            kernel: Kernel::Gaussian,
            width: Width::Empirical,
            null: Null::Gamma,
            seed: 0,
            epsilon: 1e-3,
            threshold: 1e-5,
            keep_null: false,
        }
    }

    /// HSIC (unconditional; same statistic as unconditional KCI), gamma null by default.
    pub fn hsic() -> Self {
        IndependenceTest {
            kind: TestKind::Hsic,
            ..Self::kci()
        }
    }

    /// RCoT with RCIT's defaults: 100 features for Z, 5 for X and Y, LPB4 null.
    ///
    /// On a GPU engine the tests of a [`Tester::batch`](super::Tester::batch) (or one
    /// [`IndependenceTest::run`]) run as one device job: the Z parts (features, the `1e-10` ridge
    /// of their covariance, which has condition numbers near 1e12, and the bounded ridge basis
    /// derived from it) are built in f64 on the host once per Z set; the X/Y features, their
    /// projections on that basis, the residuals and the residual-product moments are computed in
    /// f32 on the device; the statistic and p-value are finished in f64. Statistics agree with the
    /// CPU's within `2√(n·stat)·δ + nδ²` (δ = 1e-6 unconditional, 1e-4 conditional: mostly the
    /// CPU's own conditioning noise) and p-values within 1e-4 / 2e-3; `backend` says which ran.
    ///
    /// ```
    /// use ceteris::{Dataset, Engine, independence::{IndependenceTest, Tester}};
    /// let data = Dataset::synthetic(400, 1);
    /// let engine = Engine::auto(); // a hardware GPU when there is one, else the CPU
    /// let tester = Tester::new(&engine, &data, IndependenceTest::rcot());
    /// let s = |c: &str| vec![c.to_string()];
    /// let r = tester.batch(&[(s("t"), s("y"), s("z")), (s("x"), s("w"), vec![])]);
    /// let first = r[0].as_ref().unwrap();
    /// assert!(first.p_value < 0.01); // t -> y even given z
    /// assert!(first.backend.starts_with("cpu") || first.backend.starts_with("gpu"));
    /// ```
    pub fn rcot() -> Self {
        IndependenceTest {
            kind: TestKind::Rcot,
            ..Self::kci()
        }
    }

    /// RCIT (Z appended to Y), otherwise as [`IndependenceTest::rcot`].
    pub fn rcit() -> Self {
        IndependenceTest {
            kind: TestKind::Rcit,
            ..Self::kci()
        }
    }

    /// Fisher's z test of zero partial correlation, as causal-learn's `fisherz` (one X and one
    /// Y column; the linear-Gaussian baseline of causal discovery). Kernel, width and null
    /// options do not apply; the p-value is the two-sided normal tail.
    ///
    /// ```
    /// use ceteris::{Dataset, Engine, independence::IndependenceTest};
    /// let data = Dataset::synthetic(500, 2);
    /// let r = IndependenceTest::fisher_z().run(&Engine::cpu(), &data, &["t"], &["y"], &["z"]).unwrap();
    /// assert!(r.p_value < 1e-6);
    /// ```
    pub fn fisher_z() -> Self {
        IndependenceTest {
            kind: TestKind::FisherZ,
            ..Self::kci()
        }
    }

    /// HSIC as hyppo 0.5.2's `Hsic().test(x, y)` computes it: the unbiased (U-centred) HSIC of
    /// Gaussian kernels normalised to a correlation, `HSIC_u(K, L) / √(HSIC_u(K, K) HSIC_u(L, L))`
    /// (0 when a denominator is not positive), on the raw columns, with the kernel bandwidth σ
    /// the median of X's pairwise distances applied to X **and** Y (as hyppo does; or a fixed
    /// `Width::Fixed(σ)`), and the p-value of hyppo's chi-square approximation
    /// `P(χ²₁ > n · stat + 1)`. The kernel matrices are low-rank factors at the test's
    /// tolerance. The median needs all pairwise distances, so above 10 000 rows give a fixed
    /// width.
    ///
    /// It runs on the CPU whatever the engine (`backend` says so): the unbiased statistic is a
    /// difference of terms of order n² built from uncentred factors, which f32 arithmetic on a
    /// device would not resolve, and its cost, O(n r²), is small next to building the factors.
    ///
    /// ```
    /// use ceteris::{Dataset, Engine, independence::IndependenceTest};
    /// let x: Vec<f64> = (0..200).map(|i| ((i * 7919) % 1000) as f64 / 500.0 - 1.0).collect();
    /// let y: Vec<f64> = x.iter().map(|v| (3.0 * v).sin()).collect();
    /// let data = Dataset::new().with_column("x", x).unwrap().with_column("y", y).unwrap();
    /// let r = IndependenceTest::hsic_u().run(&Engine::cpu(), &data, &["x"], &["y"], &[]).unwrap();
    /// assert!(r.statistic > 0.5 && r.p_value < 1e-10);
    /// ```
    pub fn hsic_u() -> Self {
        IndependenceTest {
            kind: TestKind::HsicU,
            width: Width::Median,
            ..Self::kci()
        }
    }

    /// Which test this is.
    pub fn kind(&self) -> TestKind {
        self.kind
    }

    /// The same options on KCI (discovery's conditional tests when HSIC is chosen).
    pub(crate) fn into_kci(self) -> Self {
        IndependenceTest {
            kind: TestKind::Kci,
            ..self
        }
    }

    /// Test-wise deletion: per test, drop the rows where any conditioning column equals
    /// `marker` (e.g. 0.0 for dropout zeros in single-cell data) before testing. A NaN marker
    /// means missing values: the rows with NaN in any column of the test (X, Y or Z) are dropped
    /// for that test, as causal-learn's test-wise deletion does.
    ///
    /// ```
    /// let t = ceteris::independence::IndependenceTest::kci().testwise_deletion(Some(0.0));
    /// ```
    pub fn testwise_deletion(mut self, marker: Option<f64>) -> Self {
        self.deletion = marker;
        self
    }

    /// Residual-trace tolerance of the low-rank Gram factors of X and Y, relative to `n` times the
    /// mean kernel diagonal (default 1e-9: statistics within ~1e-9 relative of the exact ones;
    /// the Z factor always uses 1e-12). `0.0` factors exactly (full rank, O(n³)).
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.tolerance = tol;
        self
    }

    /// Null approximation of RCoT/RCIT.
    pub fn approx(mut self, approx: Approx) -> Self {
        self.approx = approx;
        self
    }

    /// Random Fourier features: `num_f` for Z, `num_f2` for X and Y (RCoT/RCIT). A GPU engine
    /// takes at most 8 for X and Y (more is a `limits` GPU error, which `Engine::auto` reruns on
    /// the CPU).
    ///
    /// ```
    /// let t = ceteris::independence::IndependenceTest::rcot().features(50, 4);
    /// assert_eq!(t.name(), "rcot");
    /// ```
    pub fn features(mut self, num_f: usize, num_f2: usize) -> Self {
        self.num_f = num_f;
        self.num_f2 = num_f2;
        self
    }

    /// Kernel family.
    pub fn kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// Kernel width rule.
    pub fn width(mut self, width: Width) -> Self {
        self.width = width;
        self
    }

    /// Null distribution.
    pub fn null(mut self, null: Null) -> Self {
        self.null = null;
        self
    }

    /// Keep the null's draws (permuted statistics or spectral-null draws) in
    /// [`TestResult::null_draws`](super::TestResult::null_draws), for the nulls that draw them
    /// (`Null::Permutation`, `Null::Spectral`) in single-query runs. Off by default.
    pub fn keep_null(mut self, keep: bool) -> Self {
        self.keep_null = keep;
        self
    }

    /// Seed of the permutation streams.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// `hsic` or `kci`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            TestKind::Hsic => "hsic",
            TestKind::Kci => "kci",
            TestKind::Rcot => "rcot",
            TestKind::Rcit => "rcit",
            TestKind::FisherZ => "fisherz",
            TestKind::HsicU => "hsic-u",
            TestKind::Chisq => "chisq",
            TestKind::Gsq => "gsq",
            TestKind::Dg => "dg",
        }
    }

    /// The result of query `(x, y, z)` with this test's name.
    pub(super) fn result(
        &self,
        (x, y, z): (&[&str], &[&str], &[&str]),
        (statistic, p_value): (f64, f64),
        n: usize,
        null: String,
        backend: String,
        start: Instant,
    ) -> TestResult {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        TestResult {
            test: self.name().into(),
            statistic,
            p_value,
            n,
            null,
            backend,
            seconds: start.elapsed().as_secs_f64(),
            x: names(x),
            y: names(y),
            z: names(z),
            null_draws: None,
        }
    }
}
