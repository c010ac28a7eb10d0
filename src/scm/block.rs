//! The CPU sampler: a block of [`LANES`] samples at a time, node by node (column-wise), so the
//! noise draws, Box–Muller transforms and linear predictors run as vector loops.
//!
//! The block is evaluated in f64. Philox runs eight counters per AVX2 instruction where the CPU
//! has AVX2 ([`crate::rng::philox4x32_10_lanes`]). The normal transform uses the polynomial
//! [`ln_unit`] and [`sincos_turn`] below (no library calls, so the loop vectorises); both are
//! within a few units in the last place of the library functions. The arithmetic is plain
//! multiplies and adds (never fused), so a sample has the same bits whichever instruction set,
//! block position or thread computed it. Under the `avx2,fma` target features (detected at run
//! time) the same code is compiled for 256-bit vectors, and the linear predictors sum sixteen
//! lanes at a time in registers with AVX2 intrinsics (the same multiplies and adds in the same
//! order: the same bits).

use super::{CTerm, Noise, Scm};
use crate::rng::{open_unit, Stream};

/// Samples per block evaluation (a multiple of 8, the Philox lane count).
pub(crate) const LANES: usize = 256;

/// Lanes accumulated together in registers; a block's length is rounded up to a multiple (the
/// lanes past it are computed and ignored).
const GROUP: usize = 16;

/// Scratch of one block: node columns (`m × LANES`, column-major), the block's noise, and which
/// nodes need it.
pub(crate) struct Block {
    pub cols: Vec<f64>,
    noise: NoiseBlock,
    noisy: Vec<bool>,
}

impl Block {
    pub fn new(m: usize) -> Block {
        Block {
            cols: vec![0.0; m * LANES],
            noise: NoiseBlock::new(m),
            noisy: vec![false; m],
        }
    }

    /// Node `j`'s values in the block.
    pub fn col(&self, j: usize, len: usize) -> &[f64] {
        &self.cols[j * LANES..j * LANES + len]
    }
}

/// The noise of one block of samples, per node ([`Scm::draw_noise`]): `m × LANES` values,
/// column-major, and the Philox words they came from.
pub(crate) struct NoiseBlock {
    z: Vec<f64>,
    words: [[u32; LANES]; 4],
}

impl NoiseBlock {
    pub fn new(m: usize) -> NoiseBlock {
        NoiseBlock {
            z: vec![0.0; m * LANES],
            words: [[0; LANES]; 4],
        }
    }
}

/// `ln u` for `u` in (0, 1) (the [`open_unit`] uniforms), branch-free: `u = 2^e · m` with
/// `m ∈ [√½, √2)`, `ln m = 2 atanh s`, `s = (m − 1)/(m + 1)`, by its Taylor series to `s²¹`
/// (`|s| ≤ 0.172`: truncation below 1e-18 relative) by Estrin's scheme. Accurate to a few ulp.
///
/// The exponent goes through the `2^52` magic-number conversion so that the loop vectorises
/// without 64-bit integer-to-float instructions.
#[inline(always)]
pub(crate) fn ln_unit(u: f64) -> f64 {
    const MAGIC: f64 = 4_503_599_627_370_496.0; // 2^52
    let bits = u.to_bits();
    let e = f64::from_bits((bits >> 52) | MAGIC.to_bits()) - (MAGIC + 1023.0);
    let m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = if big { e + 1.0 } else { e };
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Σ s2^k / (2k + 1), k = 0..=10, by Estrin's scheme (short dependency chains)
    let (s4, s8) = (s2 * s2, (s2 * s2) * (s2 * s2));
    let r0 = (1.0 + s2 * (1.0 / 3.0)) + s4 * (1.0 / 5.0 + s2 * (1.0 / 7.0));
    let r1 = (1.0 / 9.0 + s2 * (1.0 / 11.0)) + s4 * (1.0 / 13.0 + s2 * (1.0 / 15.0));
    let r2 = (1.0 / 17.0 + s2 * (1.0 / 19.0)) + s4 * (1.0 / 21.0);
    let p = (r0 + s8 * r1) + (s8 * s8) * r2;
    e * std::f64::consts::LN_2 + 2.0 * s * p
}

