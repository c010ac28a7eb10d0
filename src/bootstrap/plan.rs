//! Resampling plans: how replicate `b` draws its units, as a pure function of `(seed, b, position)`.
//!
//! [`Gen`] is the reference implementation of the draw contract; `shaders/resample.wgsl` is its
//! line-by-line twin. Both backends walk positions in runs of [`RUN`] consecutive positions, and a
//! run can start anywhere (the generator re-derives its state from the counter), which is what
//! makes replicates and positions independent of threads, workgroups and shards.

use crate::rng::{
    full_block_index, iid_segments, lemire_index, lemire_threshold, open_unit, poisson1,
    uniform_index, Stream, IID_BLOCK, WORD3_FULL_BLOCK,
};
use std::borrow::Cow;

/// Positions handled consecutively by one thread (same constant as the shaders).
#[cfg(feature = "gpu")]
pub(crate) const RUN: u32 = 64;

/// How positions map to units.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PlanKind {
    /// Multinomial counts within each stratum; `offsets` has `n_strata + 1` entries (iid is one
    /// stratum `[0, units]`). By the iid contract of [`crate::rng`]: block totals over blocks of
    /// [`IID_BLOCK`] units, then each position uniform within its block: eight positions per
    /// Philox block from 12-bit fields in a full block, four per block by Lemire's method (with
    /// a fallback block for the rare rejected word) in a shorter one.
    Strata { offsets: Vec<u32> },
    /// Moving blocks of `len` positions, starts uniform in `[0, units - len]`.
    MovingBlock { len: u32 },
    /// Circular blocks of `len` positions, starts uniform in `[0, units)`, wrapping.
    CircularBlock { len: u32 },
    /// Stationary bootstrap: at each position a new block starts with probability `coin_thr / 2^32`.
    Stationary { coin_thr: u32 },
    /// Independent Poisson(1) weight per unit, four units per Philox block.
    Poisson,
    /// Independent Exp(1) weight per unit (normalised: Dirichlet(1,…,1)), four units per block.
    Bayesian,
}

/// A resampling plan over `units` units.
#[derive(Clone, Debug)]
pub(crate) struct ResamplePlan {
    pub units: u32,
    pub kind: PlanKind,
    pub stream: Stream,
}

impl ResamplePlan {
    /// Positions per replicate (equal to `units` for every scheme).
    pub fn draws(&self) -> u32 {
        self.units
    }

    /// Scheme code shared with the shaders.
    #[cfg(feature = "gpu")]
    pub fn code(&self) -> u32 {
        match self.kind {
            PlanKind::Strata { .. } => 0,
            PlanKind::MovingBlock { .. } => 1,
            PlanKind::CircularBlock { .. } => 2,
            PlanKind::Stationary { .. } => 3,
            PlanKind::Poisson => 4,
            PlanKind::Bayesian => 5,
        }
    }

    /// Whether draws are weights per unit (Poisson, Bayesian) rather than unit indices.
    pub fn is_weighted(&self) -> bool {
        matches!(self.kind, PlanKind::Poisson | PlanKind::Bayesian)
    }
}

/// One draw: the unit and its weight (1 for index schemes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Draw {
    pub unit: u32,
    pub weight: f64,
    /// Integer weight, or the f32 bits of a Bayesian weight (what the GPU materialises).
    pub wbits: u32,
}

/// Generator of the draws of one replicate from position `t0` on.
pub(crate) struct Gen<'a> {
    plan: &'a ResamplePlan,
    rep: u32,
    t: u32,
    fresh: bool,
    words: [u32; 4],
    /// Strata plans: the counter (`[0]`, word 0) and word 3 (`[1]`) of `words`, or [`NO_WORDS`].
    wkey: [u32; 2],
    cur: u32,
    stratum: usize,
    s0: u32,
    size: u32,
    thr: u32,
    /// Iid contract: unit starts of the blocks (segments), then the end of the last stratum.
    useg: Cow<'a, [u32]>,
    /// Iid contract: this replicate's first position of each block, then the draws.
    pseg: Cow<'a, [u32]>,
}

