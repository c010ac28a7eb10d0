//! Kernel independence tests: HSIC and KCI (unconditional and conditional).
//!
//! Mirrors causal-learn 0.1.4.8's `KCI_UInd` / `KCI_CInd` with Gaussian kernels and the gamma
//! approximation, option for option:
//! * every column standardised (z-score, ddof = 1);
//! * kernel `exp(−θ/2 ‖u − v‖²)`;
//! * empirical widths by sample size: unconditional `w = 0.8 / 0.5 / 0.3` (n < 200 / < 1200 /
//!   otherwise), `θ = dim / w²`; conditional `w = 1.2 / 0.7 / 0.4`, `θ = 1 / (w² · dim Z)` for the
//!   kernels of X, Y and Z alike; median widths `θ = 1 / (2 · median distance²)` (unconditional: on
//!   the raw columns, as causal-learn; conditional: on the standardised ones);
//! * conditional: X augmented with `Z / 2`, Y not; centred kernels; `Rz = ε (Kz + εI)⁻¹` with
//!   ε = 1e-3 (f64 throughout); statistic `Σ KxR∘KyR`; eigenvalues kept above `1e-5 · max`; gamma
//!   approximation from the traces of the eigenvector products.
//!
//! Other kernels ([`Kernel`]), all on the standardised columns, with the same statistics and
//! null approximations:
//! * linear `u·v` and polynomial `(1 + u·v)^degree` are causal-learn's `LinearKernel` and
//!   `PolynomialKernel(polyd, const = 1.0)` (no width; the width rule is ignored);
//! * ceteris applies one kernel family to X, Y **and Z**: a conditional test with a linear or
//!   polynomial kernel is causal-learn's `KCI_CInd(kernelX = K, kernelY = K, kernelZ = K)`, whereas
//!   causal-learn leaves `kernelZ = 'Gaussian'` unless it is given;
//! * Laplace `exp(−‖u − v‖ / σ)` has no causal-learn counterpart: σ = 1/√θ is the Gaussian
//!   rule's σ (unconditional empirical `w / √dim`, conditional empirical `w · √dim Z`, median
//!   `√2 ·` median distance on the same rows as the Gaussian median, or the fixed width).
//!
//! Linear and polynomial kernels (degrees 2 and 3) are tested against causal-learn, Laplace
//! against a numpy implementation validated on causal-learn's Gaussian KCI
//! (`tests/reference/make_kernels_reference.py`).
//!
//! Differences, documented: Gram matrices are replaced by pivoted incomplete Cholesky factors with
//! residual trace ≤ `1e-12 · n` (relative effect on the statistic below 1e-9); causal-learn's
//! median width on more than 1000 rows uses a random subset of 1000 rows, ceteris every
//! `⌈n / 1000⌉`-th row (deterministic and spread over the data).
//! The permutation null (HSIC) uses counter-based Philox permutations: permutation `p` is the same
//! on every run, thread count and backend.
//!
//! ```
//! use ceteris::{Dataset, Engine, independence::IndependenceTest};
//! let x: Vec<f64> = (0..300).map(|i| ((i * 7919) % 1000) as f64 / 1000.0).collect();
//! let y: Vec<f64> = x.iter().map(|v| (6.0 * v).sin()).collect();
//! let data = Dataset::new().with_column("x", x).unwrap().with_column("y", y).unwrap();
//! let r = IndependenceTest::kci().run(&Engine::cpu(), &data, &["x"], &["y"], &[]).unwrap();
//! assert!(r.p_value < 1e-6);
//! ```

mod chi2mix;
mod cpu;
mod fisherz;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
mod jobs;
pub(crate) mod kci;

pub(crate) use fisherz::partial_correlation;
pub(crate) use kci::frob2;
mod lowrank;
pub(crate) mod rff;

pub use rff::{Approx, Features};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::rng::{lemire_index, lemire_threshold, uniform_index, Stream, STREAM_PERMUTATION};
use crate::engine::{run_on, Engine};
use faer::Mat;
use lowrank::{factor, KernelFn, Points};
use rayon::prelude::*;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Gamma};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Fewest rows a kernel test accepts.
pub const MIN_ROWS: usize = 10;

/// What stays on the CPU when the spectral null's draws run on the GPU.
const SPECTRAL_SPLIT: &str = "spectral draws; factors and eigenvalues on the CPU";

/// Kernel width rule for Gaussian kernels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Width {
    /// causal-learn's empirical rule by sample size (the default).
    Empirical,
    /// Median heuristic.
    Median,
    /// Fixed bandwidth σ (θ = 1/σ²) for every kernel.
    Fixed(f64),
}

/// Kernel family (applied to X, Y and, for KCI, Z).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kernel {
    /// Gaussian `exp(−‖u − v‖² / (2σ²))` (the default; σ from the width rule).
    Gaussian,
    /// Laplace `exp(−‖u − v‖ / σ)`, σ the Gaussian width rule's σ = 1/√θ: empirical
    /// `w / √dim` (unconditional) or `w · √dim Z` (conditional), median `√2 ·` the median pairwise
    /// distance, or the fixed width.
    Laplace,
    /// Linear `u·v` (no width), as causal-learn's `LinearKernel`.
    Linear,
    /// Polynomial `(1 + u·v)^degree` (no width), as causal-learn's `PolynomialKernel(degree)`
    /// (constant 1; the CLI's `polynomial` is degree 2, causal-learn's default `polyd`).
    Polynomial(u32),
}

/// Null distribution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Null {
    /// Gamma approximation (mean and variance matched), as causal-learn.
    Gamma,
    /// Permutation test with this many permutations (unconditional tests only).
    Permutation(u32),
    /// Spectral null: the statistic's null is a weighted sum of χ²₁ with weights from the
    /// eigenvalues of the centred (regressed) kernel matrices, simulated with this many Philox
    /// draws (causal-learn's `approx=False`).
    Spectral(u32),
}

/// Which test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TestKind {
    /// HSIC V-statistic (unconditional).
    Hsic,
    /// KCI (unconditional when Z is empty, else conditional).
    Kci,
    /// RCoT: random Fourier features of X and Y, Z regressed out (RIT when Z is empty).
    Rcot,
    /// RCIT: as RCoT with Z appended to Y.
    Rcit,
    /// Fisher's z test of zero partial correlation (linear-Gaussian baseline).
    FisherZ,
    /// hyppo's `Hsic`: unbiased, normalised HSIC with its chi-square approximation.
    HsicU,
}

/// A configured kernel independence test.
///
/// ```
/// use ceteris::independence::{IndependenceTest, Null, Width};
/// let t = IndependenceTest::hsic().null(Null::Permutation(500)).width(Width::Median).seed(3);
/// assert_eq!(t.name(), "hsic");
/// ```
#[derive(Clone, Debug)]
pub struct IndependenceTest {
    kind: TestKind,
    deletion: Option<f64>,
    tolerance: f64,
    approx: Approx,
    num_f: usize,
    num_f2: usize,
    kernel: Kernel,
    width: Width,
    null: Null,
    seed: u64,
    epsilon: f64,
    threshold: f64,
}

