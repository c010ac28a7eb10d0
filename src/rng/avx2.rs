//! The Philox streams on AVX2 lanes (eight counters per call): the rounds and the draw kernels
//! that [`super::Stream`] picks at run time where the CPU has them. They compute the same words
//! and draws as the scalar code in `super`, bit for bit (the unit tests there compare them).

use super::{M0, M1, W0, W1};
use std::arch::x86_64::*;

/// `(hi, lo)` words of the eight 32×32→64 products `a[l] · m`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn mulhilo8(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
    let even = _mm256_mul_epu32(a, m); // lanes 0, 2, 4, 6 as 64-bit products
    let odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m); // lanes 1, 3, 5, 7
    let lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0b1010_1010);
    let hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0b1010_1010);
    (hi, lo)
}

/// The ten Philox rounds on `G` interleaved groups of eight counters (`c[g][w]`: word `w` of
/// group `g`), so that one group's multiplies fill the other's latency.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn rounds<const G: usize>(c: &mut [[__m256i; 4]; G], key: [u32; 2]) {
    let m0 = _mm256_set1_epi32(M0 as i32);
    let m1 = _mm256_set1_epi32(M1 as i32);
    let (mut k0, mut k1) = (key[0], key[1]);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let (kv0, kv1) = (_mm256_set1_epi32(k0 as i32), _mm256_set1_epi32(k1 as i32));
        for cg in c.iter_mut() {
            let (hi0, lo0) = mulhilo8(cg[0], m0);
            let (hi1, lo1) = mulhilo8(cg[2], m1);
            *cg = [
                _mm256_xor_si256(_mm256_xor_si256(hi1, cg[1]), kv0),
                lo1,
                _mm256_xor_si256(_mm256_xor_si256(hi0, cg[3]), kv1),
                lo0,
            ];
        }
    }
}

/// Counters `[first + l, replicate, tag, word3]` for `l = 0..16`, as two groups of eight lanes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block_counters(first: u32, replicate: u32, tag: u32, word3: u32) -> [[__m256i; 4]; 2] {
    let lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    let mut c = [[_mm256_setzero_si256(); 4]; 2];
    for (g, cg) in c.iter_mut().enumerate() {
        cg[0] = _mm256_add_epi32(
            _mm256_set1_epi32(first.wrapping_add(8 * g as u32) as i32),
            lane,
        );
        cg[1] = _mm256_set1_epi32(replicate as i32);
        cg[2] = _mm256_set1_epi32(tag as i32);
        cg[3] = _mm256_set1_epi32(word3 as i32);
    }
    c
}

/// [`super::Stream::fill_replicates`] for the first `16⌊len/16⌋` replicates, two groups of
/// eight counters interleaved so that one group's multiplies fill the other's latency;
/// returns how many replicates it filled.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn fill_replicates(
    block: u32,
    first: u32,
    tag: u32,
    key: [u32; 2],
    out: &mut [&mut [u32]; 4],
) -> usize {
    let len = out[0].len() / 16 * 16;
    let lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    for at in (0..len).step_by(16) {
        let base = first.wrapping_add(at as u32);
        let mut c = [[_mm256_set1_epi32(block as i32); 4]; 2];
        for (g, cg) in c.iter_mut().enumerate() {
            cg[1] = _mm256_add_epi32(
                _mm256_set1_epi32(base.wrapping_add(8 * g as u32) as i32),
                lane,
            );
            cg[2] = _mm256_set1_epi32(tag as i32);
            cg[3] = _mm256_setzero_si256();
        }
        rounds(&mut c, key);
        for (g, cg) in c.iter().enumerate() {
            for (w, o) in out.iter_mut().enumerate() {
                // SAFETY: at + 8g + 8 <= len <= o.len()
                _mm256_storeu_si256(o.as_mut_ptr().add(at + 8 * g) as *mut __m256i, cg[w]);
            }
        }
    }
    len
}

