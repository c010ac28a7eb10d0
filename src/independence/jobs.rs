//! The independence tests' kernel jobs: what `cpu.rs` and `gpu/` each compute from the same
//! host-prepared inputs (factors, features, correlation matrices) and the same counter-based
//! permutations and draws.

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
    pub features: super::Features,
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
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    pub n: usize,
    pub sets: &'a [std::sync::Arc<RffSet>],
    pub zparts: &'a [std::sync::Arc<super::rff::ZPart>],
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
/// per test the statistic and gamma moments (`super::kci`).
pub(crate) struct KciJob<'a> {
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    pub n: usize,
    pub factors: &'a [(String, std::sync::Arc<faer::Mat<f64>>)],
    pub zparts: &'a [std::sync::Arc<super::kci::ZPart>],
    pub tests: &'a [KciTest],
    /// Eigenvalues of the regressed kernels kept above `threshold · max`.
    pub threshold: f64,
}
