//! Resampling plans: how replicate `b` draws its units, as a pure function of `(seed, b, position)`.
//!
//! [`Gen`] is the reference implementation of the draw contract; `shaders/resample.wgsl` is its
//! line-by-line twin. Both backends walk positions in runs of [`RUN`] consecutive positions, and a
//! run can start anywhere (the generator re-derives its state from the counter), which is what
//! makes replicates and positions independent of threads, workgroups and shards.

use crate::rng::{open_unit, poisson1, uniform_index, Stream};

/// Positions handled consecutively by one thread (same constant as the shaders).
pub(crate) const RUN: u32 = 64;

/// How positions map to units.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PlanKind {
    /// Each position draws uniformly within its stratum; `offsets` has `n_strata + 1` entries
    /// (iid is one stratum `[0, units]`). Two positions per Philox block.
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
    cur: u32,
    stratum: usize,
}

impl<'a> Gen<'a> {
    pub fn new(plan: &'a ResamplePlan, rep: u32, t0: u32) -> Self {
        Gen {
            plan,
            rep,
            t: t0,
            fresh: true,
            words: [0; 4],
            cur: 0,
            stratum: 0,
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
            PlanKind::Strata { offsets } => {
                if fresh {
                    self.stratum = offsets.partition_point(|&o| o <= t) - 1;
                }
                while t >= offsets[self.stratum + 1] {
                    self.stratum += 1;
                }
                if fresh || t & 1 == 0 {
                    self.words = self.block(t >> 1);
                }
                let w = self.words;
                let s0 = offsets[self.stratum];
                let size = offsets[self.stratum + 1] - s0;
                d.unit = s0
                    + if t & 1 == 0 {
                        uniform_index(w[0], w[1], size)
                    } else {
                        uniform_index(w[2], w[3], size)
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
