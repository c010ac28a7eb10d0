//! The SCM kernels' jobs: sweeps and joint samples, which `cpu.rs` and `gpu.rs` each
//! compute under the same noise contract.

/// An intervention sweep: every setting's plan (per node: the atomic value, if any, and the
/// shift) sampled `samples` times under the noise contract of [`crate::scm`], reduced to the
/// outcome's moments (and its sorted samples when `keep_values`).
pub(crate) struct SweepJob<'a> {
    pub scm: &'a super::Scm,
    pub plans: &'a [Vec<(Option<f64>, f64)>],
    /// Outcome node (topological index).
    pub outcome: usize,
    pub samples: u32,
    pub stream: crate::rng::Stream,
    pub common_random_numbers: bool,
    /// Index, in the noise contract, of `plans[0]`'s setting: 0 for a whole sweep,
    /// `range.start` for a [`Sweep::shard`](super::Sweep::shard).
    pub first_setting: u32,
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

    /// Under common random numbers, per node: whether its value may differ between the plans
    /// (a plan intervenes on it or shifts it, or it descends from such a node; +0.0 shifts are
    /// no shift: adding one changes no bit that matters, and -0.0 is kept as a shift), and
    /// whether it is `needed` and some plan samples it (its noise is drawn). Both backends'
    /// shared-noise sweeps split the work by these.
    pub fn shared_nodes(&self, needed: &[bool]) -> (Vec<bool>, Vec<bool>) {
        let m = self.scm.names().len();
        let mut varies = vec![false; m];
        for j in 0..m {
            varies[j] = self
                .plans
                .iter()
                .any(|p| p[j].0.is_some() || p[j].1.to_bits() != 0)
                || self.scm.parent_indices(j).iter().any(|&p| varies[p]);
        }
        let noisy = (0..m)
            .map(|j| needed[j] && self.plans.iter().any(|p| p[j].0.is_none()))
            .collect();
        (varies, noisy)
    }
}

/// Joint samples of every node of a model under one intervention plan ([`super::Scm::sample`]):
/// sample `i` reads the noise of sample `i` of setting 0 of the sweep's noise contract.
pub(crate) struct SampleJob<'a> {
    pub scm: &'a super::Scm,
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