/// `(sin 2πu, cos 2πu)` for the 24-bit uniform `u = (k + ½)/2^24`, `k = w >> 8` (the uniform of
/// [`open_unit`]`(w)`), branch-free: the nearest quarter turn `j` comes from the top bits of `k`
/// and `x = 2π u − jπ/2 ∈ [−π/4, π/4]` is exact up to one rounding; Taylor series of sin to
/// `x¹⁵` and cos to `x¹⁶` (truncation below 2e-17) by Estrin's scheme. Accurate to a few ulp.
#[inline(always)]
pub(crate) fn sincos_turn(w: u32) -> (f64, f64) {
    const MAGIC: f64 = 4_503_599_627_370_496.0; // 2^52
    let t = ((w >> 8) as i32 as f64 + 0.5) * (1.0 / 4_194_304.0); // 4u, exact
                                                                  // the nearest quarter turn j ∈ 0..=4: t + 2^52 rounds to the integer j + 2^52 (t is never
                                                                  // a half-integer), whose low mantissa bits are j
    let r = t + MAGIC;
    let j = r.to_bits();
    let x = (t - (r - MAGIC)) * std::f64::consts::FRAC_PI_2;
    let (x2, x4) = (x * x, (x * x) * (x * x));
    let x8 = x4 * x4;
    // sin x = x + x³ Σ (−1)^(k+1) x^2k / (2k + 3)!, k = 0..=6; cos x = 1 + x² Σ (−1)^(k+1)
    // x^2k / (2k + 2)!, k = 0..=7; both by Estrin's scheme
    let sp = ((-1.0 / 6.0 + x2 * (1.0 / 120.0)) + x4 * (-1.0 / 5040.0 + x2 * (1.0 / 362_880.0)))
        + x8 * ((-1.0 / 39_916_800.0 + x2 * (1.0 / 6_227_020_800.0))
            + x4 * (-1.0 / 1_307_674_368_000.0));
    let cp = ((-0.5 + x2 * (1.0 / 24.0)) + x4 * (-1.0 / 720.0 + x2 * (1.0 / 40_320.0)))
        + x8 * ((-1.0 / 3_628_800.0 + x2 * (1.0 / 479_001_600.0))
            + x4 * (-1.0 / 87_178_291_200.0 + x2 * (1.0 / 20_922_789_888_000.0)));
    let s = x + (x * x2) * sp;
    let c = 1.0 + x2 * cp;
    let (s1, c1) = if j & 1 == 1 { (c, s) } else { (s, c) };
    // sin θ is negative for j ∈ {2, 3}, cos θ for j ∈ {1, 2}: flip the sign bits
    let sin = f64::from_bits(s1.to_bits() ^ ((j & 2) << 62));
    let cos = f64::from_bits(c1.to_bits() ^ (((j + 1) & 2) << 62));
    (sin, cos)
}

/// Box–Muller on two words: `(r cos θ, r sin θ)` with `r = √(−2 ln u₁)`, `θ = 2π u₂`.
#[inline(always)]
pub(crate) fn box_muller(w0: u32, w1: u32) -> (f64, f64) {
    let r = (-2.0 * ln_unit(open_unit(w0))).sqrt();
    let (s, c) = sincos_turn(w1);
    (r * c, r * s)
}

/// `(⌈m/4⌉, ⌈m/4⌉ + ⌈m/2⌉)`: the Philox blocks of shared normal pairs, and all the blocks one
/// setting's sample reads (the noise contract of [`crate::scm`]).
pub(crate) fn noise_blocks(m: usize) -> (usize, u32) {
    (m.div_ceil(4), (m.div_ceil(4) + m.div_ceil(2)) as u32)
}