/// The outcome of one test.
#[derive(Clone, Debug, Serialize)]
pub struct TestResult {
    /// `hsic` or `kci`.
    pub test: String,
    /// The V-statistic.
    pub statistic: f64,
    /// p-value under the chosen null.
    pub p_value: f64,
    /// Rows.
    pub n: usize,
    /// `gamma` or `permutation`.
    pub null: String,
    /// Where it ran.
    pub backend: String,
    /// Compute seconds (excluding reading the input).
    pub seconds: f64,
    /// X columns.
    pub x: Vec<String>,
    /// Y columns.
    pub y: Vec<String>,
    /// Z columns (empty when unconditional).
    pub z: Vec<String>,
}

fn std_columns(data: &Dataset, names: &[&str], role: &str) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    // returns (row-major standardised, raw columns)
    if names.is_empty() {
        return Err(Error::param(role, format!("no {role} columns given")));
    }
    let n = data.n_rows();
    let d = names.len();
    let mut raw = Vec::with_capacity(d);
    let mut rows = vec![0.0; n * d];
    for (j, name) in names.iter().enumerate() {
        let c = data.finite_column(name)?;
        let m = c.iter().sum::<f64>() / n as f64;
        let sd = (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
        if sd.is_nan() || sd <= 0.0 || c.iter().all(|&v| v == c[0]) {
            return Err(Error::ConstantColumn(name.to_string()));
        }
        for i in 0..n {
            rows[i * d + j] = (c[i] - m) / sd;
        }
        raw.push(c.to_vec());
    }
    Ok((rows, raw))
}

/// Median of the non-zero pairwise Euclidean distances among the first `max_rows` rows of
/// row-major `rows` (`n × d`); None when every pair coincides. numpy's median over the symmetric
/// distance matrix (each pair twice) is the same number.
pub(crate) fn median_distance(rows: &[f64], d: usize, max_rows: usize) -> Option<f64> {
    let n = (rows.len() / d).min(max_rows);
    let mut dists = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let s: f64 = (0..d)
                .map(|k| (rows[i * d + k] - rows[j * d + k]).powi(2))
                .sum();
            if s > 0.0 {
                dists.push(s.sqrt());
            }
        }
    }
    if dists.is_empty() {
        return None;
    }
    dists.sort_by(f64::total_cmp);
    let m = dists.len();
    Some(if m % 2 == 1 {
        dists[m / 2]
    } else {
        0.5 * (dists[m / 2 - 1] + dists[m / 2])
    })
}

/// hyppo's Gaussian bandwidth: the median of all off-diagonal pairwise distances of row-major
/// `rows` (zeros included), or 1 when that median is 0.
fn hyppo_median(rows: &[f64], d: usize) -> Result<f64> {
    let n = rows.len() / d;
    if n > 10_000 {
        return Err(Error::param(
            "width",
            format!("hyppo's median width needs all {n}² pairwise distances; give a fixed --width"),
        ));
    }
    let mut dists = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let s: f64 = (0..d)
                .map(|k| (rows[i * d + k] - rows[j * d + k]).powi(2))
                .sum();
            dists.push(s.sqrt());
        }
    }
    let m = dists.len();
    let (_, &mut hi, _) = dists.select_nth_unstable_by(m / 2, f64::total_cmp);
    let med = if m % 2 == 1 {
        hi
    } else {
        let lo = dists[..m / 2]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lo + hi)
    };
    Ok(if med > 0.0 { med } else { 1.0 })
}

/// θ = 1 / (2 median²) of pairwise Euclidean distances over at most 1000 rows: all of them up to
/// 1000, otherwise every `⌈n / 1000⌉`-th row (deterministic, and spread over the whole data set
/// even when the rows are sorted, e.g. by time).
fn median_theta(rows: &[f64], d: usize, what: &str) -> Result<f64> {
    let n = rows.len() / d;
    let step = n.div_ceil(1000).max(1);
    let picked: Vec<f64> = rows
        .chunks_exact(d)
        .step_by(step)
        .flatten()
        .copied()
        .collect();
    let med = median_distance(&picked, d, 1000)
        .ok_or_else(|| Error::param(what, "all rows are identical: the median width is zero"))?;
    let width = std::f64::consts::SQRT_2 * med;
    Ok(1.0 / (width * width))
}

/// Row-wise concatenation `[a, scale · b]` of row-major `n × da` and `n × db` matrices.
fn hstack(a: &[f64], da: usize, b: &[f64], db: usize, scale: f64) -> Vec<f64> {
    a.chunks_exact(da)
        .zip(b.chunks_exact(db))
        .flat_map(|(ra, rb)| ra.iter().copied().chain(rb.iter().map(|v| scale * v)))
        .collect()
}

fn row_major(cols: &[Vec<f64>]) -> Vec<f64> {
    let (n, d) = (cols[0].len(), cols.len());
    let mut rows = vec![0.0; n * d];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..n {
            rows[i * d + j] = c[i];
        }
    }
    rows
}

/// Fisher–Yates permutation `p` of `0..n` from the Philox permutation stream: step `i` (from
/// `n − 1` down to 1) swaps `i` with a uniform `j ∈ [0, i]` drawn from word `n − 1 − i`
/// (four words per block, Lemire's method with the fallback block on rejection).
pub fn permutation(seed: u64, p: u32, n: usize) -> Vec<u32> {
    let stream = Stream::new(seed, STREAM_PERMUTATION);
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let mut words = [0u32; 4];
    for (step, i) in (1..n).rev().enumerate() {
        if step % 4 == 0 {
            words = stream.block(p, (step / 4) as u32);
        }
        let range = i as u32 + 1;
        let j =
            lemire_index(words[step % 4], range, lemire_threshold(range)).unwrap_or_else(|| {
                let f = stream.fallback_block(p, step as u32);
                uniform_index(f[0], f[1], range)
            });
        perm.swap(i, j as usize);
    }
    perm
}

/// Permutations `perms` of `0..n` of the HSIC permutation null with seed `seed` (each as
/// [`permutation`]), concatenated, drawn on the engine's backend: a GPU engine draws them on the
/// device, as its permutation null does, and the indices are the same on every backend.
///
/// ```
/// use ceteris::{independence, Engine};
/// let p = independence::permutations(&Engine::cpu(), 7, 5, 2..4).unwrap();
/// assert_eq!(&p[..5], &independence::permutation(7, 2, 5)[..]);
/// assert_eq!(&p[5..], &independence::permutation(7, 3, 5)[..]);
/// ```
pub fn permutations(
    engine: &crate::Engine,
    seed: u64,
    n: usize,
    perms: std::ops::Range<u32>,
) -> Result<Vec<u32>> {
    if n == 0 || n > u32::MAX as usize {
        return Err(Error::param("n", "must be between 1 and 2^32 − 1"));
    }
    Ok(run_on!(engine,
        cpu: cpu::permutations(seed, n, perms.clone()),
        gpu: |ctx| gpu::permutations(ctx, seed, n, perms.clone()))?
    .0)
}