/// Sixty-four Lemire draws in `[s0, s0 + size)`: positions `4·first .. 4·first + 64` of
/// `replicate` (blocks `first .. first + 16`, word `p mod 4` of block `⌊p/4⌋` for position
/// `p`), Philox on two interleaved groups of eight counters. Returns whether any word was
/// rejected (its low product half below `thr`); those positions then hold the unrejected
/// formula's value and the caller must redo the run.
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn lemire64(
    first: u32,
    replicate: u32,
    tag: u32,
    key: [u32; 2],
    size: u32,
    thr: u32,
    s0: u32,
    out: &mut [u32; 64],
) -> bool {
    let mut c = block_counters(first, replicate, tag, 0);
    rounds(&mut c, key);
    let (vsize, vthr, vs0) = (
        _mm256_set1_epi32(size as i32),
        _mm256_set1_epi32(thr as i32),
        _mm256_set1_epi32(s0 as i32),
    );
    let mut rejected = _mm256_setzero_si256();
    for (g, cg) in c.iter().enumerate() {
        let mut v = [_mm256_setzero_si256(); 4];
        for (w, vw) in v.iter_mut().enumerate() {
            let (hi, lo) = mulhilo8(cg[w], vsize);
            // lo < thr (unsigned) exactly where max(lo, thr) != lo
            let keep = _mm256_cmpeq_epi32(_mm256_max_epu32(lo, vthr), lo);
            rejected = _mm256_or_si256(rejected, _mm256_andnot_si256(keep, lane_ones()));
            *vw = _mm256_add_epi32(vs0, hi);
        }
        // transpose word-major (v[w] lane b) to position-major (4b + w)
        let t0 = _mm256_unpacklo_epi32(v[0], v[1]);
        let t1 = _mm256_unpackhi_epi32(v[0], v[1]);
        let t2 = _mm256_unpacklo_epi32(v[2], v[3]);
        let t3 = _mm256_unpackhi_epi32(v[2], v[3]);
        let u0 = _mm256_unpacklo_epi64(t0, t2); // blocks 0 | 4
        let u1 = _mm256_unpackhi_epi64(t0, t2); // blocks 1 | 5
        let u2 = _mm256_unpacklo_epi64(t1, t3); // blocks 2 | 6
        let u3 = _mm256_unpackhi_epi64(t1, t3); // blocks 3 | 7
        let o = out.as_mut_ptr().add(32 * g) as *mut __m256i;
        _mm256_storeu_si256(o, _mm256_permute2x128_si256::<0x20>(u0, u1));
        _mm256_storeu_si256(o.add(1), _mm256_permute2x128_si256::<0x20>(u2, u3));
        _mm256_storeu_si256(o.add(2), _mm256_permute2x128_si256::<0x31>(u0, u1));
        _mm256_storeu_si256(o.add(3), _mm256_permute2x128_si256::<0x31>(u2, u3));
    }
    _mm256_testz_si256(rejected, rejected) == 0
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lane_ones() -> __m256i {
    _mm256_set1_epi32(-1)
}

/// Positions `8·first .. 8·first + 128` of a full block of the iid contract
/// ([`super::full_block_index`]), as `avx512::full_run::<1>` on AVX2: Philox blocks
/// `first ..` (counter word 3 = [`super::WORD3_FULL_BLOCK`]) in two interleaved groups of
/// eight, each group's four words shifted to their 12-bit fields and transposed in registers
/// to block-major order (two 32-bit and two 64-bit unpacks per pair of words), where the
/// 16-bit halves lie in position order.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn full_run(
    first: u32,
    replicate: u32,
    tag: u32,
    key: [u32; 2],
    s0: u32,
    out: &mut [u32],
) {
    assert!(out.len() >= 128);
    let mut c = block_counters(first, replicate, tag, super::WORD3_FULL_BLOCK);
    rounds(&mut c, key);
    let vs0 = _mm256_set1_epi32(s0 as i32);
    for (g, cg) in c.iter().enumerate() {
        // the top 12 bits of every 16-bit half
        let w0 = _mm256_srli_epi16::<4>(cg[0]);
        let w1 = _mm256_srli_epi16::<4>(cg[1]);
        let w2 = _mm256_srli_epi16::<4>(cg[2]);
        let w3 = _mm256_srli_epi16::<4>(cg[3]);
        // per 128-bit lane (blocks 0-3 low, 4-7 high): [b0w0 b0w1 b1w0 b1w1], [b2w0 b2w1 b3w0 b3w1]
        let t01l = _mm256_unpacklo_epi32(w0, w1);
        let t01h = _mm256_unpackhi_epi32(w0, w1);
        let t23l = _mm256_unpacklo_epi32(w2, w3);
        let t23h = _mm256_unpackhi_epi32(w2, w3);
        // blocks (k, k + 4) for k = 0..4, each lane one block's four words
        let blocks = [
            _mm256_unpacklo_epi64(t01l, t23l),
            _mm256_unpackhi_epi64(t01l, t23l),
            _mm256_unpacklo_epi64(t01h, t23h),
            _mm256_unpackhi_epi64(t01h, t23h),
        ];
        let o = out.as_mut_ptr().add(64 * g);
        for (k, v) in blocks.into_iter().enumerate() {
            // a block's eight halves, low first, are its eight positions
            let lo = _mm256_cvtepu16_epi32(_mm256_castsi256_si128(v));
            let hi = _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(v));
            _mm256_storeu_si256(o.add(8 * k) as *mut __m256i, _mm256_add_epi32(lo, vs0));
            _mm256_storeu_si256(
                o.add(8 * (k + 4)) as *mut __m256i,
                _mm256_add_epi32(hi, vs0),
            );
        }
    }
}

#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn philox_x8(ctr: [[u32; 8]; 4], key: [u32; 2]) -> [[u32; 8]; 4] {
    let mut c = [[_mm256_setzero_si256(); 4]];
    for (v, w) in c[0].iter_mut().zip(&ctr) {
        *v = _mm256_loadu_si256(w.as_ptr() as *const __m256i);
    }
    rounds(&mut c, key);
    let mut out = [[0u32; 8]; 4];
    for (o, v) in out.iter_mut().zip(c[0]) {
        _mm256_storeu_si256(o.as_mut_ptr() as *mut __m256i, v);
    }
    out
}