impl Scm {
    /// Samples `first .. first + len` (`len ≤ LANES`) of every node under `plan` into
    /// `blk.cols`, noise from `stream` for `setting` (the contract of the module docs): the noise
    /// of the nodes that need it ([`Scm::draw_noise`]), then the nodes ([`Scm::eval_block`]).
    /// Nodes with `needed[j] == false` are skipped (their columns are left as they were).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn draw_block(
        &self,
        plan: &[(Option<f64>, f64)],
        needed: &[bool],
        stream: &Stream,
        first: u32,
        len: usize,
        setting: u32,
        blk: &mut Block,
    ) {
        let Block { cols, noise, noisy } = blk;
        for ((n, &need), (set, _)) in noisy.iter_mut().zip(needed).zip(plan) {
            *n = need && set.is_none();
        }
        self.draw_noise(noisy, stream, first, len, setting, noise);
        self.eval_block(plan, needed, noise, len, cols);
    }

    /// The noise of samples `first .. first + len` (`len ≤ LANES`) for `setting` into `nz`,
    /// per node with `noisy[j]` (the contract of the module docs; the same numbers
    /// the contract of [`crate::scm`]): a normal node's standard normal, a uniform or Laplace node's
    /// draw, a logistic node's uniform. Drawn once, it serves every setting of a sweep under
    /// common random numbers ([`Scm::eval_block`]).
    pub(crate) fn draw_noise(
        &self,
        noisy: &[bool],
        stream: &Stream,
        first: u32,
        len: usize,
        setting: u32,
        nz: &mut NoiseBlock,
    ) {
        debug_assert!(len <= LANES);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the features are present (checked just above).
                return unsafe { self.draw_noise_avx2(noisy, stream, first, len, setting, nz) };
            }
        }
        self.draw_noise_body(noisy, stream, first, len, setting, nz)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn draw_noise_avx2(
        &self,
        noisy: &[bool],
        stream: &Stream,
        first: u32,
        len: usize,
        setting: u32,
        nz: &mut NoiseBlock,
    ) {
        self.draw_noise_body(noisy, stream, first, len, setting, nz)
    }

    #[inline(always)]
    fn draw_noise_body(
        &self,
        noisy: &[bool],
        stream: &Stream,
        first: u32,
        len: usize,
        setting: u32,
        nz: &mut NoiseBlock,
    ) {
        let m = self.nodes.len();
        let (quads, nb) = noise_blocks(m);
        let wide = len.div_ceil(GROUP) * GROUP;
        let is_normal = |k: usize| matches!(self.nodes[k].noise, Some(Noise::Normal { .. }));
        let NoiseBlock { z, words } = nz;
        let mut have = None; // the block whose words are in `words`
        for q in 0..m.div_ceil(2) {
            let pair = 2 * q..(2 * q + 2).min(m);
            if !pair.clone().any(|j| noisy[j]) {
                continue;
            }
            let shared = 2 * q + 1 < m && is_normal(2 * q) && is_normal(2 * q + 1);
            let block = setting * nb + if shared { q / 2 } else { quads + q } as u32;
            if have != Some(block) {
                have = Some(block);
                let [w0, w1, w2, w3] = words;
                stream.fill_replicates(
                    block,
                    first,
                    [
                        &mut w0[..wide],
                        &mut w1[..wide],
                        &mut w2[..wide],
                        &mut w3[..wide],
                    ],
                );
            }
            if shared {
                let (even, odd) = z[2 * q * LANES..(2 * q + 2) * LANES].split_at_mut(LANES);
                let o = 2 * (q % 2);
                for i in 0..wide {
                    (even[i], odd[i]) = box_muller(words[o][i], words[o + 1][i]);
                }
                continue;
            }
            for j in pair.filter(|&j| noisy[j]) {
                let own = 2 * (j % 2);
                let (w0, w1) = (&words[own][..wide], &words[own + 1][..wide]);
                let col = &mut z[j * LANES..j * LANES + wide];
                match &self.nodes[j].noise {
                    None => {
                        for (u, &w) in col.iter_mut().zip(w0) {
                            *u = open_unit(w);
                        }
                    }
                    Some(Noise::Normal { .. }) => {
                        for ((g, &a), &b) in col.iter_mut().zip(w0).zip(w1) {
                            *g = box_muller(a, b).0;
                        }
                    }
                    Some(law) => {
                        for (g, &w) in col.iter_mut().zip(w0) {
                            *g = law.draw(w);
                        }
                    }
                }
            }
        }
    }

    /// Evaluates the nodes with `eval[j]` for samples of the block whose noise is in `nz`
    /// ([`Scm::draw_noise`]) under `plan` into `cols` (a [`Block`]'s columns), the other columns
    /// left as they were (the parents they hold must be current).
    pub(crate) fn eval_block(
        &self,
        plan: &[(Option<f64>, f64)],
        eval: &[bool],
        nz: &NoiseBlock,
        len: usize,
        cols: &mut [f64],
    ) {
        debug_assert!(len <= LANES);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: the features are present (checked just above).
                return unsafe { self.eval_block_avx2(plan, eval, nz, len, cols) };
            }
        }
        self.eval_block_body::<false>(plan, eval, nz, len, cols)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn eval_block_avx2(
        &self,
        plan: &[(Option<f64>, f64)],
        eval: &[bool],
        nz: &NoiseBlock,
        len: usize,
        cols: &mut [f64],
    ) {
        self.eval_block_body::<true>(plan, eval, nz, len, cols)
    }

    #[inline(always)]
    fn eval_block_body<const AVX2: bool>(
        &self,
        plan: &[(Option<f64>, f64)],
        eval: &[bool],
        nz: &NoiseBlock,
        len: usize,
        cols: &mut [f64],
    ) {
        let wide = len.div_ceil(GROUP) * GROUP;
        for j in (0..self.nodes.len()).filter(|&j| eval[j]) {
            let (done, rest) = cols.split_at_mut(j * LANES);
            let col = &mut rest[..wide];
            let (set, shift) = plan[j];
            if let Some(v) = set {
                col.fill(v);
                continue;
            }
            let z = &nz.z[j * LANES..j * LANES + wide];
            let scale = match &self.nodes[j].noise {
                None => {
                    self.predictor::<AVX2, false>(j, done, col, &[], 0.0, 0.0);
                    self.terms_block(j, done, col);
                    for (v, &u) in col.iter_mut().zip(z) {
                        *v = (u < 1.0 / (1.0 + (-*v).exp())) as u8 as f64 + shift;
                    }
                    continue;
                }
                Some(Noise::Normal { scale }) => *scale,
                Some(_) => 1.0,
            };
            if self.terms[j].is_empty() {
                self.predictor::<AVX2, true>(j, done, col, z, scale, shift);
            } else {
                self.predictor::<AVX2, false>(j, done, col, z, 0.0, 0.0);
                self.terms_block(j, done, col);
                for (v, &z) in col.iter_mut().zip(z) {
                    *v = *v + scale * z + shift;
                }
            }
        }
    }

    /// Node `j`'s linear predictor over the block, `intercept + Σ c · parent` (parents in order,
    /// read from `done`: the columns before `j`, column-major with stride [`LANES`]), then, under
    /// `NOISE`, `+ scale · z + shift`. [`GROUP`] lanes at a time, accumulated in registers.
    #[inline(always)]
    fn predictor<const AVX2: bool, const NOISE: bool>(
        &self,
        j: usize,
        done: &[f64],
        col: &mut [f64],
        z: &[f64],
        scale: f64,
        shift: f64,
    ) {
        let (b, coef) = (self.nodes[j].intercept, &self.coef[j][..]);
        assert!(col.len().is_multiple_of(GROUP) && (!NOISE || z.len() == col.len()));
        assert!(coef
            .iter()
            .all(|&(p, _)| p * LANES + col.len() <= done.len()));
        #[cfg(target_arch = "x86_64")]
        if AVX2 {
            // SAFETY: AVX2 is present (`AVX2` is true only under `eval_block_avx2`), and the
            // asserts above bound every read and write.
            unsafe { avx2::predictor::<NOISE>(b, coef, done, col, z, scale, shift) };
            return;
        }
        for (g, out) in col.chunks_exact_mut(GROUP).enumerate() {
            let mut acc = [b; GROUP];
            for &(p, c) in coef {
                let x = &done[p * LANES + g * GROUP..][..GROUP];
                for (a, &x) in acc.iter_mut().zip(x) {
                    *a += c * x;
                }
            }
            if NOISE {
                let z = &z[g * GROUP..][..GROUP];
                for ((o, a), &z) in out.iter_mut().zip(acc).zip(z) {
                    *o = a + scale * z + shift;
                }
            } else {
                out.copy_from_slice(&acc);
            }
        }
    }

    /// Adds node `j`'s nonlinear terms to `col` (parents read from `done`).
    #[inline(always)]
    fn terms_block(&self, j: usize, done: &[f64], col: &mut [f64]) {
        let len = col.len();
        for t in &self.terms[j] {
            match t {
                CTerm::Unary(f, p, w, a, b) => {
                    let x = &done[p * LANES..p * LANES + len];
                    for (v, &xv) in col.iter_mut().zip(x) {
                        *v += w * f.apply(a * xv + b);
                    }
                }
                CTerm::Product(ps, w) => {
                    for (i, v) in col.iter_mut().enumerate() {
                        *v += w * ps.iter().map(|&p| done[p * LANES + i]).product::<f64>();
                    }
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{GROUP, LANES};
    use std::arch::x86_64::*;

    /// [`super::Scm::predictor`] with four 4-lane accumulators per group: separate multiplies
    /// and adds in the same order, so the same bits as the portable loop.
    ///
    /// # Safety
    /// AVX2 must be present; `col.len()` is a multiple of [`GROUP`], `z` (under `NOISE`) is as
    /// long as `col`, and every parent column `p · LANES .. p · LANES + col.len()` lies in `done`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn predictor<const NOISE: bool>(
        b: f64,
        coef: &[(usize, f64)],
        done: &[f64],
        col: &mut [f64],
        z: &[f64],
        scale: f64,
        shift: f64,
    ) {
        let (vs, vh) = (_mm256_set1_pd(scale), _mm256_set1_pd(shift));
        for g in (0..col.len()).step_by(GROUP) {
            let mut acc = [_mm256_set1_pd(b); 4];
            for &(p, c) in coef {
                let (x, c) = (done.as_ptr().add(p * LANES + g), _mm256_set1_pd(c));
                for (k, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_add_pd(*a, _mm256_mul_pd(c, _mm256_loadu_pd(x.add(4 * k))));
                }
            }
            for (k, a) in acc.into_iter().enumerate() {
                let a = if NOISE {
                    let zk = _mm256_loadu_pd(z.as_ptr().add(g + 4 * k));
                    _mm256_add_pd(_mm256_add_pd(a, _mm256_mul_pd(vs, zk)), vh)
                } else {
                    a
                };
                _mm256_storeu_pd(col.as_mut_ptr().add(g + 4 * k), a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scm::{Node, Term};

    #[test]
    fn portable_and_avx2_paths_give_the_same_bits() {
        // the plain body (what a CPU without AVX2/FMA runs) against the dispatching entry point
        let m = Scm::new(vec![
            Node::linear("A", 0.3, &[], Noise::Normal { scale: 1.0 }),
            Node::linear("B", 0.0, &[("A", 0.7)], Noise::Normal { scale: 2.0 }),
            Node::linear("C", 0.0, &[("B", -0.4)], Noise::Laplace { scale: 0.5 }),
            Node::additive(
                "D",
                0.1,
                &[("C", 1.0)],
                vec![Term::Product {
                    parents: vec!["A".into(), "C".into()],
                    weight: 0.5,
                }],
                Noise::Normal { scale: 0.3 },
            ),
            Node::logistic("E", 0.0, &[("D", 1.0)], vec![]),
        ])
        .unwrap();
        let plan = vec![(None, 0.0); 5];
        let needed = vec![true; 5];
        let stream = Stream::new(5, crate::rng::STREAM_MONTE_CARLO);
        let (mut a, mut b) = (Block::new(5), Block::new(5));
        for (first, len) in [(0, LANES), (1000, 37)] {
            m.draw_block(&plan, &needed, &stream, first, len, 3, &mut a);
            m.draw_noise_body(&needed, &stream, first, len, 3, &mut b.noise);
            m.eval_block_body::<false>(&plan, &needed, &b.noise, len, &mut b.cols);
            for j in 0..5 {
                let (x, y) = (a.col(j, len), b.col(j, len));
                assert!(
                    x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()),
                    "node {j}"
                );
            }
        }
    }

    #[test]
    fn ln_unit_matches_the_library_log() {
        let mut worst: f64 = 0.0;
        for k in (0u32..1 << 24).step_by(997).chain([0, 1, (1 << 24) - 1]) {
            let u = open_unit(k << 8);
            let (a, b) = (ln_unit(u), u.ln());
            worst = worst.max((a - b).abs() / b.abs());
        }
        assert!(worst < 4.0 * f64::EPSILON, "worst relative error {worst:e}");
    }

    #[test]
    fn sincos_turn_matches_the_library() {
        let mut worst: f64 = 0.0;
        for k in (0u32..1 << 24).step_by(991).chain([0, 1, (1 << 24) - 1]) {
            let w = k << 8;
            let (s, c) = sincos_turn(w);
            let theta = 2.0 * std::f64::consts::PI * open_unit(w);
            worst = worst
                .max((s - theta.sin()).abs())
                .max((c - theta.cos()).abs());
        }
        assert!(worst < 4.0 * f64::EPSILON, "worst absolute error {worst:e}");
    }
}