impl IndependenceTest {
    /// KCI with causal-learn's defaults (empirical widths, gamma null).
    ///
    /// On a GPU engine the gamma-null tests of a [`Tester::batch`] (or one
    /// [`IndependenceTest::run`]; HSIC's gamma null too) run as one device job: the factors,
    /// and per Z set the bounded basis `B` with `Rz = I − B Bᵀ` (`‖B‖₂ ≤ 1`; the ε = 1e-3
    /// regularisation stays in f64), are built on the host; the Grams, cross products,
    /// projections, residuals and the gamma moments' Hadamard sums are computed in f32 on the
    /// device with pairwise row sums; the eigendecompositions of the small `MᵀM` and the p-values
    /// are f64 on the host. Statistics agree with the CPU's within 1e-4 relative and p-values
    /// within 1e-3 (tested on lavapipe; observed ~2e-7 and ~1e-7: pairwise f32 sums of bounded
    /// terms lose about `log₂(n) · 6e-8` relative, and eigenvalues near the 1e-5 truncation
    /// threshold may be kept or dropped differently, which moves the moments by ~1e-5
    /// relative). The cost of the Hadamard sums grows as `n · r_a² · r_b² / 4` with the kept
    /// ranks, so high-rank (multivariate, many-row) cases are slow on software adapters;
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
    /// On a GPU engine the tests of a [`Tester::batch`] (or one [`IndependenceTest::run`]) run
    /// as one device job: the Z parts (features, the `1e-10` ridge of their covariance, which
    /// has condition numbers near 1e12, and the bounded ridge basis derived from it) are built in
    /// f64 on the host once per Z set; the X/Y features, their projections on that basis, the
    /// residuals and the residual-product moments are computed in f32 on the device; the
    /// statistic and p-value are finished in f64. Statistics agree with the CPU's within
    /// `2√(n·stat)·δ + nδ²` (δ = 1e-6 unconditional, 1e-4 conditional: mostly the CPU's own
    /// conditioning noise) and p-values within 1e-4 / 2e-3; `backend` says which ran.
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
    /// `marker` (e.g. 0.0 for dropout zeros in single-cell data) before testing.
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
        }
    }

    /// The result of query `(x, y, z)` with this test's name.
    fn result(
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
        }
    }

    /// Tests X ⫫ Y (| Z when `z` is non-empty) on the named columns.
    pub fn run(
        &self,
        engine: &Engine,
        data: &Dataset,
        x: &[&str],
        y: &[&str],
        z: &[&str],
    ) -> Result<TestResult> {
        self.run_with(engine, data, x, y, z, &Cache::default())
    }

    fn run_with(
        &self,
        engine: &Engine,
        data: &Dataset,
        x: &[&str],
        y: &[&str],
        z: &[&str],
        cache: &Cache,
    ) -> Result<TestResult> {
        let start = Instant::now();
        if let (Some(marker), false) = (self.deletion, z.is_empty()) {
            // keep the rows where no conditioning column equals the marker; test on them alone
            let zc = z
                .iter()
                .map(|c| data.column(c))
                .collect::<Result<Vec<_>>>()?;
            let keep: Vec<usize> = (0..data.n_rows())
                .filter(|&i| zc.iter().all(|c| c[i] != marker))
                .collect();
            let mut sub = Dataset::new();
            for c in x.iter().chain(y).chain(z) {
                if sub.column(c).is_ok() {
                    continue; // a column named twice: the check below reports it
                }
                let col = data.column(c)?;
                sub.push_column(c, keep.iter().map(|&i| col[i]).collect())?;
            }
            let plain = IndependenceTest {
                deletion: None,
                ..self.clone()
            };
            let mut r = plain.run_with(engine, &sub, x, y, z, &Cache::default())?;
            r.seconds = start.elapsed().as_secs_f64();
            return Ok(r);
        }
        self.check(data, x, y, z)?;
        let n = data.n_rows();
        if self.kind == TestKind::FisherZ {
            return self
                .fisher_z_batch(engine, data, &[(x, y, z)], cache)
                .remove(0);
        }
        if matches!(self.kind, TestKind::Rcot | TestKind::Rcit) {
            return self.rff_batch(engine, data, &[(x, y, z)], cache).remove(0);
        }
        if matches!(self.kind, TestKind::Kci | TestKind::Hsic) && self.null == Null::Gamma {
            return self.kci_batch(engine, data, &[(x, y, z)], cache).remove(0);
        }
        // the backend that ran the null's device part (permutations or spectral draws), and what
        // stayed on the CPU
        let mut null_backend: Option<(String, &str)> = None;
        let (statistic, p_value) = if self.kind == TestKind::HsicU {
            if self.null != Null::Gamma {
                return Err(Error::param(
                    "null",
                    "hsic-u uses hyppo's chi-square approximation; use --test hsic for permutation or spectral nulls",
                ));
            }
            if self.kernel != Kernel::Gaussian {
                return Err(Error::param("kernel", "hsic-u uses the Gaussian kernel"));
            }
            let tol = self.tolerance * n as f64;
            let (_, xraw) = std_columns(data, x, "x")?;
            let (_, yraw) = std_columns(data, y, "y")?;
            let (xr, yr) = (row_major(&xraw), row_major(&yraw));
            let sigma = match self.width {
                Width::Fixed(s) => s,
                _ => hyppo_median(&xr, x.len())?,
            };
            let kfn = KernelFn::Gaussian {
                theta: 1.0 / (sigma * sigma),
            };
            let fx = factor(
                &Points {
                    data: &xr,
                    d: x.len(),
                },
                kfn,
                tol,
            )
            .to_mat();
            let fy = factor(
                &Points {
                    data: &yr,
                    d: y.len(),
                },
                kfn,
                tol,
            )
            .to_mat();
            let stat = kci::unbiased_correlation(&fx, &fy);
            let chi = statrs::distribution::ChiSquared::new(1.0).expect("one degree of freedom");
            (stat, chi.sf(stat * n as f64 + 1.0))
        } else {
            let KciPrepared {
                x: (kx, lx),
                y: (ky, ly),
                z: zpart,
            } = self.kci_prepare(data, (x, y, z), cache)?;
            match zpart {
                None => {
                    let m = kci::unconditional(&lx, &ly);
                    let p = match self.null {
                        Null::Gamma => gamma_sf(m)?,
                        Null::Permutation(perms) => {
                            let (p, ran) =
                                self.permutation_p(engine, &lx, &ly, m.statistic, perms)?;
                            null_backend = Some((ran, "permutations; factors on the CPU"));
                            p
                        }
                        Null::Spectral(draws) => {
                            let w = kci::spectral_weights_uncond(&lx, &ly)?;
                            let (p, ran) = self.spectral_p(engine, &w, m.statistic, draws)?;
                            null_backend = Some((ran, SPECTRAL_SPLIT));
                            p
                        }
                    };
                    (m.statistic, p)
                }
                Some((_, zp)) => {
                    let mx = zp.regressed(&kx, &lx)?;
                    let my = zp.regressed(&ky, &ly)?;
                    let mo = kci::conditional(&mx, &my, self.threshold)?;
                    let p = match self.null {
                        Null::Spectral(draws) => {
                            let w = kci::spectral_weights_cond(&mx, &my, self.threshold)?;
                            let (p, ran) = self.spectral_p(engine, &w, mo.statistic, draws)?;
                            null_backend = Some((ran, SPECTRAL_SPLIT));
                            p
                        }
                        _ => gamma_sf(mo)?,
                    };
                    (mo.statistic, p)
                }
            }
        };
        let null = match (self.kind, self.null) {
            (TestKind::Rcot | TestKind::Rcit, _) => format!("{:?}", self.approx).to_lowercase(),
            (_, Null::Gamma) => "gamma".into(),
            (_, Null::Permutation(p)) => format!("permutation:{p}"),
            (_, Null::Spectral(d)) => format!("spectral:{d}"),
        };
        let backend = match null_backend {
            Some((b, split)) if b.starts_with("gpu") => format!("{b} ({split})"),
            Some((b, _)) => b,
            None if engine.kind() == crate::BackendKind::Gpu => {
                format!("{} (hsic-u runs on the CPU)", engine.cpu_name())
            }
            None => engine.cpu_name(),
        };
        Ok(self.result((x, y, z), (statistic, p_value), n, null, backend, start))
    }

    /// Validation shared by every test (before any computation).
    fn check(&self, data: &Dataset, x: &[&str], y: &[&str], z: &[&str]) -> Result<()> {
        let n = data.n_rows();
        if n < MIN_ROWS {
            return Err(Error::TooFewRows {
                what: "a kernel independence test".into(),
                need: MIN_ROWS,
                got: n,
            });
        }
        for (a, ra, b, rb) in [(x, "x", y, "y"), (x, "x", z, "z"), (y, "y", z, "z")] {
            if let Some(c) = a.iter().find(|c| b.contains(c)) {
                return Err(Error::param(
                    rb,
                    format!("column `{c}` is in both --{ra} and --{rb}"),
                ));
            }
        }
        if matches!(self.kind, TestKind::Hsic | TestKind::HsicU) && !z.is_empty() {
            return Err(Error::param(
                "z",
                "HSIC is unconditional; use --test kci for X ⫫ Y | Z",
            ));
        }
        if matches!(self.kind, TestKind::Rcot | TestKind::Rcit)
            && matches!(self.null, Null::Permutation(_))
        {
            return Err(Error::param(
                "null",
                "RCoT/RCIT use moment approximations (lpb4, hbe, gamma, chi2), not permutations",
            ));
        }
        if let Null::Spectral(0) = self.null {
            return Err(Error::param(
                "samples",
                "the spectral null needs at least 1 draw",
            ));
        }
        if let Null::Permutation(p) = self.null {
            if p == 0 {
                return Err(Error::param("permutations", "must be at least 1"));
            }
            if !z.is_empty() {
                return Err(Error::param(
                    "null",
                    "the permutation null is for unconditional tests; use gamma with --z",
                ));
            }
        }
        if !(self.tolerance >= 0.0 && self.tolerance < 1.0) {
            return Err(Error::param(
                "tolerance",
                format!("{} is not in [0, 1)", self.tolerance),
            ));
        }
        if let Width::Fixed(s) = self.width {
            if !(s > 0.0 && s.is_finite()) {
                return Err(Error::param(
                    "width",
                    format!("{s} is not a positive bandwidth"),
                ));
            }
        }
        if self.kind == TestKind::FisherZ {
            if x.len() != 1 || y.len() != 1 {
                return Err(Error::param(
                    if x.len() != 1 { "x" } else { "y" },
                    "the Fisher-z test takes exactly one X and one Y column",
                ));
            }
            if !matches!(self.null, Null::Gamma) {
                return Err(Error::param(
                    "null",
                    "the Fisher-z test has a normal null; permutation and spectral nulls do not apply",
                ));
            }
        }
        Ok(())
    }

    /// Fisher-z tests of a batch of checked queries: one correlation matrix (f64, host) shared
    /// by all, the partial correlations on the engine's backend (one dispatch per
    /// conditioning-set size), the p-values in f64.
    fn fisher_z_batch(
        &self,
        engine: &Engine,
        data: &Dataset,
        queries: &[(&[&str], &[&str], &[&str])],
        cache: &Cache,
    ) -> Vec<Result<TestResult>> {
        let start = Instant::now();
        let n = data.n_rows();
        let mut out: Vec<Option<Result<TestResult>>> = (0..queries.len()).map(|_| None).collect();
        // columns in first-use order, each checked once
        let mut cols: Vec<&str> = Vec::new();
        let mut ok: Vec<usize> = Vec::new();
        for (q, (x, y, z)) in queries.iter().enumerate() {
            let checked = x
                .iter()
                .chain(y.iter())
                .chain(z.iter())
                .try_for_each(|c| cache.std_column(data, c))
                .and_then(|_| fisherz::check_rows(n, z.len()));
            match checked {
                Err(e) => out[q] = Some(Err(e)),
                Ok(()) => {
                    for c in x.iter().chain(y.iter()).chain(z.iter()) {
                        if !cols.contains(c) {
                            cols.push(c);
                        }
                    }
                    ok.push(q);
                }
            }
        }
        let p = cols.len();
        let mut corr = vec![1.0; p * p];
        for i in 0..p {
            for j in 0..i {
                match cache.correlation(data, cols[i], cols[j]) {
                    Ok(r) => {
                        corr[i * p + j] = r;
                        corr[j * p + i] = r;
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        return queries
                            .iter()
                            .map(|_| Err(Error::param("data", msg.clone())))
                            .collect();
                    }
                }
            }
        }
        let idx = |c: &str| cols.iter().position(|v| *v == c).expect("indexed") as u32;
        let mut depths: Vec<usize> = ok.iter().map(|&q| queries[q].2.len()).collect();
        depths.sort_unstable();
        depths.dedup();
        for depth in depths {
            let group: Vec<usize> = ok
                .iter()
                .copied()
                .filter(|&q| queries[q].2.len() == depth)
                .collect();
            let pairs: Vec<u32> = group
                .iter()
                .flat_map(|&q| [idx(queries[q].0[0]), idx(queries[q].1[0])])
                .collect();
            let sets: Vec<u32> = group
                .iter()
                .flat_map(|&q| queries[q].2.iter().map(|c| idx(c)))
                .collect();
            let job = jobs::PcorJob {
                p,
                corr: &corr,
                depth,
                pairs: &pairs,
                sets: &sets,
            };
            match run_on!(engine, cpu: cpu::partial_correlations(&job), gpu: |ctx| gpu::partial_correlations(ctx, &job)) {
                Err(e) => {
                    for &q in &group {
                        out[q] = Some(Err(match &e {
                            Error::Gpu { kind, message } => Error::Gpu {
                                kind,
                                message: message.clone(),
                            },
                            other => Error::param("test", other.to_string()),
                        }));
                    }
                }
                Ok((rs, ran)) => {
                    for (&q, &r) in group.iter().zip(&rs) {
                        out[q] = Some(fisherz::finish(r, n, depth).map(|sp| {
                            self.result(queries[q], sp, n, "normal".into(), ran.label(""), start)
                        }));
                    }
                }
            }
        }
        out.into_iter()
            .map(|r| r.expect("every query answered"))
            .collect()
    }

    /// The sets and Z part of one checked RCoT/RCIT query (RIT when `z` is empty): standardised
    /// columns (RCIT: Y augmented with the standardised Z), features from the seed, each set
    /// keyed by role and columns. The sets, the bandwidths and the Z part are cached by column
    /// names (the sets behind `Arc`s, so a GPU engine keeps them on the device across batches).
    fn rff_prepare(
        &self,
        data: &Dataset,
        (x, y, z): (&[&str], &[&str], &[&str]),
        cache: &Cache,
    ) -> Result<RffPrepared> {
        if self.num_f == 0 || self.num_f2 == 0 {
            return Err(Error::param(
                "features",
                "feature counts must be at least 1",
            ));
        }
        let (dx, dy) = (x.len(), y.len());
        let rcit = self.kind == TestKind::Rcit && !z.is_empty();
        let sigma =
            |key: &str, rows: &[f64], d: usize| cache.sigma(key, || rff::median_sigma(rows, d));
        let set = |rows, d, features| Arc::new(jobs::RffSet { rows, d, features });
        // the features depend on the seed and count as well as the columns
        let tag = format!("{}|{}|", self.seed, self.num_f2);
        let xkey = format!("x{x:?}");
        let xset = cache.rff_set(&format!("{tag}{xkey}"), || {
            let (xs, _) = std_columns(data, x, "x")?;
            let fx = rff::draw_features(self.seed, 0, self.num_f2, dx, sigma(&xkey, &xs, dx));
            Ok(set(xs, dx, fx))
        })?;
        // RCIT: Y augmented with the standardised Z
        let ykey = if rcit {
            format!("y{y:?}|{z:?}")
        } else {
            format!("y{y:?}")
        };
        let yset = cache.rff_set(&format!("{tag}{ykey}"), || {
            let (ys, _) = std_columns(data, y, "y")?;
            let (yrows, dyr) = if rcit {
                let (zs, _) = std_columns(data, z, "z")?;
                (hstack(&ys, dy, &zs, z.len(), 1.0), dy + z.len())
            } else {
                (ys, dy)
            };
            let fy = rff::draw_features(self.seed, 1, self.num_f2, dyr, sigma(&ykey, &yrows, dyr));
            Ok(set(yrows, dyr, fy))
        })?;
        let zpart = if z.is_empty() {
            None
        } else {
            let key = format!("{}|{}|{z:?}", self.seed, self.num_f);
            let part = cache.z_part(&key, || {
                let (zs, _) = std_columns(data, z, "z")?;
                let fz = rff::draw_features(
                    self.seed,
                    2,
                    self.num_f,
                    z.len(),
                    sigma(&format!("z{z:?}"), &zs, z.len()),
                );
                rff::z_part(&zs, z.len(), &fz)
            })?;
            Some((key, part))
        };
        Ok(RffPrepared {
            x: (xkey, xset),
            y: (ykey, yset),
            z: zpart,
        })
    }

    /// RCoT/RCIT/RIT tests of a batch of queries: the sets and Z parts prepared on the host
    /// (Z parts in f64, cached), then the moments of every test in one job on the engine's
    /// backend (one submit on a GPU engine), then each p-value in f64.
    fn rff_batch(
        &self,
        engine: &Engine,
        data: &Dataset,
        queries: &[(&[&str], &[&str], &[&str])],
        cache: &Cache,
    ) -> Vec<Result<TestResult>> {
        let start = Instant::now();
        let n = data.n_rows();
        let prepared: Vec<Result<RffPrepared>> = queries
            .par_iter()
            .map(|&(x, y, z)| {
                self.check(data, x, y, z)?;
                self.rff_prepare(data, (x, y, z), cache)
            })
            .collect();
        let mut out: Vec<Option<Result<TestResult>>> = (0..queries.len()).map(|_| None).collect();
        let mut sets: Vec<Arc<jobs::RffSet>> = Vec::new();
        let mut set_at: HashMap<String, usize> = HashMap::new();
        let mut zparts: Vec<Arc<rff::ZPart>> = Vec::new();
        let mut z_at: HashMap<String, usize> = HashMap::new();
        let mut tests = Vec::new();
        let mut ok = Vec::new();
        for (q, p) in prepared.into_iter().enumerate() {
            match p {
                Err(e) => out[q] = Some(Err(e)),
                Ok(RffPrepared { x, y, z }) => {
                    let xi = intern(&mut set_at, &mut sets, x.0, x.1);
                    let yi = intern(&mut set_at, &mut sets, y.0, y.1);
                    let zi = z.map(|(key, part)| intern(&mut z_at, &mut zparts, key, part));
                    tests.push(jobs::RffTest {
                        x: xi,
                        y: yi,
                        z: zi,
                    });
                    ok.push(q);
                }
            }
        }
        let job = jobs::RffJob {
            n,
            sets: &sets,
            zparts: &zparts,
            tests: &tests,
        };
        match run_on!(engine, cpu: cpu::rff_moments(&job), gpu: |ctx| gpu::rff::rff_moments(ctx, &job)) {
            Err(e) => {
                for &q in &ok {
                    out[q] = Some(Err(match &e {
                        Error::Gpu { kind, message } => Error::Gpu {
                            kind,
                            message: message.clone(),
                        },
                        other => Error::param("test", other.to_string()),
                    }));
                }
            }
            Ok((moments, ran)) => {
                let backend = ran.label("features and moments; Z parts in f64 on the CPU");
                let finished: Vec<Result<(f64, f64)>> = moments
                    .into_par_iter()
                    .map(|m| rff::finish(n, &m?, self.approx))
                    .collect();
                let null = format!("{:?}", self.approx).to_lowercase();
                for (&q, r) in ok.iter().zip(finished) {
                    out[q] = Some(r.map(|sp| {
                        self.result(queries[q], sp, n, null.clone(), backend.clone(), start)
                    }));
                }
            }
        }
        out.into_iter()
            .map(|r| r.expect("every query answered"))
            .collect()
    }

    /// The centred factors of one checked KCI/HSIC query and, when conditional, its Z part
    /// (causal-learn's widths; X augmented with Z / 2), each cached by kernel, θ and columns.
    fn kci_prepare(
        &self,
        data: &Dataset,
        (x, y, z): (&[&str], &[&str], &[&str]),
        cache: &Cache,
    ) -> Result<KciPrepared> {
        let n = data.n_rows();
        // residual trace of the factors, relative to the mean kernel diagonal: the X and Y factors
        // enter the statistic linearly (relative error ≈ tol / n); the Z factor is amplified by
        // up to 1/ε through (Kz + εI)⁻¹, so it is kept 1000× tighter
        let tol = self.tolerance * n as f64;
        let tol_z = self.tolerance.min(1e-12) * n as f64;
        let (xs, xraw) = std_columns(data, x, "x")?;
        let (ys, yraw) = std_columns(data, y, "y")?;
        if z.is_empty() {
            let bracket = if n < 200 {
                0.8
            } else if n < 1200 {
                0.5
            } else {
                0.3
            };
            let theta = |raw: &[Vec<f64>], what: &str| -> Result<f64> {
                let d = raw.len();
                Ok(match self.width {
                    Width::Empirical => d as f64 / (bracket * bracket),
                    Width::Median => median_theta(&row_major(raw), d, what)?,
                    Width::Fixed(s) => 1.0 / (s * s),
                })
            };
            let (tx, ty) = (theta(&xraw, "x")?, theta(&yraw, "y")?);
            let kx = format!("{:?}|{}|xs:{:?}", self.kernel, tx, x);
            let lx = cache.factor(&kx, || {
                kci::centred(factor(
                    &Points {
                        data: &xs,
                        d: x.len(),
                    },
                    self.kfn(tx),
                    tol,
                ))
            });
            let ky = format!("{:?}|{}|ys:{:?}", self.kernel, ty, y);
            let ly = cache.factor(&ky, || {
                kci::centred(factor(
                    &Points {
                        data: &ys,
                        d: y.len(),
                    },
                    self.kfn(ty),
                    tol,
                ))
            });
            return Ok(KciPrepared {
                x: (kx, lx),
                y: (ky, ly),
                z: None,
            });
        }
        let (zs, _) = std_columns(data, z, "z")?;
        let dz = z.len();
        let w = if n < 200 {
            1.2
        } else if n < 1200 {
            0.7
        } else {
            0.4
        };
        // X augmented with Z / 2
        let dxa = x.len() + dz;
        let xa = hstack(&xs, x.len(), &zs, dz, 0.5);
        let theta = |rows: &[f64], d: usize, what: &str| -> Result<f64> {
            Ok(match self.width {
                Width::Empirical => 1.0 / (w * w * dz as f64),
                Width::Median => median_theta(rows, d, what)?,
                Width::Fixed(s) => 1.0 / (s * s),
            })
        };
        let tx = theta(&xa, dxa, "x")?;
        let ty = theta(&ys, y.len(), "y")?;
        let tz = theta(&zs, dz, "z")?;
        let kx = format!("{:?}|{}|xa:{:?}|z:{:?}", self.kernel, tx, x, z);
        let lx = cache.factor(&kx, || {
            kci::centred(factor(&Points { data: &xa, d: dxa }, self.kfn(tx), tol))
        });
        let ky = format!("{:?}|{}|ys:{:?}", self.kernel, ty, y);
        let ly = cache.factor(&ky, || {
            kci::centred(factor(
                &Points {
                    data: &ys,
                    d: y.len(),
                },
                self.kfn(ty),
                tol,
            ))
        });
        let lz = cache.factor(
            &format!(
                "{:?}|{}|zs:{:?}|z:{:?}",
                self.kernel,
                tz,
                z,
                [] as [&str; 0]
            ),
            || kci::centred(factor(&Points { data: &zs, d: dz }, self.kfn(tz), tol_z)),
        );
        let zkey = format!("{:?}|{tz}|z:{z:?}|eps:{}", self.kernel, self.epsilon);
        let zp = memo(&cache.kci_z, &zkey, || {
            Ok(Arc::new(kci::ZPart::new(lz, self.epsilon)))
        })?;
        Ok(KciPrepared {
            x: (kx, lx),
            y: (ky, ly),
            z: Some((zkey, zp)),
        })
    }

    /// KCI/HSIC tests (gamma null) of a batch of queries: the factors and Z parts prepared on
    /// the host (f64, cached), then the statistic and gamma moments of every test in one job on
    /// the engine's backend (see [`IndependenceTest::kci`] for what runs on a GPU), then each
    /// p-value in f64.
    fn kci_batch(
        &self,
        engine: &Engine,
        data: &Dataset,
        queries: &[(&[&str], &[&str], &[&str])],
        cache: &Cache,
    ) -> Vec<Result<TestResult>> {
        let start = Instant::now();
        let n = data.n_rows();
        let prepared: Vec<Result<KciPrepared>> = queries
            .par_iter()
            .map(|&(x, y, z)| {
                self.check(data, x, y, z)?;
                self.kci_prepare(data, (x, y, z), cache)
            })
            .collect();
        let mut out: Vec<Option<Result<TestResult>>> = (0..queries.len()).map(|_| None).collect();
        let mut factors: Vec<(String, Arc<Mat<f64>>)> = Vec::new();
        let mut f_at: HashMap<String, usize> = HashMap::new();
        let mut zparts: Vec<Arc<kci::ZPart>> = Vec::new();
        let mut z_at: HashMap<String, usize> = HashMap::new();
        let mut tests = Vec::new();
        let mut ok = Vec::new();
        for (q, p) in prepared.into_iter().enumerate() {
            match p {
                Err(e) => out[q] = Some(Err(e)),
                Ok(KciPrepared { x, y, z }) => {
                    let xi = intern(&mut f_at, &mut factors, x.0.clone(), x);
                    let yi = intern(&mut f_at, &mut factors, y.0.clone(), y);
                    let zi = z.map(|(key, part)| intern(&mut z_at, &mut zparts, key, part));
                    tests.push(jobs::KciTest {
                        x: xi,
                        y: yi,
                        z: zi,
                    });
                    ok.push(q);
                }
            }
        }
        let job = jobs::KciJob {
            n,
            factors: &factors,
            zparts: &zparts,
            tests: &tests,
            threshold: self.threshold,
        };
        match run_on!(engine, cpu: cpu::kci_moments(&job), gpu: |ctx| gpu::kci::kci_moments(ctx, &job)) {
            Err(e) => {
                for &q in &ok {
                    out[q] = Some(Err(match &e {
                        Error::Gpu { kind, message } => Error::Gpu {
                            kind,
                            message: message.clone(),
                        },
                        other => Error::param("test", other.to_string()),
                    }));
                }
            }
            Ok((moments, ran)) => {
                let backend =
                    ran.label("products and moments; factors and eigenproblems in f64 on the CPU");
                for (&q, m) in ok.iter().zip(moments) {
                    out[q] = Some(m.and_then(|m| {
                        let sp = (m.statistic, gamma_sf(m)?);
                        Ok(self.result(queries[q], sp, n, "gamma".into(), backend.clone(), start))
                    }));
                }
            }
        }
        out.into_iter()
            .map(|r| r.expect("every query answered"))
            .collect()
    }

    /// The kernel function for a Gaussian-rule θ (σ = 1/√θ for Laplace).
    fn kfn(&self, theta: f64) -> KernelFn {
        match self.kernel {
            Kernel::Gaussian => KernelFn::Gaussian { theta },
            Kernel::Laplace => KernelFn::Laplace {
                sigma: 1.0 / theta.sqrt(),
            },
            Kernel::Linear => KernelFn::Linear,
            Kernel::Polynomial(degree) => KernelFn::Polynomial { degree, c: 1.0 },
        }
    }

    /// Permutation p-value `(1 + #{T_p ≥ T}) / (1 + P)`, the permuted statistics computed by the
    /// engine's backend (on the device for a GPU engine), and which backend ran.
    /// Monte-Carlo tail of `Σ w_k χ²_k` at `stat` on the engine: draw `d` uses Philox (seed,
    /// Monte-Carlo stream, replicate `d`), one standard normal per weight; p = #{draws > stat} /
    /// draws (causal-learn's rule). Returns the p-value and the backend that drew.
    fn spectral_p(
        &self,
        engine: &Engine,
        weights: &[f64],
        stat: f64,
        draws: u32,
    ) -> Result<(f64, String)> {
        let stream = Stream::new(self.seed, crate::rng::STREAM_MONTE_CARLO);
        let (totals, ran) = run_on!(engine,
            cpu: cpu::chi2mix_draws(weights, stream, 0..draws),
            gpu: |ctx| gpu::chi2mix_draws(ctx, weights, stream, 0..draws))?;
        let exceed = totals.iter().filter(|&&t| t > stat).count();
        Ok((exceed as f64 / draws as f64, ran.backend))
    }

    fn permutation_p(
        &self,
        engine: &Engine,
        lx: &Mat<f64>,
        ly: &Mat<f64>,
        stat: f64,
        perms: u32,
    ) -> Result<(f64, String)> {
        let rows = |m: &Mat<f64>| {
            let mut v = Vec::with_capacity(m.nrows() * m.ncols());
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    v.push(m[(i, j)]);
                }
            }
            v
        };
        let (fx, fy) = (rows(lx), rows(ly));
        let job = jobs::HsicJob {
            n: lx.nrows(),
            rx: lx.ncols(),
            ry: ly.ncols(),
            lx: &fx,
            ly: &fy,
            seed: self.seed,
        };
        let (stats, ran) = run_on!(engine,
            cpu: cpu::hsic_permutations(&job, 0..perms),
            gpu: |ctx| gpu::hsic_permutations(ctx, &job, 0..perms))?;
        let exceed = stats.iter().filter(|&&s| s >= stat).count();
        Ok(((1 + exceed) as f64 / (1 + perms) as f64, ran.backend))
    }
}