/// `Gen::wkey` when `words` holds no strata words.
const NO_WORDS: [u32; 2] = [u32::MAX; 2];

/// The blocks of the iid contract for replicate `rep` of a strata plan: `(unit starts, position
/// starts)`, each with one entry per block plus the end. Strata of at most [`IID_BLOCK`] units
/// are their own blocks (borrowed, nothing drawn).
pub(crate) fn iid_layout<'a>(
    stream: &Stream,
    offsets: &'a [u32],
    rep: u32,
) -> (Cow<'a, [u32]>, Cow<'a, [u32]>) {
    if offsets.windows(2).all(|w| w[1] - w[0] <= IID_BLOCK) {
        return (Cow::Borrowed(offsets), Cow::Borrowed(offsets));
    }
    let seg = iid_segments(offsets);
    let mut starts = Vec::with_capacity(seg.len());
    stream.iid_block_totals(rep, offsets, &seg, &mut starts);
    (Cow::Owned(seg), Cow::Owned(starts))
}

/// What binding 5 (`strata`) of `shaders/resample.wgsl` holds for a strata plan whose blocks
/// are not all whole strata ([`iid_layout`]), for replicates `reps`: the blocks' unit starts (and
/// the end), then each replicate's position starts ([`Stream::iid_block_totals`]); the shader's
/// `strata_rep0` is then `reps.start`. Any kernel built on `gen_begin`/`gen_next` binds this.
#[cfg(feature = "gpu")]
pub(crate) fn iid_words(plan: &ResamplePlan, reps: std::ops::Range<u32>) -> Vec<u32> {
    use rayon::prelude::*;
    let PlanKind::Strata { offsets } = &plan.kind else {
        return Vec::new();
    };
    let seg = iid_segments(offsets);
    let per: Vec<Vec<u32>> = reps
        .into_par_iter()
        .map(|r| {
            let mut st = Vec::with_capacity(seg.len());
            plan.stream.iid_block_totals(r, offsets, &seg, &mut st);
            st
        })
        .collect();
    let mut out = seg;
    per.iter().for_each(|st| out.extend_from_slice(st));
    out
}

impl<'a> Gen<'a> {
    pub fn new(plan: &'a ResamplePlan, rep: u32, t0: u32) -> Self {
        let (useg, pseg) = match &plan.kind {
            PlanKind::Strata { offsets } => iid_layout(&plan.stream, offsets, rep),
            _ => (Cow::Borrowed(&[][..]), Cow::Borrowed(&[][..])),
        };
        Gen {
            plan,
            rep,
            t: t0,
            fresh: true,
            words: [0; 4],
            wkey: NO_WORDS,
            cur: 0,
            stratum: 0,
            s0: 0,
            size: 1,
            thr: 0,
            useg,
            pseg,
        }
    }

    /// The iid contract's blocks of this replicate (strata plans): `(unit starts, position
    /// starts)`, one entry per block plus the end.
    pub fn blocks(&self) -> (&[u32], &[u32]) {
        (&self.useg, &self.pseg)
    }

    /// Enters block `s` of the iid contract.
    #[inline(always)]
    fn enter_stratum(&mut self, s: usize) {
        self.stratum = s;
        self.s0 = self.useg[s];
        self.size = self.useg[s + 1] - self.useg[s];
        self.thr = lemire_threshold(self.size);
    }

    /// One past the last position of the current block.
    #[inline(always)]
    fn block_end(&self) -> u32 {
        self.pseg[self.stratum + 1]
    }

    /// Uniform draw in the current stratum for position `t` from word `w`.
    #[inline(always)]
    fn strata_draw(&self, t: u32, w: u32) -> u32 {
        self.s0
            + match lemire_index(w, self.size, self.thr) {
                Some(i) => i,
                None => {
                    let f = self.plan.stream.fallback_block(self.rep, t);
                    uniform_index(f[0], f[1], self.size)
                }
            }
    }

