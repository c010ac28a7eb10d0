//! The standardised random Fourier features `√2 cos(W u + b)`: one column at a time, a
//! branch-free cosine.

use super::{constant_feature, Features};
use crate::error::Result;
use crate::simd::multiversion;
use faer::Mat;
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Standardised features `√2 cos(W u + b)` of row-major `rows` (n × d) as an n × nf matrix.
///
/// One feature column at a time (rayon over columns), each a contiguous loop: the argument
/// `Σ_j w_kj u_ij + b_k` in the same order as before, a branch-free cosine ([`cos_reduced`],
/// within 3.5e-16 of `f64::cos`; arguments beyond ±1e5 take `f64::cos`), then the column's mean and
/// standard deviation (ddof = 1) and the standardisation, all while the column is in cache.
pub(crate) fn feature_matrix(rows: &[f64], d: usize, f: &Features) -> Result<Mat<f64>> {
    let n = rows.len() / d;
    let v = feature_columns(rows, d, f, Vec::with_capacity(n * f.b.len()))?;
    Ok(faer::MatRef::from_column_major_slice(&v, n, f.b.len()).to_owned())
}

/// [`feature_matrix`] as a column-major buffer (`n · nf`) in `v` (emptied; its capacity reused
/// or grown): uninitialised memory that the columns fill in parallel (no zeroing pass over the
/// n × nf matrix first: a memset there cost 7 % of a test at n = 10⁵ and pushed the buffer out
/// of cache).
pub(super) fn feature_columns(
    rows: &[f64],
    d: usize,
    f: &Features,
    mut v: Vec<f64>,
) -> Result<Vec<f64>> {
    let n = rows.len() / d;
    let cols: Vec<Vec<f64>> = (0..d)
        .map(|j| rows.iter().skip(j).step_by(d).copied().collect())
        .collect();
    let len = n * f.b.len();
    v.clear();
    v.reserve(len);
    advise_huge_pages(&v);
    let ok = v.spare_capacity_mut()[..len]
        .par_chunks_mut(n.max(1))
        .enumerate()
        .map(|(k, out)| feature_column(&cols, &f.w[k * d..(k + 1) * d], f.b[k], out))
        .all(|ok| ok);
    if !ok {
        return Err(constant_feature());
    }
    // SAFETY: `all` visited every chunk (it stops early only on a false), and each call wrote
    // every value of its chunk, so the first `len` values are initialised.
    unsafe { v.set_len(len) };
    Ok(v)
}