/// One RCoT/RCIT query ready for a job: its X and Y sets and Z part, each with its key.
struct RffPrepared {
    x: (String, Arc<jobs::RffSet>),
    y: (String, Arc<jobs::RffSet>),
    z: Option<(String, Arc<rff::ZPart>)>,
}

/// One KCI/HSIC query ready for a job: its keyed centred factors and Z part.
struct KciPrepared {
    x: (String, Arc<Mat<f64>>),
    y: (String, Arc<Mat<f64>>),
    z: Option<(String, Arc<kci::ZPart>)>,
}

/// Factors and Z-regressions shared by the tests of one [`Tester`], keyed by kernel, width and
/// columns (the X factor of a conditional test also by Z, since X is augmented with Z / 2).
#[derive(Default)]
struct Cache {
    mats: Mutex<HashMap<String, Arc<Mat<f64>>>>,
    corr: Mutex<HashMap<(String, String), f64>>,
    sigmas: Mutex<HashMap<String, f64>>,
    zparts: Mutex<HashMap<String, Arc<rff::ZPart>>>,
    rff_sets: Mutex<HashMap<String, Arc<jobs::RffSet>>>,
    kci_z: Mutex<HashMap<String, Arc<kci::ZPart>>>,
}

impl Cache {
    /// A feature bandwidth, computed once per key.
    fn sigma(&self, key: &str, build: impl FnOnce() -> f64) -> f64 {
        memo(&self.sigmas, key, || Ok(build())).expect("infallible build")
    }

