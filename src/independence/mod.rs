//! Kernel independence tests: HSIC and KCI (unconditional and conditional).
//!
//! **This folder owns the independence tests**, kernels included: the test builder and its
//! options (`mod.rs`, `config.rs`), one query (`run.rs`) and batches of them (`batch.rs`,
//! `tester.rs`, `cache.rs`), kernel factors (`lowrank.rs`, `columns.rs`), the tests' maths
//! (`kci.rs`, `rff/` (features, the Z part, the moments), `fisherz.rs`, `discrete.rs` (chisq, gsq), `mixed.rs` (dg, mixed data), `chi2mix.rs`, `null.rs`, `reference.rs`), `jobs.rs` (what
//! one kernel call computes), `cpu.rs` (the kernels on rayon, f64) and `gpu/` (the same kernels on
//! the device: `mod.rs` HSIC permutations, spectral draws and partial correlations, `kci.rs`,
//! `rff.rs`; `shaders/{hsic,pcor,kci,rff,counts}.wgsl`).
//!
//! **It imports** the engine (`run_on!`), the device context (from `gpu/` only) and the leaves
//! (`data`, `rng`, `error`); no other capability. Discovery builds on its public API.
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

mod batch;
mod cache;
mod chi2mix;
mod columns;
mod config;
mod cpu;
mod discrete;
mod fisherz;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
mod jobs;
pub(crate) mod kci;
mod lowrank;
mod mixed;
mod null;
mod options;
mod reference;
pub(crate) mod rff;
mod run;
mod tester;
#[cfg(test)]
mod tests;

pub use discrete::MAX_LEVELS;
pub(crate) use fisherz::partial_correlation;
pub(crate) use kci::frob2;
pub use null::{permutation, permutations};
pub use options::TestOptions;
pub use reference::{rff_reference, rff_sigma};
pub use rff::{Approx, Features};
pub use tester::{Query, Tester};

use columns::median_distance;
use serde::Serialize;

/// Fewest rows a kernel test accepts.
pub const MIN_ROWS: usize = 10;

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
    /// Pearson's chi-square test of discrete columns (causal-learn's `chisq`).
    Chisq,
    /// The G-test of discrete columns (causal-learn's `gsq`).
    Gsq,
    /// The degenerate-Gaussian likelihood-ratio test of mixed continuous and discrete columns
    /// (Andrews, Ramsey & Cooper 2019; [`IndependenceTest::dg`]).
    Dg,
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
    pub(crate) deletion: Option<f64>,
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
    keep_null: bool,
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
    /// The null's draws (permuted statistics, or spectral-null draws) when
    /// [`IndependenceTest::keep_null`] was set and the null draws them; else `None` (and absent
    /// from the JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null_draws: Option<Vec<f64>>,
}

impl TestResult {
    /// The kept null draws as an ndarray view (see [`TestResult::null_draws`]).
    ///
    /// ```
    /// use ceteris::{independence::{IndependenceTest, Null}, Dataset, Engine};
    /// let x: Vec<f64> = (0..60).map(|i| ((i * 37) % 61) as f64).collect();
    /// let y: Vec<f64> = x.iter().map(|v| (v * 0.3).sin()).collect();
    /// let data = Dataset::new().with_column("x", x).unwrap().with_column("y", y).unwrap();
    /// let r = IndependenceTest::hsic().null(Null::Permutation(200)).keep_null(true)
    ///     .run(&Engine::cpu(), &data, &["x"], &["y"], &[]).unwrap();
    /// assert_eq!(r.null_view().unwrap().len(), 200);
    /// ```
    pub fn null_view(&self) -> Option<ndarray::ArrayView1<'_, f64>> {
        self.null_draws.as_deref().map(ndarray::ArrayView1::from)
    }
}
