//! Backends: one [`Kernels`] trait, implemented by the CPU (rayon) and the GPU (wgpu).

pub(crate) mod cpu;
pub(crate) mod gpu;

use crate::bootstrap::plan::ResamplePlan;
use crate::error::Result;
use std::ops::Range;

/// Progress sink: called with (replicates done, replicates total).
pub type ProgressFn<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Weighted feature sums of each replicate.
pub(crate) struct SumsJob<'a> {
    pub plan: &'a ResamplePlan,
    /// Features per unit.
    pub k: usize,
    /// `units × k`, row-major.
    pub features: &'a [f64],
    /// Append the total weight Σw as a last sum (then `k + 1` sums per replicate).
    pub implicit_count: bool,
}

impl SumsJob<'_> {
    /// Sums per replicate.
    pub fn outputs(&self) -> usize {
        self.k + self.implicit_count as usize
    }
}

/// Type-7 quantile of each resample, by rank selection over sorted data.
pub(crate) struct QuantileJob<'a> {
    pub plan: &'a ResamplePlan,
    pub q: f64,
    /// Number of sorted values.
    pub n_ranks: u32,
    /// `units + 1` offsets into `ranks`.
    pub seg: &'a [u32],
    /// For each unit, the ranks of its rows, ascending.
    pub ranks: &'a [u32],
    /// Scale weights to sum to `n_ranks` (Bayesian bootstrap).
    pub normalize: bool,
}

/// The ranks whose values interpolate a resample's quantile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct QuantilePick {
    /// `u32::MAX` when the resample is empty.
    pub r1: u32,
    pub r2: u32,
    /// `(m − 1) q`.
    pub h: f64,
    /// Resample size (or normalised total weight).
    pub m: f64,
}

/// HSIC permutation null on centred low-rank factors (row-major `n × rx`, `n × ry`):
/// for each permutation `p` (Fisher–Yates from the Philox permutation stream of `seed`), the
/// statistic `‖Lxᵀ P Ly‖²_F`.
pub(crate) struct HsicJob<'a> {
    pub n: usize,
    pub rx: usize,
    pub ry: usize,
    pub lx: &'a [f64],
    pub ly: &'a [f64],
    pub seed: u64,
}

/// Partial correlations of a batch of Fisher-z tests with conditioning sets of one size: test
/// `t` is `(pairs[2t], pairs[2t+1] | sets[depth·t .. depth·(t+1)])`, indices into the `p × p`
/// correlation matrix `corr` (row-major, computed in f64 on the host).
pub(crate) struct PcorJob<'a> {
    pub p: usize,
    pub corr: &'a [f64],
    pub depth: usize,
    pub pairs: &'a [u32],
    pub sets: &'a [u32],
}

impl PcorJob<'_> {
    /// Number of tests.
    pub fn tests(&self) -> usize {
        self.pairs.len() / 2
    }

    /// The `(X, Y, Z…)` correlation submatrix of test `t`.
    pub fn submatrix(&self, t: usize) -> faer::Mat<f64> {
        let vars: Vec<usize> = [self.pairs[2 * t], self.pairs[2 * t + 1]]
            .into_iter()
            .chain(
                self.sets[self.depth * t..self.depth * (t + 1)]
                    .iter()
                    .copied(),
            )
            .map(|v| v as usize)
            .collect();
        faer::Mat::from_fn(vars.len(), vars.len(), |i, j| {
            self.corr[vars[i] * self.p + vars[j]]
        })
    }
}

/// One variable set of an [`RffJob`]: standardised rows and its random Fourier features.
pub(crate) struct RffSet {
    /// Row-major `n × d`, each column standardised (ddof = 1) in f64.
    pub rows: Vec<f64>,
    pub d: usize,
    pub features: crate::independence::Features,
}

/// One RCoT/RCIT/RIT test of an [`RffJob`]: indices into its sets and Z parts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RffTest {
    pub x: usize,
    pub y: usize,
    pub z: Option<usize>,
}

/// A batch of RCoT/RCIT/RIT tests on one data set (`n` rows): the feature matrices of every
/// set (each computed once per job), then per test the `Moments`
/// its null needs. Every set has `nf` features; every Z part `nf_z`.
pub(crate) struct RffJob<'a> {
    pub n: usize,
    pub sets: &'a [std::sync::Arc<RffSet>],
    pub zparts: &'a [std::sync::Arc<crate::independence::rff::ZPart>],
    pub tests: &'a [RffTest],
}

/// One KCI test of a [`KciJob`]: indices into its factors and Z parts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KciTest {
    pub x: usize,
    pub y: usize,
    pub z: Option<usize>,
}

/// A batch of KCI tests (gamma null) on one data set (`n` rows): centred low-rank factors
/// (`n × r`, f64, each with the key under which its Z-regressions are cached), the Z parts, and
/// per test the statistic and gamma moments (`crate::independence::kci`).
pub(crate) struct KciJob<'a> {
    pub n: usize,
    pub factors: &'a [(String, std::sync::Arc<faer::Mat<f64>>)],
    pub zparts: &'a [std::sync::Arc<crate::independence::kci::ZPart>],
    pub tests: &'a [KciTest],
    /// Eigenvalues of the regressed kernels kept above `threshold · max`.
    pub threshold: f64,
}