    /// The Z part of RCoT/RCIT, computed once per key.
    fn z_part(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<rff::ZPart>,
    ) -> Result<Arc<rff::ZPart>> {
        memo(&self.zparts, key, || Ok(Arc::new(build()?)))
    }

    /// An RCoT/RCIT/RIT variable set, built once per key.
    fn rff_set(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<Arc<jobs::RffSet>>,
    ) -> Result<Arc<jobs::RffSet>> {
        memo(&self.rff_sets, key, build)
    }

    /// Checks that a column is finite and varies (the Fisher-z test's input rules).
    fn std_column(&self, data: &Dataset, name: &str) -> Result<()> {
        let key = (name.to_string(), name.to_string());
        if self.corr.lock().expect("cache lock").contains_key(&key) {
            return Ok(());
        }
        let c = data.finite_column(name)?;
        if c.iter().all(|&v| v == c[0]) {
            return Err(Error::ConstantColumn(name.to_string()));
        }
        self.corr.lock().expect("cache lock").insert(key, 1.0);
        Ok(())
    }

    /// Pearson correlation of two checked columns, computed once per pair.
    fn correlation(&self, data: &Dataset, a: &str, b: &str) -> Result<f64> {
        let key = if a < b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        if let Some(&r) = self.corr.lock().expect("cache lock").get(&key) {
            return Ok(r);
        }
        let r = fisherz::correlation(data.column(a)?, data.column(b)?);
        self.corr.lock().expect("cache lock").insert(key, r);
        Ok(r)
    }