    /// Fills `weights` with the weights of the next `weights.len()` units of a weight scheme
    /// (Poisson, Bayesian): the same values as repeated [`Gen::next_draw`], a block at a time.
    pub fn fill_weights(&mut self, weights: &mut [f64]) {
        let poisson = matches!(self.plan.kind, PlanKind::Poisson);
        let mut i = 0;
        while i < weights.len() {
            let t = self.t;
            if t & 3 != 0 || weights.len() - i < 4 {
                weights[i] = self.next_draw().weight;
                i += 1;
                continue;
            }
            if weights.len() - i >= 32 {
                // eight blocks at once (AVX2 Philox where available)
                let w = self.plan.stream.blocks8(self.rep, t >> 2);
                for (l, o) in weights[i..i + 32].iter_mut().enumerate() {
                    let word = w[l & 3][l >> 2];
                    *o = if poisson {
                        poisson1(word) as f64
                    } else {
                        -open_unit(word).ln()
                    };
                }
                self.fresh = false;
                self.t = t + 32;
                i += 32;
                continue;
            }
            let w = self.block(t >> 2);
            for l in 0..4 {
                weights[i + l] = if poisson {
                    poisson1(w[l]) as f64
                } else {
                    -open_unit(w[l]).ln()
                };
            }
            self.words = w;
            self.fresh = false;
            self.t = t + 4;
            i += 4;
        }
    }

    /// Fills `units` with the next `units.len()` draws of an index scheme (a tight loop for the
    /// iid/stratified case; the same values as repeated [`Gen::next_draw`]).
    pub fn fill_units(&mut self, units: &mut [u32]) {
        if let PlanKind::Strata { .. } = &self.plan.kind {
            self.wkey = NO_WORDS;
            let mut i = 0;
            while i < units.len() {
                let t = self.t;
                if self.fresh {
                    let s = self.pseg.partition_point(|&o| o <= t) - 1;
                    self.enter_stratum(s);
                    self.fresh = false;
                }
                // positions up to the next Philox block boundary and within the iid block
                let end_block = (t | 3) + 1;
                let end = end_block
                    .min(self.block_end())
                    .min(t + (units.len() - i) as u32);
                if t >= self.block_end() {
                    self.enter_stratum(self.stratum + 1);
                    continue;
                }
                if self.size == IID_BLOCK {
                    // a full block: 12-bit fields, eight positions per Philox block
                    let m = (self.block_end() - t).min((units.len() - i) as u32) as usize;
                    self.plan
                        .stream
                        .full_block_units(self.rep, t, self.s0, &mut units[i..i + m]);
                    i += m;
                    self.t = t + m as u32;
                    continue;
                }
                // aligned runs of eight blocks (32 positions) inside the iid block
                let avail = (self.block_end() - t).min((units.len() - i) as u32);
                if t & 3 == 0 && avail >= 64 {
                    // runs of sixteen blocks (64 positions), Philox and Lemire in AVX2
                    let out: &mut [u32; 64] =
                        (&mut units[i..i + 64]).try_into().expect("64 positions");
                    let fast = self.plan.stream.lemire64(
                        self.rep,
                        t >> 2,
                        self.size,
                        self.thr,
                        self.s0,
                        out,
                    );
                    if fast.is_some() {
                        i += 64;
                        self.t = t + 64;
                        continue;
                    }
                }
                if t & 3 == 0 && avail >= 32 {
                    for _ in 0..avail / 32 {
                        let t = self.t;
                        let w = self.plan.stream.blocks8(self.rep, t >> 2);
                        let out: &mut [u32; 32] =
                            (&mut units[i..i + 32]).try_into().expect("32 positions");
                        let mut rejected = false;
                        for (l, o) in out.iter_mut().enumerate() {
                            // position t + l: block l / 4, word l % 4
                            let m = u64::from(w[l & 3][l >> 2]) * u64::from(self.size);
                            rejected |= (m as u32) < self.thr;
                            *o = self.s0 + (m >> 32) as u32;
                        }
                        if rejected {
                            for (l, o) in out.iter_mut().enumerate() {
                                *o = self.strata_draw(t + l as u32, w[l & 3][l >> 2]);
                            }
                        }
                        i += 32;
                        self.t = t + 32;
                    }
                    continue;
                }
                let w = self.block(t >> 2);
                for tt in t..end {
                    units[i] = self.strata_draw(tt, w[(tt & 3) as usize]);
                    i += 1;
                }
                self.t = end;
            }
        } else {
            for u in units.iter_mut() {
                *u = self.next_draw().unit;
            }
        }
    }