/// Advises the kernel to back a large buffer with 2 MiB pages (Linux's transparent
/// huge pages in `madvise` mode): the n × 100 Z features are 80 MB at n = 10⁵, and on 4 KiB pages
/// their first writes cost about 20 000 page faults, 10–15 % of a test (`perf`). A hint only:
/// where the kernel declines, or elsewhere, nothing changes (the values are the same either way).
pub(super) fn advise_huge_pages(v: &Vec<f64>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<f64>();
        let (lo, hi) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if hi >= lo + 2 * HUGE {
            // SAFETY: [lo, hi) lies inside the vector's own allocation; the advice changes
            // only how the kernel backs those pages (already-backed ones keep their values).
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

multiversion! {
    /// One standardised feature column into `out`, every value written (false when it is
    /// constant): [`feature_column_generic`] on AVX-512 or AVX2 + FMA lanes where present, the
    /// same bits either way (the cosine's fused multiply-adds are `f64::mul_add`, exact on every
    /// path; an x86-64 CPU without FMA, older than 2013, gets them from libm, slowly).
    fn feature_column(cols: &[Vec<f64>], w: &[f64], b: f64, out: &mut [MaybeUninit<f64>]) -> bool
        = feature_column_generic;
    wide: "avx512f,avx2,fma" if ["avx512f", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

#[inline(always)]
fn feature_column_generic(
    cols: &[Vec<f64>],
    w: &[f64],
    b: f64,
    out: &mut [MaybeUninit<f64>],
) -> bool {
    let n = out.len();
    assert!(cols.len() == w.len() && !cols.is_empty() && cols.iter().all(|c| c.len() == n));
    // a chunk at a time, in L1: the argument, summed as Σ_j w_j u_j (from 0) and then + b, its
    // cosine, and the chunk's sum; 32 running sums (four 8-lane chains: one or two would make
    // the sums latency-bound, slower than the cosines)
    const CHUNK: usize = 256;
    let mut arg = [0.0f64; CHUNK];
    let mut s = [0.0f64; LANES];
    let mut tail = 0.0f64;
    for (c, chunk) in out.chunks_mut(CHUNK).enumerate() {
        let arg = &mut arg[..chunk.len()];
        let lo = c * CHUNK;
        for (a, &u) in arg.iter_mut().zip(&cols[0][lo..]) {
            *a = w[0] * u;
        }
        for (col, &wj) in cols.iter().zip(w).skip(1) {
            for (a, &u) in arg.iter_mut().zip(&col[lo..]) {
                *a += wj * u;
            }
        }
        // no early exit, so the range check vectorises too
        let inside = arg
            .iter()
            .fold(true, |ok, a| ok & ((a + b).abs() <= COS_LIMIT));
        if inside {
            for (o, a) in chunk.iter_mut().zip(arg.iter()) {
                o.write(std::f64::consts::SQRT_2 * cos_reduced(a + b));
            }
        } else {
            for (o, a) in chunk.iter_mut().zip(arg.iter()) {
                o.write(std::f64::consts::SQRT_2 * (a + b).cos());
            }
        }
        // SAFETY: the loop just above wrote every value of the chunk, and `MaybeUninit<f64>`
        // has the layout of `f64`.
        let chunk = unsafe { &*(chunk as *const [MaybeUninit<f64>] as *const [f64]) };
        let mut it = chunk.chunks_exact(LANES);
        for q in &mut it {
            for (acc, v) in s.iter_mut().zip(q) {
                *acc += v;
            }
        }
        // only the column's last chunk can leave a remainder (CHUNK is a multiple of LANES)
        tail += it.remainder().iter().sum::<f64>();
    }
    // SAFETY: the chunks above wrote all n values.
    let out = unsafe { &mut *(out as *mut [MaybeUninit<f64>] as *mut [f64]) };
    let mean = (lanes_sum(&s) + tail) / n as f64;
    let mut ss = [0.0f64; LANES];
    let mut it = out.chunks_exact(LANES);
    for q in &mut it {
        for (s, v) in ss.iter_mut().zip(q) {
            *s += (v - mean) * (v - mean);
        }
    }
    let tail: f64 = it.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = ((lanes_sum(&ss) + tail) / (n as f64 - 1.0)).sqrt();
    if sd.is_nan() || sd <= 0.0 {
        return false;
    }
    // one division, then products (within an ulp of dividing each value: the 1e-13 test below)
    let inv = 1.0 / sd;
    for v in out.iter_mut() {
        *v = (*v - mean) * inv;
    }
    true
}

/// Running sums per column statistic in [`feature_column`].
const LANES: usize = 32;

/// Σ of the running sums, pairwise.
#[inline(always)]
fn lanes_sum(s: &[f64; LANES]) -> f64 {
    let mut v = *s;
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            v[i] += v[i + w];
        }
    }
    v[0]
}

/// Largest `|x|` that [`cos_reduced`] takes (so the odd multiple `j` of π/2 nearest `x` stays
/// below 2²⁰ and `j` times the 33-bit leading part of π/2 stays exact).
const COS_LIMIT: f64 = 1e5;

/// `cos x` for `|x| ≤` [`COS_LIMIT`], without branches (so loops over it vectorise), with one
/// polynomial: `x = jπ/2 + r` with `j = 2k + 1` the odd multiple of π/2 nearest `x` (`k` rounded
/// by the 1.5·2⁵² trick) and `|r| ≤ π/2` by Cody–Waite with fdlibm's three-part π/2, then
/// `cos x = (−1)^(k+1) sin r`, `sin r` by its Taylor polynomial to `r²¹` (truncation below
/// 1.2e-18 on `|r| ≤ π/2`), every step a fused multiply-add (`f64::mul_add`: one rounding each,
/// the same bits on every CPU). Within 3.5e-16 of `f64::cos` (unit test; 1.6 ulp of 1).
#[inline(always)]
fn cos_reduced(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2⁵²
    #[allow(clippy::excessive_precision)] // fdlibm's published constants, digit for digit
    const PIO2: [f64; 3] = [
        1.570_796_326_734_125_614_17e0,
        6.077_100_506_303_965_976_6e-11,
        2.022_266_248_795_950_631_54e-21,
    ];
    // (−1)^n / (2n + 1)!, n = 1..10
    const S: [f64; 10] = [
        -0.166_666_666_666_666_66,
        0.008_333_333_333_333_333,
        -0.000_198_412_698_412_698_4,
        2.755_731_922_398_589_3e-6,
        -2.505_210_838_544_172e-8,
        1.605_904_383_682_161_3e-10,
        -7.647_163_731_819_816e-13,
        2.811_457_254_345_520_6e-15,
        -8.220_635_246_624_33e-18,
        1.957_294_106_339_126_3e-20,
    ];
    let t = x.mul_add(std::f64::consts::FRAC_1_PI, -0.5) + MAGIC;
    let q = t.to_bits();
    let j = 2.0 * (t - MAGIC) + 1.0;
    let r = (-j).mul_add(PIO2[2], (-j).mul_add(PIO2[1], (-j).mul_add(PIO2[0], x)));
    let z = r * r;
    let mut p = S[9];
    for &c in S[..9].iter().rev() {
        p = p.mul_add(z, c);
    }
    let sin = (r * z).mul_add(p, r);
    // k even → −sin r, odd → sin r
    let sign = ((q & 1) ^ 1) << 63;
    f64::from_bits(sin.to_bits() ^ sign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{open_unit, Stream};

    /// The branch-free cosine against `f64::cos` (glibc, correctly rounded in practice) on a
    /// million arguments spread over every scale up to its limit, quadrant boundaries included:
    /// within 3.5e-16 absolute (a feature's rounding), and the feature matrix falls back to
    /// `f64::cos` beyond the limit.
    #[test]
    fn branch_free_cosine_matches_the_library_cosine() {
        let s = Stream::new(5, 77);
        let mut worst = 0.0f64;
        for i in 0..1_000_000u32 {
            let w = s.block(i, 0);
            let scale = 10f64.powf(-3.0 + 8.0 * open_unit(w[0])); // 1e-3 .. 1e5
            let mut x = (2.0 * open_unit(w[1]) - 1.0) * scale.min(COS_LIMIT);
            if i % 4 == 0 {
                // next to a multiple of π/2, where cos is small
                x = (x / std::f64::consts::FRAC_PI_2).round() * std::f64::consts::FRAC_PI_2;
            }
            worst = worst.max((cos_reduced(x) - x.cos()).abs());
        }
        assert!(worst <= 3.5e-16, "{worst:e}");
        let f = Features {
            w: vec![1.0, 3e5],
            b: vec![0.25, 0.5],
        };
        let rows: Vec<f64> = (0..50).map(|i| i as f64 * 0.37 - 9.0).collect();
        let m = feature_matrix(&rows, 1, &f).unwrap();
        for (k, (w, b)) in [(1.0, 0.25), (3e5, 0.5)].into_iter().enumerate() {
            let raw: Vec<f64> = rows
                .iter()
                .map(|u| std::f64::consts::SQRT_2 * (w * u + b).cos())
                .collect();
            let mean = raw.iter().sum::<f64>() / 50.0;
            let sd = (raw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 49.0).sqrt();
            for (i, v) in raw.iter().enumerate() {
                assert!((m[(i, k)] - (v - mean) / sd).abs() < 1e-13, "{k} {i}");
            }
        }
    }
}