    fn get(&self, key: &str, build: impl FnOnce() -> Result<Mat<f64>>) -> Result<Arc<Mat<f64>>> {
        memo(&self.mats, key, || Ok(Arc::new(build()?)))
    }

    fn factor(&self, key: &str, build: impl FnOnce() -> Mat<f64>) -> Arc<Mat<f64>> {
        self.get(key, || Ok(build())).expect("infallible build")
    }
}

/// The index of `key`'s item in `items`, pushing `item` the first time `key` is seen.
fn intern<T>(at: &mut HashMap<String, usize>, items: &mut Vec<T>, key: String, item: T) -> usize {
    *at.entry(key).or_insert_with(|| {
        items.push(item);
        items.len() - 1
    })
}

/// The value under `key`, built (outside the lock) and stored when absent. When two threads
/// build the same key at once, the first value stored wins and both get it, so every user of a
/// key shares one value (one `Arc`: the GPU's device cache is keyed by it).
fn memo<T: Clone>(
    map: &Mutex<HashMap<String, T>>,
    key: &str,
    build: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if let Some(v) = map.lock().expect("cache lock").get(key) {
        return Ok(v.clone());
    }
    let v = build()?;
    Ok(map
        .lock()
        .expect("cache lock")
        .entry(key.to_string())
        .or_insert(v)
        .clone())
}

