//! The sweep as a backend operation: the CPU implementation of [`SweepJob`], the pilot pivots
//! of the device reductions and the flat program the sweep shader interprets.

use super::block::{Block, LANES};
use super::{CTerm, Func, NodeType, Noise, Scm, BLOCK};
use super::jobs::{SampleJob, SettingStats, SweepJob};
use crate::engine::ProgressFn;
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Samples of the host pilot that gives each setting its centring pivot on the device.
pub(crate) const PILOT: u32 = 64;

/// Words per node record of [`SweepProgram::nodes`].
pub(crate) const NODE_WORDS: usize = 9;

/// Value slots the sweep shader holds in a private array (`MAXN` in `shaders/sweep.wgsl`);
/// programs that need more run the `sweep-wide` variant, whose slots live in a storage buffer.
pub(crate) const PRIVATE_SLOTS: u32 = 256;

/// Function code of a product term in the program (unary functions are `0..11`, in the order
/// of [`super::FUNCS`]).
const PRODUCT: u32 = 11;

/// A model compiled for `shaders/sweep.wgsl`: f32 values stored as their bits.
///
/// * `nodes`: [`NODE_WORDS`] words per node, topological order: `flags` (bit 0 logistic, bit 1
///   needed, bits 2–3 noise 0 normal / 1 uniform / 2 Laplace, bit 4 the node's pair
///   `(2k, 2k + 1)` shares one Box–Muller transform), noise parameters `p0` (scale or low)
///   and `p1` (high), the intercept, offset and count of its coefficients and of its terms in
///   `prog`, then the value slot the node writes.
/// * `prog`: coefficients as `(parent slot, weight)`; terms as six words `(fn, weight, inner
///   scale, inner shift, parent slot or offset, count)`, a product's parent slots listed at the
///   offset.
///
/// Slots: a thread keeps a node's value only while a later needed node reads it (or for good,
/// for the kept node), so a slot freed by a parent's last reader is reused (by that reader
/// itself: the shader reads every parent before it writes). A chain of any length takes one
/// slot; a model whose outcome reads every node takes one per node. `slots` is the peak.
pub(crate) struct SweepProgram {
    pub nodes: Vec<u32>,
    pub prog: Vec<u32>,
    /// Value slots one thread needs.
    pub slots: u32,
    /// The kept node's slot (0 without one).
    pub kept_slot: u32,
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
                for p in self.parent_indices(j) {
                    needed[p] = true;
                }
            }
        }
        needed
    }

    /// The parents of node `j` read by its predictor, each once, ascending.
    fn parent_indices(&self, j: usize) -> Vec<usize> {
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

    /// Value slots of the needed nodes (module docs of [`SweepProgram`]): `(slot per node,
    /// slots)`; the `kept` node's slot is never reused.
    fn slots(&self, needed: &[bool], kept: Option<usize>) -> (Vec<u32>, u32) {
        let m = self.nodes.len();
        // the last needed node that reads each node
        let mut last_use = vec![None; m];
        let parents: Vec<Vec<usize>> = (0..m).map(|j| self.parent_indices(j)).collect();
        for j in (0..m).filter(|&j| needed[j]) {
            for &p in &parents[j] {
                last_use[p] = Some(j);
            }
        }
        let mut slot = vec![0u32; m];
        let (mut free, mut peak) = (Vec::new(), 0u32);
        for j in (0..m).filter(|&j| needed[j]) {
            for &p in &parents[j] {
                if last_use[p] == Some(j) && kept != Some(p) {
                    free.push(slot[p]);
                }
            }
            slot[j] = free.pop().unwrap_or_else(|| {
                peak += 1;
                peak - 1
            });
            if last_use[j].is_none() && kept != Some(j) {
                free.push(slot[j]);
            }
        }
        (slot, peak)
    }

    /// The flat program of the sweep shader for `outcome`; nodes the outcome does not depend on
    /// are marked unneeded (the shader skips them; their noise words are never read, so nothing
    /// shifts).
    pub(crate) fn program(&self, outcome: usize) -> SweepProgram {
        self.program_of(&self.needed_for(outcome), Some(outcome))
    }

    /// The program of [`Scm::sample`]: every node needed, none kept (the shader writes each
    /// value out as it is computed).
    pub(crate) fn sample_program(&self) -> SweepProgram {
        self.program_of(&vec![true; self.nodes.len()], None)
    }

    fn program_of(&self, needed: &[bool], kept: Option<usize>) -> SweepProgram {
        let m = self.nodes.len();
        let (slot, slots) = self.slots(needed, kept);
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
                prog.extend([slot[p], f(c)]);
            }
            let term_off = prog.len() as u32;
            let mut lists = Vec::new();
            for t in &self.terms[j] {
                match t {
                    CTerm::Unary(func, p, w, a, b) => {
                        prog.extend([func_code(*func), f(*w), f(*a), f(*b), slot[*p], 1]);
                    }
                    CTerm::Product(ps, w) => {
                        let at = prog.len();
                        prog.extend([PRODUCT, f(*w), f(1.0), 0, 0, ps.len() as u32]);
                        lists.push((at + 4, ps.clone()));
                    }
                }
            }
            for (at, ps) in lists {
                prog[at] = prog.len() as u32;
                prog.extend(ps.iter().map(|&p| slot[p]));
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
                slot[j],
            ]);
        }
        SweepProgram {
            nodes,
            prog,
            slots: slots.max(1),
            kept_slot: kept.map_or(0, |k| slot[k]),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scm::Node;

    fn normal() -> Noise {
        Noise::Normal { scale: 1.0 }
    }

    /// `X0 → X1 → … → X(n−1)`, and with `wide` a last node `Y` reading every `Xj`.
    fn chain(n: usize, wide: bool) -> Scm {
        let names: Vec<String> = (0..n).map(|j| format!("X{j}")).collect();
        let mut nodes = vec![Node::linear(&names[0], 0.0, &[], normal())];
        for j in 1..n {
            nodes.push(Node::linear(
                &names[j],
                0.0,
                &[(&names[j - 1], 0.5)],
                normal(),
            ));
        }
        if wide {
            let coef: Vec<(&str, f64)> = names.iter().map(|s| (s.as_str(), 0.1)).collect();
            nodes.push(Node::linear("Y", 0.0, &coef, normal()));
        }
        Scm::new(nodes).unwrap()
    }

    #[test]
    fn value_slots_are_reused_after_the_last_reader() {
        let c = chain(300, false);
        let p = c.program(299);
        assert_eq!((p.slots, p.kept_slot), (1, 0));
        assert_eq!(c.sample_program().slots, 1);
        // an outcome in the middle: the nodes after it are unneeded
        let p = c.program(10);
        assert_eq!(p.slots, 1);
        assert_eq!(p.nodes[11 * NODE_WORDS] & 2, 0);
        // every Xj is read by Y: 300 values live at once, then Y takes a freed slot
        let w = chain(300, true);
        let p = w.program(300);
        assert_eq!(p.slots, 300);
        assert!(p.slots > PRIVATE_SLOTS);
        // a node read twice (coefficient and product term) frees its slot once
        let d = Scm::new(vec![
            Node::linear("A", 0.0, &[], normal()),
            Node::linear("B", 0.0, &[], normal()),
            Node::additive(
                "C",
                0.0,
                &[("A", 1.0)],
                vec![super::super::Term::Product {
                    parents: vec!["A".into(), "B".into()],
                    weight: 1.0,
                }],
                normal(),
            ),
            Node::linear("D", 0.0, &[("C", 1.0), ("B", 1.0)], normal()),
            Node::linear("E", 0.0, &[("D", 1.0)], normal()),
        ])
        .unwrap();
        let p = d.program(d.names().iter().position(|n| *n == "E").unwrap());
        let names = d.names();
        let slot = |name: &str| {
            let j = names.iter().position(|n| *n == name).unwrap();
            p.nodes[j * NODE_WORDS + 8]
        };
        assert_eq!(p.slots, 2);
        // A and B live together; C takes A's slot (C is A's last reader); D frees B's and
        // C's slots and takes C's (freed last); E takes D's
        assert_ne!(slot("A"), slot("B"));
        assert_eq!([slot("C"), slot("D"), slot("E")], [slot("A"); 3]);
    }
}