/// An intervention sweep: every setting's plan (per node: the atomic value, if any, and the
/// shift) sampled `samples` times under the noise contract of [`crate::scm`], reduced to the
/// outcome's moments (and its sorted samples when `keep_values`).
pub(crate) struct SweepJob<'a> {
    pub scm: &'a crate::scm::Scm,
    pub plans: &'a [Vec<(Option<f64>, f64)>],
    /// Outcome node (topological index).
    pub outcome: usize,
    pub samples: u32,
    pub stream: crate::rng::Stream,
    pub common_random_numbers: bool,
    /// Return every setting's outcome samples, sorted (for quantiles).
    pub keep_values: bool,
    /// Paired contrasts: the plans come in pairs `(2k, 2k + 1)` that read the same noise (that
    /// of setting `k`, or 0 under common random numbers), and output `k` summarises the
    /// per-sample difference `y(2k) − y(2k + 1)`.
    pub contrast: bool,
}

impl SweepJob<'_> {
    /// Number of outputs: settings, or pairs of settings under `contrast`.
    pub fn outputs(&self) -> usize {
        if self.contrast {
            self.plans.len() / 2
        } else {
            self.plans.len()
        }
    }
}

/// Joint samples of every node of a model under one intervention plan ([`crate::scm::Scm::sample`]):
/// sample `i` reads the noise of sample `i` of setting 0 of the sweep's noise contract.
pub(crate) struct SampleJob<'a> {
    pub scm: &'a crate::scm::Scm,
    /// Per node: the atomic value, if any, and the shift.
    pub plan: &'a [(Option<f64>, f64)],
    pub samples: u32,
    pub stream: crate::rng::Stream,
}

/// The outcome's summary in one setting of a [`SweepJob`].
#[derive(Clone, Debug)]
pub(crate) struct SettingStats {
    pub mean: f64,
    /// Sample variance (ddof = 1).
    pub variance: f64,
    /// The samples, ascending, when the job keeps them (else empty).
    pub sorted: Vec<f64>,
}

/// The operations every backend implements.
pub(crate) trait Kernels {
    /// `reps.len() × job.outputs()` sums, replicate-major.
    fn resample_sums(
        &self,
        job: &SumsJob,
        reps: Range<u32>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<f64>>;

    /// One pick per replicate.
    fn resample_quantiles(
        &self,
        job: &QuantileJob,
        reps: Range<u32>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<QuantilePick>>;

    /// The raw draws (`reps.len() × draws`): unit indices for index schemes, integer weights or
    /// f32 weight bits for weight schemes.
    fn resample_draws(&self, plan: &ResamplePlan, reps: Range<u32>) -> Result<Vec<u32>>;

    /// The permuted HSIC statistics of permutations `perms`.
    fn hsic_permutations(&self, job: &HsicJob, perms: Range<u32>) -> Result<Vec<f64>>;

    /// The Fisher–Yates permutations `perms` of `0..n` of the HSIC permutation null (seed
    /// `seed`), concatenated (`perms.len() × n` indices; [`crate::independence::permutation`]).
    fn permutations(&self, seed: u64, n: usize, perms: Range<u32>) -> Result<Vec<u32>>;

    /// Draws `draws` of the spectral null `Σ_k w_k g_k²` (draw `d`, weight `k`: the Box–Muller
    /// normal of words 0 and 1 of Philox block `(k, d)` of `stream`), in draw order.
    fn chi2mix_draws(
        &self,
        weights: &[f64],
        stream: crate::rng::Stream,
        draws: Range<u32>,
    ) -> Result<Vec<f64>>;

    /// One partial correlation per test (NaN where the correlation matrix is singular).
    fn partial_correlations(&self, job: &PcorJob) -> Result<Vec<f64>>;

    /// The moments of every RCoT/RCIT/RIT test of the job, in test order. The outer error is a
    /// backend failure (the whole job); an inner one belongs to its test (e.g. a constant
    /// feature).
    fn rff_moments(&self, job: &RffJob) -> Result<Vec<Result<crate::independence::rff::Moments>>>;

    /// The statistic and gamma moments of every KCI test of the job, in test order (outer error:
    /// the whole job; inner: its test, e.g. a Z kernel that is not positive definite).
    fn kci_moments(&self, job: &KciJob) -> Result<Vec<Result<crate::independence::kci::Moments>>>;

    /// One summary per setting of the sweep, in setting order; `progress` counts samples over
    /// all settings.
    fn sweep_moments(
        &self,
        job: &SweepJob,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<SettingStats>>;

    /// The samples of the job, one column per node in topological order. A GPU returns values
    /// that overflow f32 as an [`crate::Error::Gpu`] of kind `limits`; the CPU returns them as
    /// they are (the caller checks them).
    fn scm_samples(&self, job: &SampleJob) -> Result<Vec<Vec<f64>>>;
}