/// A tester bound to one data set: standardised columns, kernel factors and Z-regressions are
/// computed once and shared by every query, and a batch runs its queries in parallel. This is the
/// API causal discovery uses.
///
/// ```
/// use ceteris::{Dataset, Engine, independence::{IndependenceTest, Tester}};
/// let data = Dataset::synthetic(300, 1);
/// let engine = Engine::cpu();
/// let tester = Tester::new(&engine, &data, IndependenceTest::kci());
/// let queries = vec![
///     (vec!["t".to_string()], vec!["y".to_string()], vec!["z".to_string()]),
///     (vec!["x".to_string()], vec!["w".to_string()], vec!["z".to_string()]),
/// ];
/// let results = tester.batch(&queries);
/// assert!(results[0].as_ref().unwrap().p_value < 0.01); // t -> y even given z
/// ```
pub struct Tester<'a> {
    engine: &'a Engine,
    data: &'a Dataset,
    test: IndependenceTest,
    cache: Cache,
}

/// One query of a batch: (X columns, Y columns, Z columns).
pub type Query = (Vec<String>, Vec<String>, Vec<String>);

impl<'a> Tester<'a> {
    /// A tester for `data`.
    pub fn new(engine: &'a Engine, data: &'a Dataset, test: IndependenceTest) -> Self {
        Tester {
            engine,
            data,
            test,
            cache: Cache::default(),
        }
    }

    /// One test, reusing (and filling) the cache.
    pub fn test(&self, x: &[&str], y: &[&str], z: &[&str]) -> Result<TestResult> {
        self.test
            .run_with(self.engine, self.data, x, y, z, &self.cache)
    }

    /// Many tests in parallel; results in query order.
    pub fn batch(&self, queries: &[Query]) -> Vec<Result<TestResult>> {
        self.batch_with_progress(queries, None)
    }

