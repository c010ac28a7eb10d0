//! The Philox streams on AVX-512 lanes (sixteen counters per call): the rounds and the draw kernels
//! that [`super::Stream`] picks at run time where the CPU has them. They compute the same words
//! and draws as the scalar code in `super`, bit for bit (the unit tests there compare them).

use super::{M0, M1, W0, W1};
use std::arch::x86_64::*;

/// `(hi, lo)` words of the sixteen 32×32→64 products `a[l] · m`.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn mulhilo16(a: __m512i, m: __m512i) -> (__m512i, __m512i) {
    // the 64-bit products of lanes 0, 2, … (even) and of lanes 1, 3, … (odd)
    let even = _mm512_mul_epu32(a, m);
    let odd = _mm512_mul_epu32(_mm512_srli_epi64::<32>(a), m);
    // lo: even lanes keep even's low dword, odd lanes take odd's low dword (one below)
    let lo = _mm512_mask_shuffle_epi32::<0xA0>(even, 0xAAAA, odd);
    // hi: odd lanes keep odd's high dword, even lanes take even's high dword (one above)
    let hi = _mm512_mask_shuffle_epi32::<0xF5>(odd, 0x5555, even);
    (hi, lo)
}

/// The ten Philox rounds on `G` interleaved groups of sixteen counters (`c[g][w]`: word `w`
/// of group `g`), so that one group's multiplies fill another's latency.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn rounds<const G: usize>(c: &mut [[__m512i; 4]; G], key: [u32; 2]) {
    let m0 = _mm512_set1_epi32(M0 as i32);
    let m1 = _mm512_set1_epi32(M1 as i32);
    let (mut k0, mut k1) = (key[0], key[1]);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(W0);
            k1 = k1.wrapping_add(W1);
        }
        let (kv0, kv1) = (_mm512_set1_epi32(k0 as i32), _mm512_set1_epi32(k1 as i32));
        for cg in c.iter_mut() {
            let (hi0, lo0) = mulhilo16(cg[0], m0);
            let (hi1, lo1) = mulhilo16(cg[2], m1);
            *cg = [
                _mm512_ternarylogic_epi32::<0x96>(hi1, cg[1], kv0),
                lo1,
                _mm512_ternarylogic_epi32::<0x96>(hi0, cg[3], kv1),
                lo0,
            ];
        }
    }
}

#[target_feature(enable = "avx512f")]
pub(super) unsafe fn philox_x16(ctr: [[u32; 16]; 4], key: [u32; 2]) -> [[u32; 16]; 4] {
    let mut c = [std::array::from_fn(|w| {
        _mm512_loadu_si512(ctr[w].as_ptr() as *const __m512i)
    })];
    rounds::<1>(&mut c, key);
    let mut out = [[0u32; 16]; 4];
    for (o, v) in out.iter_mut().zip(c[0]) {
        _mm512_storeu_si512(o.as_mut_ptr() as *mut __m512i, v);
    }
    out
}

/// Positions `8·first .. 8·first + 128·G` of a full block of the iid contract
/// ([`super::full_block_index`]): `s0` plus the 12-bit index of each position, in position
/// order. Philox blocks `first ..` (counter word 3 = [`super::WORD3_FULL_BLOCK`]) run in `G`
/// interleaved groups of sixteen; each group's four words are transposed to block-major
/// order, where the 16-bit halves lie in position order.
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) unsafe fn full_run<const G: usize>(
    first: u32,
    replicate: u32,
    tag: u32,
    key: [u32; 2],
    s0: u32,
    out: &mut [u32],
) {
    assert!(out.len() >= 128 * G);
    let lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    let mut c = [[_mm512_setzero_si512(); 4]; G];
    for (g, cg) in c.iter_mut().enumerate() {
        cg[0] = _mm512_add_epi32(
            _mm512_set1_epi32(first.wrapping_add(16 * g as u32) as i32),
            lane,
        );
        cg[1] = _mm512_set1_epi32(replicate as i32);
        cg[2] = _mm512_set1_epi32(tag as i32);
        cg[3] = _mm512_set1_epi32(super::WORD3_FULL_BLOCK as i32);
    }
    rounds::<G>(&mut c, key);
    // 32-bit interleave of two words' lanes 0..8 (lo) and 8..16 (hi)
    let il = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    let ih = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    // 64-bit interleave of pairs 0..4 (blocks 0–3 of a half) and 4..8 (blocks 4–7)
    let q0 = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    let q1 = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    let vs0 = _mm512_set1_epi32(s0 as i32);
    for (g, cg) in c.iter().enumerate() {
        let a01l = _mm512_permutex2var_epi32(cg[0], il, cg[1]);
        let a01h = _mm512_permutex2var_epi32(cg[0], ih, cg[1]);
        let a23l = _mm512_permutex2var_epi32(cg[2], il, cg[3]);
        let a23h = _mm512_permutex2var_epi32(cg[2], ih, cg[3]);
        // four blocks each, block-major: words w0 w1 w2 w3 of block 0, then block 1, …
        let blocks = [
            _mm512_permutex2var_epi64(a01l, q0, a23l),
            _mm512_permutex2var_epi64(a01l, q1, a23l),
            _mm512_permutex2var_epi64(a01h, q0, a23h),
            _mm512_permutex2var_epi64(a01h, q1, a23h),
        ];
        let o = out.as_mut_ptr().add(128 * g) as *mut __m512i;
        for (k, v) in blocks.into_iter().enumerate() {
            // the 16-bit halves, low first, are positions 32k .. 32k + 32; index = half >> 4
            let h = _mm512_srli_epi16::<4>(v);
            let p0 = _mm512_cvtepu16_epi32(_mm512_castsi512_si256(h));
            let p1 = _mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64::<1>(h));
            _mm512_storeu_si512(o.add(2 * k), _mm512_add_epi32(p0, vs0));
            _mm512_storeu_si512(o.add(2 * k + 1), _mm512_add_epi32(p1, vs0));
        }
    }
}
