//! SCM sweeps and joint samples on the CPU: [`SweepJob::run_cpu`] and [`SampleJob::run_cpu`],
//! blocks of [`LANES`] samples node by node in f64, rayon over blocks; and the host pilot that
//! gives the device's reductions their centring pivots.

use super::block::{Block, LANES};
use super::jobs::{SampleJob, SettingStats, SweepJob};
use super::{CTerm, Scm, BLOCK};
use crate::engine::ProgressFn;
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples of the host pilot that gives each setting its centring pivot on the device.
#[cfg(feature = "gpu")]
pub(crate) const PILOT: u32 = 64;

impl Scm {
    /// Which nodes `outcome` depends on (itself and its ancestors).
    pub(crate) fn needed_for(&self, outcome: usize) -> Vec<bool> {
        let mut needed = vec![false; self.nodes.len()];
        needed[outcome] = true;
        for j in (0..self.nodes.len()).rev() {
            if needed[j] {
                for p in self.parent_indices(j) {
                    needed[p] = true;
                }
            }
        }
        needed
    }

    /// The parents of node `j` read by its predictor, each once, ascending.
    pub(super) fn parent_indices(&self, j: usize) -> Vec<usize> {
        let mut ps: Vec<usize> = self.coef[j].iter().map(|&(p, _)| p).collect();
        for t in &self.terms[j] {
            match t {
                CTerm::Unary(_, p, ..) => ps.push(*p),
                CTerm::Product(qs, _) => ps.extend(qs),
            }
        }
        ps.sort_unstable();
        ps.dedup();
        ps
    }
}

impl SweepJob<'_> {
    /// Setting `s`'s index in the noise contract (0 under common random numbers).
    fn noise_setting(&self, s: usize) -> u32 {
        if self.common_random_numbers {
            0
        } else {
            self.first_setting + s as u32
        }
    }

    /// The outcome's mean over the first [`PILOT`] samples of setting `s`, in f64 on the host
    /// (the same noise as the full run): the centring pivot of the device's sums. 0 when those
    /// samples are not finite (the device then reports them).
    #[cfg(feature = "gpu")]
    pub(crate) fn pilot(&self, s: usize) -> f64 {
        let k = PILOT.min(self.samples) as usize;
        let mut blk = [
            Block::new(self.scm.nodes.len()),
            Block::new(self.scm.nodes.len()),
        ];
        let needed = self.scm.needed_for(self.outcome);
        let mut ys = vec![0.0; k];
        self.outcomes(s, &needed, 0, &mut ys, &mut blk);
        let mean = ys.iter().sum::<f64>() / k as f64;
        if mean.is_finite() {
            mean
        } else {
            0.0
        }
    }

    /// The outcomes (or, under `contrast`, the paired differences) of output `s` for samples
    /// `first .. first + ys.len()`, [`LANES`] at a time.
    fn outcomes(
        &self,
        s: usize,
        needed: &[bool],
        first: usize,
        ys: &mut [f64],
        blk: &mut [Block; 2],
    ) {
        let setting = self.noise_setting(s);
        let [a, b] = blk;
        for (i, out) in ys.chunks_mut(LANES).enumerate() {
            let at = (first + i * LANES) as u32;
            let len = out.len();
            if self.contrast {
                let (pa, pb) = (&self.plans[2 * s], &self.plans[2 * s + 1]);
                self.scm
                    .draw_block(pa, needed, &self.stream, at, len, setting, a);
                self.scm
                    .draw_block(pb, needed, &self.stream, at, len, setting, b);
                let (ya, yb) = (a.col(self.outcome, len), b.col(self.outcome, len));
                for ((o, u), v) in out.iter_mut().zip(ya).zip(yb) {
                    *o = u - v;
                }
            } else {
                self.scm
                    .draw_block(&self.plans[s], needed, &self.stream, at, len, setting, a);
                out.copy_from_slice(a.col(self.outcome, len));
            }
        }
    }

    /// The error of a setting whose samples are not finite.
    pub(crate) fn not_finite(&self, s: usize) -> Error {
        let name = &self.scm.nodes[self.outcome].name;
        Error::param(
            name,
            format!(
                "setting {s}: samples of `{name}` are not finite (a structural equation overflows)"
            ),
        )
    }

    /// The CPU implementation: every (output, chunk of [`BLOCK`] samples) is one parallel work
    /// item, sampled [`LANES`] at a time by [`Scm::draw_block`] (only the nodes the outcome
    /// depends on). A chunk reduces its samples to count, mean and sum of squared deviations (two
    /// passes) and the chunks of a setting are merged in order (Chan et al.), so results do not
    /// depend on the thread count and, without quantiles, memory does not grow with the samples
    /// (24 bytes per chunk). With quantiles every sample is kept and sorted.
    pub(crate) fn run_cpu(&self, progress: Option<ProgressFn>) -> Result<Vec<SettingStats>> {
        let m = self.scm.nodes.len();
        let n = self.samples as usize;
        let settings = self.outputs();
        let total = settings as u64 * self.samples as u64;
        let done = AtomicU64::new(0);
        let needed = self.scm.needed_for(self.outcome);
        let mut kept: Vec<Vec<f64>> = if self.keep_values {
            (0..settings).map(|_| vec![0.0; n]).collect()
        } else {
            Vec::new()
        };
        let mut items: Vec<(usize, usize, Option<&mut [f64]>)> = Vec::new();
        if self.keep_values {
            for (s, ys) in kept.iter_mut().enumerate() {
                for (c, chunk) in ys.chunks_mut(BLOCK).enumerate() {
                    items.push((s, c, Some(chunk)));
                }
            }
        } else {
            for s in 0..settings {
                items.extend((0..n.div_ceil(BLOCK)).map(|c| (s, c, None)));
            }
        }
        let parts: Vec<(usize, Moments)> = items
            .into_par_iter()
            .map_init(
                || ([Block::new(m), Block::new(m)], vec![0.0; BLOCK]),
                |(blk, local), (s, c, dst)| {
                    let len = BLOCK.min(n - c * BLOCK);
                    let ys = match dst {
                        Some(d) => d,
                        None => &mut local[..len],
                    };
                    self.outcomes(s, &needed, c * BLOCK, ys, blk);
                    if let Some(p) = progress {
                        let len = len as u64;
                        p(done.fetch_add(len, Ordering::Relaxed) + len, total);
                    }
                    (s, Moments::of(ys))
                },
            )
            .collect();
        let mut merged = vec![Moments::default(); settings];
        for (s, part) in parts {
            merged[s] = merged[s].merge(part);
        }
        let mut kept = kept.into_iter();
        merged
            .into_iter()
            .enumerate()
            .map(|(s, mo)| {
                let variance = mo.m2 / (mo.n - 1.0);
                if !variance.is_finite() || !mo.mean.is_finite() {
                    return Err(self.not_finite(s));
                }
                let mut sorted = kept.next().unwrap_or_default();
                sorted.sort_by(f64::total_cmp);
                Ok(SettingStats {
                    mean: mo.mean,
                    variance,
                    sorted,
                })
            })
            .collect()
    }
}