    /// [`Tester::batch`] with a progress callback `(tests done, total)`.
    pub fn batch_with_progress(
        &self,
        queries: &[Query],
        progress: Option<crate::ProgressFn>,
    ) -> Vec<Result<TestResult>> {
        let done = std::sync::atomic::AtomicU64::new(0);
        let total = queries.len() as u64;
        if self.test.kind == TestKind::FisherZ && self.test.deletion.is_none() {
            // one correlation matrix and one dispatch per conditioning-set size
            let refs: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = queries
                .iter()
                .map(|(x, y, z)| (strs(x), strs(y), strs(z)))
                .collect();
            let mut out: Vec<Option<Result<TestResult>>> = refs
                .iter()
                .map(|(x, y, z)| self.test.check(self.data, x, y, z).err().map(Err))
                .collect();
            let ok: Vec<usize> = (0..refs.len()).filter(|&q| out[q].is_none()).collect();
            let batch: Vec<(&[&str], &[&str], &[&str])> = ok
                .iter()
                .map(|&q| (&refs[q].0[..], &refs[q].1[..], &refs[q].2[..]))
                .collect();
            let results = self
                .test
                .fisher_z_batch(self.engine, self.data, &batch, &self.cache);
            for (&q, r) in ok.iter().zip(results) {
                out[q] = Some(r);
            }
            if let Some(p) = progress {
                p(total, total);
            }
            return out.into_iter().map(|r| r.expect("answered")).collect();
        }
        let kci_gamma = matches!(self.test.kind, TestKind::Kci | TestKind::Hsic)
            && self.test.null == Null::Gamma;
        if (kci_gamma || matches!(self.test.kind, TestKind::Rcot | TestKind::Rcit))
            && self.test.deletion.is_none()
        {
            // one job (one submit on a GPU engine) for every query
            let refs: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = queries
                .iter()
                .map(|(x, y, z)| (strs(x), strs(y), strs(z)))
                .collect();
            let batch: Vec<(&[&str], &[&str], &[&str])> = refs
                .iter()
                .map(|(x, y, z)| (&x[..], &y[..], &z[..]))
                .collect();
            let out = if kci_gamma {
                self.test
                    .kci_batch(self.engine, self.data, &batch, &self.cache)
            } else {
                self.test
                    .rff_batch(self.engine, self.data, &batch, &self.cache)
            };
            if let Some(p) = progress {
                p(total, total);
            }
            return out;
        }
        queries
            .par_iter()
            .map(|(x, y, z)| {
                fn r(v: &[String]) -> Vec<&str> {
                    v.iter().map(String::as_str).collect()
                }
                let out = self.test(&r(x), &r(y), &r(z));
                if let Some(p) = progress {
                    let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    p(d, total);
                }
                out
            })
            .collect()
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// RCoT/RCIT/RIT with given random features on raw columns (standardised here; with `rcit`, Z
/// is appended to Y), and the σ rule: the hook of the reference tests against causal-learn, whose
/// features come from numpy's generator.
///
/// ```
/// use ceteris::independence::{rff_reference, Approx, Features};
/// let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
/// let y: Vec<f64> = (0..50).map(|i| (i as f64 * 0.11).cos()).collect();
/// let f = |s: f64| Features { w: (0..5).map(|k| s * (k as f64 - 2.0)).collect(), b: vec![0.1, 0.7, 1.3, 2.9, 4.1] };
/// let (stat, p) = rff_reference(&[x], &[y], &[], false, &f(1.0), &f(0.5), None, Approx::Hbe).unwrap();
/// assert!(stat >= 0.0 && (0.0..=1.0).contains(&p));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn rff_reference(
    x: &[Vec<f64>],
    y: &[Vec<f64>],
    z: &[Vec<f64>],
    rcit: bool,
    fx: &Features,
    fy: &Features,
    fz: Option<&Features>,
    approx: Approx,
) -> Result<(f64, f64)> {
    let mut data = Dataset::new();
    let mut add = |prefix: &str, cols: &[Vec<f64>]| -> Result<Vec<String>> {
        cols.iter()
            .enumerate()
            .map(|(i, c)| {
                let name = format!("{prefix}{i}");
                data.push_column(&name, c.clone())?;
                Ok(name)
            })
            .collect()
    };
    let (xn, yn, zn) = (add("x", x)?, add("y", y)?, add("z", z)?);
    fn r(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let (xs, _) = std_columns(&data, &r(&xn), "x")?;
    let (ys, _) = std_columns(&data, &r(&yn), "y")?;
    let zs = if zn.is_empty() {
        None
    } else {
        Some(std_columns(&data, &r(&zn), "z")?.0)
    };
    let (dx, dz) = (x.len(), z.len());
    let (yrows, dy) = match (&zs, rcit) {
        (Some(zs), true) => (hstack(&ys, y.len(), zs, dz, 1.0), y.len() + dz),
        _ => (ys, y.len()),
    };
    let zpart = match (zs.as_deref(), fz) {
        (Some(zs), Some(fz)) => Some(rff::z_part(zs, dz, fz)?),
        _ => None,
    };
    rff::test(&xs, dx, &yrows, dy, zpart.as_ref(), fx, fy, approx)
}

/// σ of the RCIT/RCoT features for standardised columns (median of non-zero pairwise distances
/// among the first ≤ 500 rows); reference-test hook.
///
/// ```
/// let s = ceteris::independence::rff_sigma(&[vec![0.0, 1.0, 3.0]]).unwrap();
/// assert!(s > 0.0);
/// ```
pub fn rff_sigma(cols: &[Vec<f64>]) -> Result<f64> {
    let mut data = Dataset::new();
    let mut names = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let nm = format!("c{i}");
        data.push_column(&nm, c.clone())?;
        names.push(nm);
    }
    let r: Vec<&str> = names.iter().map(String::as_str).collect();
    let (rows, _) = std_columns(&data, &r, "columns")?;
    Ok(rff::median_sigma(&rows, cols.len()))
}

fn gamma_sf(m: kci::Moments) -> Result<f64> {
    if !(m.mean > 0.0 && m.var > 0.0) {
        return Err(Error::param(
            "kernel",
            "the null moments vanish (a kernel matrix is zero after centring/regression)",
        ));
    }
    let shape = m.mean * m.mean / m.var;
    let scale = m.var / m.mean;
    let g = Gamma::new(shape, 1.0 / scale)
        .map_err(|e| Error::param("kernel", format!("gamma approximation: {e}")))?;
    Ok(g.sf(m.statistic))
}

#[cfg(test)]
mod tests {

    /// Builders racing on one key all get the first stored value (one shared `Arc`), never a
    /// value that a later insert replaced.
    #[test]
    fn memo_racers_share_the_first_stored_value() {
        let map: Mutex<HashMap<String, Arc<u32>>> = Mutex::new(HashMap::new());
        let barrier = std::sync::Barrier::new(4);
        let got: Vec<Arc<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u32)
                .map(|t| {
                    let (map, barrier) = (&map, &barrier);
                    s.spawn(move || {
                        memo(map, "k", || {
                            barrier.wait(); // every thread is building at once
                            Ok(Arc::new(t))
                        })
                        .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let stored = map.lock().unwrap()["k"].clone();
        assert!(got.iter().all(|a| Arc::ptr_eq(a, &stored)));
    }

    use super::*;

    #[test]
    fn permutations_are_permutations_and_reproducible() {
        let p = permutation(9, 4, 1000);
        let mut s = p.clone();
        s.sort_unstable();
        assert_eq!(s, (0..1000).collect::<Vec<u32>>());
        assert_eq!(p, permutation(9, 4, 1000));
        assert_ne!(p, permutation(9, 5, 1000));
    }

    #[test]
    fn median_width_spreads_over_sorted_rows() {
        // x = 0, 1, …, 2999 (sorted): every third row is used, so the median pairwise distance
        // is that of the whole range (≈ 3000·(1 − 1/√2) ≈ 879), not of the first 1000 rows (≈ 293)
        let x: Vec<f64> = (0..3000).map(f64::from).collect();
        let theta = median_theta(&x, 1, "x").unwrap();
        let med = (1.0 / (2.0 * theta)).sqrt();
        assert!((med - 879.0).abs() < 5.0, "{med}");
        // up to 1000 rows, all rows: 0..999 gives ≈ 293
        let theta = median_theta(&x[..1000], 1, "x").unwrap();
        let med = (1.0 / (2.0 * theta)).sqrt();
        assert!((med - 293.0).abs() < 2.0, "{med}");
    }
}
