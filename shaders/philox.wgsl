// Philox4x32-10 (Random123), bit-identical to src/rng.rs.
// WGSL has no portable 32x32->64 multiply, so the high word is built from 16-bit halves. Where
// the adapter has SHADER_INT64, the context swaps the function between the two MULHI32 markers
// for shaders/philox_mulhi_int64.wgsl (one native 64-bit multiply, the same bits) when it builds
// the shader (src/gpu/philox.rs, native_int64).

// MULHI32 BEGIN
fn mulhi32(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    // middle column: high half of ll plus low halves of the cross terms (at most 3 * 0xffff)
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    return hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}
// MULHI32 END

fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = ctr;
    var k = key;
    for (var round = 0u; round < 10u; round = round + 1u) {
        if (round > 0u) {
            k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
        }
        let hi0 = mulhi32(0xD2511F53u, c.x);
        let lo0 = 0xD2511F53u * c.x;
        let hi1 = mulhi32(0xCD9E8D57u, c.z);
        let lo1 = 0xCD9E8D57u * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// floor((hi * 2^32 + lo) * n / 2^64), as rng::uniform_index.
fn uniform_index(hi: u32, lo: u32, n: u32) -> u32 {
    let h_hi = mulhi32(hi, n);
    let h_lo = hi * n;
    let l_hi = mulhi32(lo, n);
    let s = h_lo + l_hi;
    return h_hi + select(0u, 1u, s < h_lo);
}

// Uniform in (0,1) from the top 24 bits (rng::open_unit): (k + 1/2) 2^-24 with k = w >> 8, exact
// in f32 below 1/2; above 1/2, k + 1/2 needs 25 bits and rounds to a multiple of 2^-24 (the top
// word to 1.0). Transforms that need the uniform's tail use ln_unit and centred_unit instead.
fn open_unit(w: u32) -> f32 {
    return (f32(w >> 8u) + 0.5) * (1.0 / 16777216.0);
}

// ln u of the uniform of word w, accurate to a few f32 ulps: log of the exact u below 1/2;
// above, u = 1 - t with t = (j + 1/2) 2^-24 exact (j = 2^24 - 1 - k < 2^23) and
// ln u = 2 atanh s, s = -t / (2 - t) in [-1/3, 0), by its series to s^15 (truncation ~1e-9
// relative).
fn ln_unit(w: u32) -> f32 {
    let k = w >> 8u;
    if (k < 0x800000u) {
        return log((f32(k) + 0.5) * (1.0 / 16777216.0));
    }
    let t = (f32(0xffffffu - k) + 0.5) * (1.0 / 16777216.0);
    let s = -t / (2.0 - t);
    let s2 = s * s;
    let p = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0
        + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0)))))));
    return 2.0 * s * p;
}

// u - 1/2 of the uniform of word w, exact: (k - 2^23 + 1/2) 2^-24 (|k - 2^23 + 1/2| < 2^23).
fn centred_unit(w: u32) -> f32 {
    return (f32(i32(w >> 8u) - 0x800000) + 0.5) * (1.0 / 16777216.0);
}

// Poisson(1) count by the integer CDF thresholds of rng::POISSON1_THRESHOLDS.
const POISSON1_THRESHOLDS = array<u32, 12>(
    POISSON_T0, POISSON_T1, POISSON_T2, POISSON_T3, POISSON_T4, POISSON_T5,
    POISSON_T6, POISSON_T7, POISSON_T8, POISSON_T9, POISSON_T10, POISSON_T11);

fn poisson1(w: u32) -> u32 {
    var k = 0u;
    for (var i = 0u; i < 12u; i = i + 1u) {
        k = k + select(0u, 1u, w >= POISSON1_THRESHOLDS[i]);
    }
    return k;
}
