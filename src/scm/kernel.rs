//! The sweep as a backend operation: the CPU implementation of [`SweepJob`], the pilot pivots
//! of the device reductions and the flat program the sweep shader interprets.

use super::block::{Block, LANES};
use super::{CTerm, Func, NodeType, Noise, Scm, BLOCK};
use crate::backend::{ProgressFn, SettingStats, SweepJob};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples of the host pilot that gives each setting its centring pivot on the device.
pub(crate) const PILOT: u32 = 64;

/// Words per node record of [`SweepProgram::nodes`].
pub(crate) const NODE_WORDS: usize = 8;

/// Function code of a product term in the program (unary functions are `0..11`, in the order
/// of [`super::FUNCS`]).
const PRODUCT: u32 = 11;

/// A model compiled for `shaders/sweep.wgsl`: f32 values stored as their bits.
///
/// * `nodes`: [`NODE_WORDS`] words per node, topological order: `flags` (bit 0 logistic, bit 1
///   needed for the outcome, bits 2–3 noise 0 normal / 1 uniform / 2 Laplace, bit 4 the node's
///   pair `(2k, 2k + 1)` shares one Box–Muller transform), noise parameters `p0` (scale or low)
///   and `p1` (high), the intercept, then offset and count of its coefficients and of its terms
///   in `prog`.
/// * `prog`: coefficients as `(parent, weight)`; terms as six words `(fn, weight, inner scale,
///   inner shift, parent or offset, count)`, a product's parents listed at the offset.
pub(crate) struct SweepProgram {
    pub nodes: Vec<u32>,
    pub prog: Vec<u32>,
}

fn func_code(f: Func) -> u32 {
    super::FUNCS
        .iter()
        .position(|(_, g)| *g == f)
        .expect("listed") as u32
}

impl Scm {
    /// Which nodes `outcome` depends on (itself and its ancestors).
    pub(crate) fn needed_for(&self, outcome: usize) -> Vec<bool> {
        let mut needed = vec![false; self.nodes.len()];
        needed[outcome] = true;
        for j in (0..self.nodes.len()).rev() {
            if needed[j] {
                for &(p, _) in &self.coef[j] {
                    needed[p] = true;
                }
                for t in &self.terms[j] {
                    match t {
                        CTerm::Unary(_, p, ..) => needed[*p] = true,
                        CTerm::Product(ps, _) => ps.iter().for_each(|&p| needed[p] = true),
                    }
                }
            }
        }
        needed
    }

    /// The flat program of the sweep shader; nodes the outcome does not depend on are marked
    /// unneeded (the shader skips them; their noise words are never read, so nothing shifts).
    pub(crate) fn program(&self, outcome: usize) -> SweepProgram {
        let m = self.nodes.len();
        let needed = self.needed_for(outcome);
        let normal = |k: usize| matches!(self.nodes[k].noise, Some(Noise::Normal { .. }));
        let f = |x: f64| (x as f32).to_bits();
        let mut nodes = Vec::with_capacity(m * NODE_WORDS);
        let mut prog = Vec::new();
        for (j, node) in self.nodes.iter().enumerate() {
            let even = j - j % 2;
            let shared = even + 1 < m && normal(even) && normal(even + 1);
            let (dist, p0, p1) = match node.noise {
                Some(Noise::Normal { scale }) => (0, scale, 0.0),
                Some(Noise::Uniform { low, high }) => (1, low, high),
                Some(Noise::Laplace { scale }) => (2, scale, 0.0),
                None => (0, 0.0, 0.0),
            };
            let flags = (node.kind == NodeType::Logistic) as u32
                | (needed[j] as u32) << 1
                | dist << 2
                | (shared as u32) << 4;
            let coef_off = prog.len() as u32;
            for &(p, c) in &self.coef[j] {
                prog.extend([p as u32, f(c)]);
            }
            let term_off = prog.len() as u32;
            let mut lists = Vec::new();
            for t in &self.terms[j] {
                match t {
                    CTerm::Unary(func, p, w, a, b) => {
                        prog.extend([func_code(*func), f(*w), f(*a), f(*b), *p as u32, 1]);
                    }
                    CTerm::Product(ps, w) => {
                        let at = prog.len();
                        prog.extend([PRODUCT, f(*w), f(1.0), 0, 0, ps.len() as u32]);
                        lists.push((at + 4, ps.clone()));
                    }
                }
            }
            for (slot, ps) in lists {
                prog[slot] = prog.len() as u32;
                prog.extend(ps.iter().map(|&p| p as u32));
            }
            nodes.extend([
                flags,
                f(p0),
                f(p1),
                f(node.intercept),
                coef_off,
                self.coef[j].len() as u32,
                term_off,
                self.terms[j].len() as u32,
            ]);
        }
        SweepProgram { nodes, prog }
    }
}

impl SweepJob<'_> {
    /// Setting `s`'s index in the noise contract (0 under common random numbers).
    fn noise_setting(&self, s: usize) -> u32 {
        if self.common_random_numbers {
            0
        } else {
            s as u32
        }
    }

    /// The outcome's mean over the first [`PILOT`] samples of setting `s`, in f64 on the host
    /// (the same noise as the full run): the centring pivot of the device's sums. 0 when those
    /// samples are not finite (the device then reports them).
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
