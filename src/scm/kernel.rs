//! The sweep as a backend operation: the CPU implementation of [`SweepJob`], the pilot pivots
//! of the device reductions and the flat program the sweep shader interprets.

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
    /// The flat program of the sweep shader; nodes the outcome does not depend on are marked
    /// unneeded (the shader skips them; their noise words are never read, so nothing shifts).
    pub(crate) fn program(&self, outcome: usize) -> SweepProgram {
        let m = self.nodes.len();
        let mut needed = vec![false; m];
        needed[outcome] = true;
        for j in (0..m).rev() {
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
        let m = self.scm.nodes.len();
        let k = PILOT.min(self.samples);
        let mut buf = vec![0.0; m];
        let mut sum = 0.0;
        for i in 0..k {
            self.scm.draw(
                &self.plans[s],
                &self.stream,
                i,
                self.noise_setting(s),
                &mut buf,
            );
            sum += buf[self.outcome];
        }
        let mean = sum / k as f64;
        if mean.is_finite() {
            mean
        } else {
            0.0
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

    /// The CPU implementation: settings in parallel, blocks of samples in parallel within each;
    /// sample `i` always gets counter `i` and the sums run in sample order, so results do not
    /// depend on the thread count. Mean and variance in f64 by two passes.
    pub(crate) fn run_cpu(&self, progress: Option<ProgressFn>) -> Result<Vec<SettingStats>> {
        let m = self.scm.nodes.len();
        let n = self.samples as usize;
        let total = self.plans.len() as u64 * self.samples as u64;
        let done = AtomicU64::new(0);
        self.plans
            .par_iter()
            .enumerate()
            .map(|(s, plan)| {
                let setting = self.noise_setting(s);
                let mut ys = vec![0.0; n];
                ys.par_chunks_mut(BLOCK).enumerate().for_each_init(
                    || vec![0.0; m],
                    |buf, (c, chunk)| {
                        for (k, out) in chunk.iter_mut().enumerate() {
                            self.scm
                                .draw(plan, &self.stream, (c * BLOCK + k) as u32, setting, buf);
                            *out = buf[self.outcome];
                        }
                        if let Some(p) = progress {
                            let len = chunk.len() as u64;
                            p(done.fetch_add(len, Ordering::Relaxed) + len, total);
                        }
                    },
                );
                let mean = ys.iter().sum::<f64>() / n as f64;
                let variance =
                    ys.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
                if !variance.is_finite() {
                    return Err(self.not_finite(s));
                }
                if self.keep_values {
                    ys.sort_by(f64::total_cmp);
                } else {
                    ys = Vec::new();
                }
                Ok(SettingStats {
                    mean,
                    variance,
                    sorted: ys,
                })
            })
            .collect()
    }
}
