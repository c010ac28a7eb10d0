//! Null distributions: the Philox permutations of the HSIC permutation null, the permutation and
//! spectral (Monte-Carlo χ² mixture) p-values on the engine's backend, and the gamma tail.

use super::cpu;
#[cfg(feature = "gpu")]
use super::gpu;
use super::{kci, IndependenceTest};
use crate::engine::{run_on, Engine};
use crate::error::{Error, Result};
use crate::rng::{lemire_index, lemire_threshold, uniform_index, Stream, STREAM_PERMUTATION};
use faer::Mat;
use statrs::distribution::{ContinuousCDF, Gamma};

/// Fisher–Yates permutation `p` of `0..n` from the Philox permutation stream: step `i` (from
/// `n − 1` down to 1) swaps `i` with a uniform `j ∈ [0, i]` drawn from word `n − 1 − i`
/// (four words per block, Lemire's method with the fallback block on rejection).
pub fn permutation(seed: u64, p: u32, n: usize) -> Vec<u32> {
    let stream = Stream::new(seed, STREAM_PERMUTATION);
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let mut words = [0u32; 4];
    for (step, i) in (1..n).rev().enumerate() {
        if step % 4 == 0 {
            words = stream.block(p, (step / 4) as u32);
        }
        let range = i as u32 + 1;
        let j =
            lemire_index(words[step % 4], range, lemire_threshold(range)).unwrap_or_else(|| {
                let f = stream.fallback_block(p, step as u32);
                uniform_index(f[0], f[1], range)
            });
        perm.swap(i, j as usize);
    }
    perm
}

/// Permutations `perms` of `0..n` of the HSIC permutation null with seed `seed` (each as
/// [`permutation`]), concatenated, drawn on the engine's backend: a GPU engine draws them on the
/// device, as its permutation null does, and the indices are the same on every backend.
///
/// ```
/// use ceteris::{independence, Engine};
/// let p = independence::permutations(&Engine::cpu(), 7, 5, 2..4).unwrap();
/// assert_eq!(&p[..5], &independence::permutation(7, 2, 5)[..]);
/// assert_eq!(&p[5..], &independence::permutation(7, 3, 5)[..]);
/// ```
pub fn permutations(
    engine: &crate::Engine,
    seed: u64,
    n: usize,
    perms: std::ops::Range<u32>,
) -> Result<Vec<u32>> {
    if n == 0 || n > u32::MAX as usize {
        return Err(Error::param("n", "must be between 1 and 2^32 − 1"));
    }
    Ok(run_on!(engine,
        cpu: cpu::permutations(seed, n, perms.clone()),
        gpu: |ctx| gpu::permutations(ctx, seed, n, perms.clone()))?
    .0)
}

impl IndependenceTest {
    /// Monte-Carlo tail of `Σ w_k χ²_k` at `stat` on the engine: draw `d` uses Philox (seed,
    /// Monte-Carlo stream, replicate `d`), one standard normal per weight; p = #{draws > stat} /
    /// draws (causal-learn's rule). Returns the p-value, the backend that drew and the draws.
    pub(super) fn spectral_p(
        &self,
        engine: &Engine,
        weights: &[f64],
        stat: f64,
        draws: u32,
    ) -> Result<(f64, String, Vec<f64>)> {
        let stream = Stream::new(self.seed, crate::rng::STREAM_MONTE_CARLO);
        let (totals, ran) = run_on!(engine,
            cpu: cpu::chi2mix_draws(weights, stream, 0..draws),
            gpu: |ctx| gpu::chi2mix_draws(ctx, weights, stream, 0..draws))?;
        let exceed = totals.iter().filter(|&&t| t > stat).count();
        Ok((exceed as f64 / draws as f64, ran.backend, totals))
    }

    /// Permutation p-value `(1 + #{T_p ≥ T}) / (1 + P)`, the permuted statistics computed by the
    /// engine's backend (on the device for a GPU engine), which backend ran, and the permuted
    /// statistics.
    pub(super) fn permutation_p(
        &self,
        engine: &Engine,
        lx: &Mat<f64>,
        ly: &Mat<f64>,
        stat: f64,
        perms: u32,
    ) -> Result<(f64, String, Vec<f64>)> {
        let rows = |m: &Mat<f64>| {
            let mut v = Vec::with_capacity(m.nrows() * m.ncols());
            for i in 0..m.nrows() {
                for j in 0..m.ncols() {
                    v.push(m[(i, j)]);
                }
            }
            v
        };
        let (fx, fy) = (rows(lx), rows(ly));
        let job = super::jobs::HsicJob {
            n: lx.nrows(),
            rx: lx.ncols(),
            ry: ly.ncols(),
            lx: &fx,
            ly: &fy,
            seed: self.seed,
        };
        let (stats, ran) = run_on!(engine,
            cpu: cpu::hsic_permutations(&job, 0..perms),
            gpu: |ctx| gpu::hsic_permutations(ctx, &job, 0..perms))?;
        let exceed = stats.iter().filter(|&&s| s >= stat).count();
        Ok(((1 + exceed) as f64 / (1 + perms) as f64, ran.backend, stats))
    }
}

pub(super) fn gamma_sf(m: kci::Moments) -> Result<f64> {
    if !(m.mean > 0.0 && m.var > 0.0) {
        return Err(Error::param(
            "kernel",
            "the null moments vanish (a kernel matrix is zero after centring/regression)",
        ));
    }
    let shape = m.mean * m.mean / m.var;
    let scale = m.var / m.mean;
    let g = Gamma::new(shape, 1.0 / scale)
        .map_err(|e| Error::param("kernel", format!("gamma approximation: {e}")))?;
    Ok(g.sf(m.statistic))
}
