//! SCM sweeps and joint samples on the CPU: [`SweepJob::run_cpu`] and [`SampleJob::run_cpu`],
//! blocks of [`LANES`] samples node by node in f64, rayon over blocks; and the host pilot that
//! gives the device's reductions their centring pivots.

use super::block::{Block, NoiseBlock, LANES};
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

    /// The plans output `s` evaluates: setting `s`, or under `contrast` the pair `(2s, 2s + 1)`.
    fn output_plans(&self, s: usize) -> &[Vec<(Option<f64>, f64)>] {
        if self.contrast {
            &self.plans[2 * s..2 * s + 2]
        } else {
            &self.plans[s..s + 1]
        }
    }

    /// The per-chunk moments of every output under common random numbers, in the order
    /// [`SweepJob::run_cpu`] merges them (by output, chunks ascending), the same numbers as
    /// [`SweepJob::outcomes`] gives each output alone. A work item is one chunk of [`BLOCK`]
    /// samples of a group of outputs: per [`LANES`] samples it draws the noise once
    /// ([`Scm::draw_noise`]), evaluates once the needed nodes that no plan intervenes on or
    /// shifts and that descend from none that a plan does, then, per plan of the group, only
    /// the others ([`Scm::eval_block`]). Groups are sized for the thread count, which the
    /// numbers do not depend on.
    fn shared_noise_parts(
        &self,
        needed: &[bool],
        kept: &mut [Vec<f64>],
        progress: Option<ProgressFn>,
        done: &AtomicU64,
    ) -> Vec<(usize, Moments)> {
        let scm = self.scm;
        let m = scm.nodes.len();
        let n = self.samples as usize;
        let outputs = self.outputs();
        let total = outputs as u64 * self.samples as u64;
        let chunks = n.div_ceil(BLOCK);
        // nodes whose value may differ between plans, and the needed nodes whose noise is drawn
        let (varies, noisy) = self.shared_nodes(needed);
        let once: Vec<bool> = (0..m).map(|j| needed[j] && !varies[j]).collect();
        let each: Vec<bool> = (0..m).map(|j| needed[j] && varies[j]).collect();
        // outputs per work item: enough items to keep every thread busy, enough outputs per
        // item to share each noise draw widely, at most GROUP_MAX (an item holds a chunk of
        // samples per output: 2 MB at most)
        const GROUP_MAX: usize = 64;
        let threads = rayon::current_num_threads().max(1);
        let group = (outputs * chunks)
            .div_ceil(4 * threads)
            .clamp(8, GROUP_MAX)
            .min(outputs);
        // destinations: [chunk][output] (kept samples, or none)
        let mut dst: Vec<Vec<Option<&mut [f64]>>> = (0..chunks)
            .map(|_| (0..outputs).map(|_| None).collect())
            .collect();
        for (s, ys) in kept.iter_mut().enumerate() {
            for (c, piece) in ys.chunks_mut(BLOCK).enumerate() {
                dst[c][s] = Some(piece);
            }
        }
        let mut items = Vec::new();
        for (c, row) in dst.into_iter().enumerate() {
            let mut row = row.into_iter().enumerate().peekable();
            while row.peek().is_some() {
                items.push((c, row.by_ref().take(group).collect::<Vec<_>>()));
            }
        }
        let parts: Vec<Vec<(usize, Moments)>> = items
            .into_par_iter()
            .map_init(
                || (Block::new(m), NoiseBlock::new(m)),
                |(blk, nz), (c, outs)| {
                    let len = BLOCK.min(n - c * BLOCK);
                    let mut outs: Vec<_> = outs
                        .into_iter()
                        .map(|(s, d)| {
                            let local = if d.is_some() {
                                Vec::new()
                            } else {
                                vec![0.0; len]
                            };
                            (s, d, local)
                        })
                        .collect();
                    for sub in (0..len).step_by(LANES) {
                        let l = LANES.min(len - sub);
                        let first = (c * BLOCK + sub) as u32;
                        scm.draw_noise(&noisy, &self.stream, first, l, 0, nz);
                        scm.eval_block(&self.plans[0], &once, nz, l, &mut blk.cols);
                        for (s, d, local) in outs.iter_mut() {
                            let ys = match d {
                                Some(d) => &mut d[sub..sub + l],
                                None => &mut local[sub..sub + l],
                            };
                            let plans = self.output_plans(*s);
                            scm.eval_block(&plans[0], &each, nz, l, &mut blk.cols);
                            ys.copy_from_slice(blk.col(self.outcome, l));
                            if let Some(other) = plans.get(1) {
                                scm.eval_block(other, &each, nz, l, &mut blk.cols);
                                for (y, v) in ys.iter_mut().zip(blk.col(self.outcome, l)) {
                                    *y -= v;
                                }
                            }
                        }
                        if let Some(p) = progress {
                            let k = (l * outs.len()) as u64;
                            p(done.fetch_add(k, Ordering::Relaxed) + k, total);
                        }
                    }
                    outs.into_iter()
                        .map(|(s, d, local)| {
                            let ys = d.map_or(&local[..], |d| &d[..]);
                            (s, Moments::of(ys))
                        })
                        .collect()
                },
            )
            .collect();
        // by output, chunks ascending (the merge order of `run_cpu`)
        let mut by_output: Vec<Vec<Moments>> = vec![Vec::with_capacity(chunks); outputs];
        for (s, mo) in parts.into_iter().flatten() {
            by_output[s].push(mo);
        }
        by_output
            .into_iter()
            .enumerate()
            .flat_map(|(s, v)| v.into_iter().map(move |mo| (s, mo)))
            .collect()
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
        let parts: Vec<(usize, Moments)> = if self.common_random_numbers {
            self.shared_noise_parts(&needed, &mut kept, progress, &done)
        } else {
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
            items
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
                .collect()
        };
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
    use crate::rng::{Stream, STREAM_MONTE_CARLO};
    use crate::scm::{Intervention, Node, Noise, Term};

    /// Every node type, noise law and term; `U` and `V` descend from no intervened node.
    fn model() -> Scm {
        let n = |s: f64| Noise::Normal { scale: s };
        Scm::new(vec![
            Node::linear("U", 0.2, &[], n(1.0)),
            Node::linear("A", 0.3, &[("U", 0.5)], n(1.0)),
            Node::linear(
                "V",
                0.0,
                &[("U", 1.0)],
                Noise::Uniform {
                    low: -1.0,
                    high: 2.0,
                },
            ),
            Node::linear("B", 0.0, &[("A", 0.7)], n(2.0)),
            Node::linear("C", 0.0, &[("B", -0.4)], Noise::Laplace { scale: 0.5 }),
            Node::additive(
                "D",
                0.1,
                &[("C", 1.0), ("V", 0.3)],
                vec![
                    Term::Product {
                        parents: vec!["A".into(), "C".into()],
                        weight: 0.5,
                    },
                    Term::Unary {
                        func: crate::scm::Func::Tanh,
                        parent: "V".into(),
                        weight: 1.5,
                        inner_scale: 1.0,
                        inner_shift: 0.0,
                    },
                ],
                n(0.3),
            ),
            Node::logistic("E", 0.0, &[("D", 1.0)], vec![]),
            Node::linear("Y", 0.0, &[("E", 2.0), ("D", 1.0), ("U", -1.0)], n(1.0)),
        ])
        .unwrap()
    }

    /// Under common random numbers the shared-noise path gives every output the bits of
    /// sampling it alone (`outcomes`, which draws the noise per setting), for plain sweeps,
    /// paired contrasts and kept samples.
    #[test]
    fn shared_noise_matches_sampling_each_setting_alone() {
        let scm = model();
        let sets = [
            vec![Intervention::atomic("A", 1.0)],
            vec![Intervention::shift("B", -0.5)],
            vec![],
            vec![
                Intervention::atomic("A", -1.0),
                Intervention::atomic("E", 1.0),
            ],
            vec![Intervention::atomic("C", 0.25)],
        ];
        let plans: Vec<_> = sets.iter().map(|s| scm.compile(s).unwrap()).collect();
        let y = scm.node_index("Y").unwrap();
        for (contrast, keep) in [(false, false), (false, true), (true, false)] {
            let plans = if contrast { &plans[..4] } else { &plans[..] };
            let job = SweepJob {
                scm: &scm,
                plans,
                outcome: y,
                samples: 5000,
                stream: Stream::new(9, STREAM_MONTE_CARLO),
                common_random_numbers: true,
                first_setting: 0,
                keep_values: keep,
                contrast,
            };
            let got = job.run_cpu(None).unwrap();
            let needed = scm.needed_for(y);
            let mut blk = [Block::new(scm.nodes.len()), Block::new(scm.nodes.len())];
            for (s, st) in got.iter().enumerate() {
                let mut ys = vec![0.0; 5000];
                let mut merged = Moments::default();
                for (c, chunk) in ys.chunks_mut(BLOCK).enumerate() {
                    job.outcomes(s, &needed, c * BLOCK, chunk, &mut blk);
                    merged = merged.merge(Moments::of(chunk));
                }
                assert_eq!(
                    st.mean.to_bits(),
                    merged.mean.to_bits(),
                    "{contrast} {keep} {s}"
                );
                let var = merged.m2 / (merged.n - 1.0);
                assert_eq!(st.variance.to_bits(), var.to_bits());
                if keep {
                    ys.sort_by(f64::total_cmp);
                    assert_eq!(st.sorted, ys);
                }
            }
        }
    }

    /// The groups of outputs per work item depend on the thread count; the numbers do not.
    #[test]
    fn shared_noise_results_do_not_depend_on_the_thread_count() {
        let scm = model();
        let plans: Vec<_> = (0..40)
            .map(|i| {
                scm.compile(&[Intervention::atomic("B", -2.0 + 0.1 * i as f64)])
                    .unwrap()
            })
            .collect();
        let job = SweepJob {
            scm: &scm,
            plans: &plans,
            outcome: scm.node_index("Y").unwrap(),
            samples: 9000,
            stream: Stream::new(4, STREAM_MONTE_CARLO),
            common_random_numbers: true,
            first_setting: 0,
            keep_values: false,
            contrast: false,
        };
        let run = |threads: usize| -> Vec<(u64, u64)> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| job.run_cpu(None))
                .unwrap()
                .iter()
                .map(|st| (st.mean.to_bits(), st.variance.to_bits()))
                .collect()
        };
        let one = run(1);
        for threads in [2, 3, 8] {
            assert_eq!(run(threads), one, "{threads} threads");
        }
    }
}