impl SampleJob<'_> {
    /// The CPU implementation: blocks of [`BLOCK`] samples in parallel, each drawn [`LANES`] at a
    /// time by [`Scm::draw_block`] straight into the columns (f64; the result does not depend on
    /// the thread count). Values are returned as drawn, non-finite ones included.
    pub(crate) fn run_cpu(&self) -> Vec<Vec<f64>> {
        let m = self.scm.nodes.len();
        let n = self.samples as usize;
        let mut cols = vec![vec![0.0; n]; m];
        // pieces[c][j]: block c of column j
        let mut pieces: Vec<Vec<&mut [f64]>> = (0..n.div_ceil(BLOCK))
            .map(|_| Vec::with_capacity(m))
            .collect();
        for col in cols.iter_mut() {
            for (c, piece) in col.chunks_mut(BLOCK).enumerate() {
                pieces[c].push(piece);
            }
        }
        let needed = vec![true; m];
        pieces.into_par_iter().enumerate().for_each_init(
            || Block::new(m),
            |blk, (c, mut block)| {
                for b in (0..block[0].len()).step_by(LANES) {
                    let len = LANES.min(block[0].len() - b);
                    let first = (c * BLOCK + b) as u32;
                    self.scm
                        .draw_block(self.plan, &needed, &self.stream, first, len, 0, blk);
                    for (j, col) in block.iter_mut().enumerate() {
                        col[b..b + len].copy_from_slice(blk.col(j, len));
                    }
                }
            },
        );
        cols
    }
}

/// Count, mean and sum of squared deviations of a set of samples.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Moments {
    pub n: f64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// Two passes over `v`.
    pub fn of(v: &[f64]) -> Moments {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let m2 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
        Moments { n, mean, m2 }
    }

    /// The moments of the union (Chan, Golub & LeVeque's pairwise update).
    pub fn merge(self, o: Moments) -> Moments {
        if self.n == 0.0 {
            return o;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        Moments {
            n,
            mean: self.mean + d * (o.n / n),
            m2: self.m2 + o.m2 + d * d * (self.n * o.n / n),
        }
    }
}