    #[inline(always)]
    fn block(&self, b: u32) -> [u32; 4] {
        self.plan.stream.block(self.rep, b)
    }

    #[inline(always)]
    pub fn next_draw(&mut self) -> Draw {
        let t = self.t;
        let fresh = self.fresh;
        self.fresh = false;
        self.t = t + 1;
        let units = self.plan.units;
        let mut d = Draw {
            unit: 0,
            weight: 1.0,
            wbits: 1,
        };
        match &self.plan.kind {
            PlanKind::Strata { .. } => {
                if fresh {
                    let s = self.pseg.partition_point(|&o| o <= t) - 1;
                    self.enter_stratum(s);
                }
                while t >= self.block_end() {
                    self.enter_stratum(self.stratum + 1);
                }
                // the words of position t: counter t/8 with word 3 = 3 in a full block, t/4
                // with word 3 = 0 otherwise (the iid contract of crate::rng)
                let full = self.size == IID_BLOCK;
                let key = if full {
                    [t >> 3, WORD3_FULL_BLOCK]
                } else {
                    [t >> 2, 0]
                };
                if fresh || self.wkey != key {
                    self.words = self.plan.stream.words(self.rep, key[0], key[1]);
                    self.wkey = key;
                }
                d.unit = if full {
                    self.s0 + full_block_index(self.words, t)
                } else {
                    self.strata_draw(t, self.words[(t & 3) as usize])
                };
            }
            PlanKind::MovingBlock { len } | PlanKind::CircularBlock { len } => {
                let off = t % len;
                if fresh || off == 0 {
                    let w = self.block(t / len);
                    self.cur = if matches!(self.plan.kind, PlanKind::MovingBlock { .. }) {
                        uniform_index(w[0], w[1], units - len + 1) + off
                    } else {
                        (uniform_index(w[0], w[1], units) + off) % units
                    };
                } else {
                    self.cur += 1;
                    if self.cur == units {
                        self.cur = 0;
                    }
                }
                d.unit = self.cur;
            }
            PlanKind::Stationary { coin_thr } => {
                if fresh {
                    let mut s = t;
                    let mut w = self.block(s);
                    while s > 0 && w[2] >= *coin_thr {
                        s -= 1;
                        w = self.block(s);
                    }
                    self.cur = (uniform_index(w[0], w[1], units) + (t - s) % units) % units;
                } else {
                    let w = self.block(t);
                    if w[2] < *coin_thr {
                        self.cur = uniform_index(w[0], w[1], units);
                    } else {
                        self.cur += 1;
                        if self.cur == units {
                            self.cur = 0;
                        }
                    }
                }
                d.unit = self.cur;
            }
            PlanKind::Poisson | PlanKind::Bayesian => {
                if fresh || t & 3 == 0 {
                    self.words = self.block(t >> 2);
                }
                let word = self.words[(t & 3) as usize];
                d.unit = t;
                if matches!(self.plan.kind, PlanKind::Poisson) {
                    let c = poisson1(word);
                    d.wbits = c;
                    d.weight = c as f64;
                } else {
                    let e = -open_unit(word).ln();
                    d.weight = e;
                    d.wbits = (e as f32).to_bits();
                }
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plans() -> Vec<ResamplePlan> {
        let stream = Stream::new(77, 0);
        let kinds = vec![
            PlanKind::Strata {
                offsets: vec![0, 1000],
            },
            PlanKind::Strata {
                offsets: vec![0, 3, 517, 1000],
            },
            PlanKind::MovingBlock { len: 9 },
            PlanKind::CircularBlock { len: 9 },
            PlanKind::Stationary {
                coin_thr: u32::MAX / 7,
            },
            PlanKind::Poisson,
            PlanKind::Bayesian,
        ];
        let mut plans: Vec<ResamplePlan> = kinds
            .into_iter()
            .map(|kind| ResamplePlan {
                units: 1000,
                kind,
                stream,
            })
            .collect();
        // strata of more than IID_BLOCK units: blocks with binomial totals
        for offsets in [vec![0, 20_000], vec![0, 5, 15_000, 20_000]] {
            plans.push(ResamplePlan {
                units: 20_000,
                kind: PlanKind::Strata { offsets },
                stream,
            });
        }
        plans
    }

    /// The batched fills give exactly the draws of the per-draw generator, from any start and in
    /// pieces of any length.
    #[test]
    fn fills_equal_per_draw_generation() {
        for plan in plans() {
            for (rep, t0) in [(0u32, 0u32), (5, 3), (9, 517)] {
                let reference: Vec<Draw> = {
                    let mut g = Gen::new(&plan, rep, t0);
                    (t0..plan.units).map(|_| g.next_draw()).collect()
                };
                let mut g = Gen::new(&plan, rep, t0);
                let mut got = Vec::new();
                let mut piece = 1;
                while got.len() < reference.len() {
                    let m = piece.min(reference.len() - got.len());
                    if plan.is_weighted() {
                        let mut w = vec![0.0; m];
                        g.fill_weights(&mut w);
                        got.extend(w);
                    } else {
                        let mut u = vec![0u32; m];
                        g.fill_units(&mut u);
                        got.extend(u.into_iter().map(f64::from));
                    }
                    piece = piece * 3 + 1;
                }
                let want: Vec<f64> = reference
                    .iter()
                    .map(|d| {
                        if plan.is_weighted() {
                            d.weight
                        } else {
                            d.unit as f64
                        }
                    })
                    .collect();
                assert_eq!(got, want, "{:?} rep {rep} from {t0}", plan.kind);
            }
        }
    }

    /// The iid contract's counts: every draw lands in its block, each block's total is
    /// Binomial(n, L/n) (mean within 5 standard errors over 3000 replicates, variance within
    /// 5 standard errors of its estimate, sd(s²) ≈ σ²·√(2/(R−1))), and the totals of a stratum
    /// add up to its size.
    #[test]
    fn block_totals_are_multinomial() {
        let n = 3 * IID_BLOCK + 1000;
        let plan = ResamplePlan {
            units: n,
            kind: PlanKind::Strata {
                offsets: vec![0, 7, n],
            },
            stream: Stream::new(41, 0),
        };
        let reps = 3000u32;
        let mut totals = vec![Vec::new(); 5];
        let mut u = vec![0u32; n as usize];
        for rep in 0..reps {
            let mut g = Gen::new(&plan, rep, 0);
            let (useg, pseg) = (g.blocks().0.to_vec(), g.blocks().1.to_vec());
            assert_eq!(
                useg,
                vec![0, 7, 7 + IID_BLOCK, 7 + 2 * IID_BLOCK, 7 + 3 * IID_BLOCK, n]
            );
            assert_eq!((pseg[0], pseg[1], pseg[5]), (0, 7, n));
            g.fill_units(&mut u);
            for s in 0..5 {
                let m = pseg[s + 1] - pseg[s];
                totals[s].push(m as f64);
                let drawn = &u[pseg[s] as usize..pseg[s + 1] as usize];
                assert!(drawn.iter().all(|&x| x >= useg[s] && x < useg[s + 1]));
            }
        }
        let big = (n - 7) as f64;
        for (s, tot) in totals.iter().enumerate().skip(1) {
            let len = if s < 4 { IID_BLOCK as f64 } else { 993.0 };
            let (mu, var) = (len, big * (len / big) * (1.0 - len / big));
            let r = reps as f64;
            let mean = tot.iter().sum::<f64>() / r;
            let v = tot.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (r - 1.0);
            assert!(
                (mean - mu).abs() < 5.0 * (var / r).sqrt(),
                "block {s}: mean {mean} vs {mu}"
            );
            let sd_v = var * (2.0 / (r - 1.0)).sqrt();
            assert!((v - var).abs() < 5.0 * sd_v, "block {s}: var {v} vs {var}");
        }
    }

    /// Known answers of the iid contract against a direct scalar reading of it (after the block
    /// totals): in a full block position `t` is the top 12 bits of half `t mod 2` of word
    /// `(t/2) mod 4` of counter `[t/8, rep, 0, 3]`; in a shorter block Lemire on word `t mod 4` of
    /// counter `[t/4, rep, 0, 0]`, a rejected word redrawn by `uniform_index` from counter
    /// `[t, rep, 0, 1]`. Checked for the batched fill and the per-draw generator, with strata
    /// of exactly, below and above `IID_BLOCK` units.
    #[test]
    fn iid_draws_match_a_direct_reading_of_the_contract() {
        use crate::rng::philox4x32_10;
        let b = IID_BLOCK;
        for (units, offsets) in [
            (20_000, vec![0, 20_000]),
            (b, vec![0, b]),
            (3 * b + 17, vec![0, 5, b + 5, 3 * b + 17]),
        ] {
            let plan = ResamplePlan {
                units,
                kind: PlanKind::Strata {
                    offsets: offsets.clone(),
                },
                stream: Stream::new(0x5eed_0001, 0),
            };
            let key = plan.stream.key();
            for rep in [0u32, 7, 1234] {
                let (useg, pseg) = iid_layout(&plan.stream, &offsets, rep);
                let mut want = Vec::with_capacity(units as usize);
                for i in 0..useg.len() - 1 {
                    let (s0, len) = (useg[i], useg[i + 1] - useg[i]);
                    for t in pseg[i]..pseg[i + 1] {
                        let u = if len == 4096 {
                            let w = philox4x32_10([t / 8, rep, 0, 3], key)[((t / 2) % 4) as usize];
                            (if t % 2 == 0 { w & 0xffff } else { w >> 16 }) >> 4
                        } else {
                            let w = philox4x32_10([t / 4, rep, 0, 0], key)[(t % 4) as usize];
                            let m = u64::from(w) * u64::from(len);
                            if m % (1u64 << 32) < (1u64 << 32) % u64::from(len) {
                                let f = philox4x32_10([t, rep, 0, 1], key);
                                uniform_index(f[0], f[1], len)
                            } else {
                                (m >> 32) as u32
                            }
                        };
                        want.push(s0 + u);
                    }
                }
                let mut got = vec![0u32; units as usize];
                Gen::new(&plan, rep, 0).fill_units(&mut got);
                assert_eq!(got, want, "{offsets:?} rep {rep}");
                let mut g = Gen::new(&plan, rep, 0);
                let one: Vec<u32> = (0..units).map(|_| g.next_draw().unit).collect();
                assert_eq!(one, want, "{offsets:?} rep {rep} per draw");
            }
        }
    }

    /// Full-block draws are uniform over the block: chi-square over 64 bins of 64 units each,
    /// 4096 · 200 draws, below the 0.999 quantile of chi-square(63) (103.4).
    #[test]
    fn full_block_draws_are_uniform() {
        let plan = ResamplePlan {
            units: IID_BLOCK,
            kind: PlanKind::Strata {
                offsets: vec![0, IID_BLOCK],
            },
            stream: Stream::new(17, 0),
        };
        let mut counts = [0u64; 64];
        let mut u = vec![0u32; IID_BLOCK as usize];
        for rep in 0..200 {
            Gen::new(&plan, rep, 0).fill_units(&mut u);
            for &v in &u {
                counts[(v / 64) as usize] += 1;
            }
        }
        let e = 200.0 * 64.0;
        let chi: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
        assert!(chi < 103.4, "{chi} {counts:?}");
    }

    /// Lemire draws are uniform: chi-square over 10 bins of 200 000 draws stays below the 0.999
    /// quantile of chi-square(9) (27.88).
    #[test]
    fn strata_draws_are_uniform() {
        let plan = ResamplePlan {
            units: 10,
            kind: PlanKind::Strata {
                offsets: vec![0, 10],
            },
            stream: Stream::new(3, 0),
        };
        let mut counts = [0u64; 10];
        for rep in 0..20_000 {
            let mut u = [0u32; 10];
            Gen::new(&plan, rep, 0).fill_units(&mut u);
            for v in u {
                counts[v as usize] += 1;
            }
        }
        let e = 20_000.0;
        let chi: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
        assert!(chi < 27.88, "{chi} {counts:?}");
    }
}
