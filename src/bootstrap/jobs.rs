//! The bootstrap's kernel jobs: what `cpu.rs` and `gpu.rs` each compute, on the same plan and
//! the same counter-based draws.

use super::plan::ResamplePlan;

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
