//! The independence tests on the device: the HSIC permutation null and the spectral-null draws
//! (`shaders/hsic.wgsl`), the Fisher-z partial correlations (`shaders/pcor.wgsl`), and in
//! submodules RCoT/RCIT/RIT ([`rff`], `shaders/rff.wgsl`) and KCI ([`kci`], `shaders/kci.wgsl`).

pub(crate) mod kci;
pub(crate) mod rff;

use super::jobs::{HsicJob, PcorJob};
use crate::error::Result;
use crate::gpu::{gpu_err, kernels, philox, Context, Shader, Slot, MAX_DISPATCH};
use std::ops::Range;

pub(crate) static HSIC_SHADER: Shader = Shader {
    name: "hsic",
    source: || {
        format!(
            "{}\n{}",
            philox::wgsl(),
            include_str!("../../../shaders/hsic.wgsl")
        )
    },
};
pub(crate) static COUNTS_SHADER: Shader = Shader {
    name: "counts",
    source: || include_str!("../../../shaders/counts.wgsl").to_string(),
};
pub(crate) static PCOR_SHADER: Shader = Shader {
    name: "pcor",
    source: || include_str!("../../../shaders/pcor.wgsl").to_string(),
};

/// The uniform, three read-only inputs and the output (HSIC cross moments, spectral draws,
/// partial correlations).
const THREE_IN: &[Slot] = &[
    Slot::Uniform(0),
    Slot::Read(1),
    Slot::Read(2),
    Slot::Read(3),
    Slot::ReadWrite(4),
];

kernels!(THREE_IN;
    HSIC_CROSS = HSIC_SHADER."hsic_cross";
    CHI2MIX = HSIC_SHADER."chi2mix";
    PCOR = PCOR_SHADER."pcor";
);
// contingency counts: the uniform, the code columns, the test descriptors and the tables
kernels!(&[Slot::Uniform(0), Slot::Read(1), Slot::Read(2), Slot::ReadWrite(3)];
    COUNTS = COUNTS_SHADER."counts";
);
// the permutation generator: the uniform and one read-write buffer at binding 5
kernels!(&[Slot::Uniform(0), Slot::ReadWrite(5)];
    HSIC_PERM = HSIC_SHADER."hsic_perm";
);

/// One batch of HSIC permutations (`params` = the shader's `HsicParams`): the device draws
/// the permutations into a device buffer (`hsic_perm`), then, given the factors and their
/// column pairs, the cross moments (`hsic_cross`, one workgroup per permutation and 64 × 64
/// window of column pairs) read them; one submit, one readback of
/// `perms × pairs` words (without factors: of the `perms × n` permutation indices).
fn hsic_batch(
    ctx: &Context,
    params: [u32; 8],
    cross: Option<(&wgpu::Buffer, &wgpu::Buffer, usize)>,
) -> Result<Vec<u32>> {
    ctx.check_lost()?;
    let (n, count) = (params[0] as usize, params[3] as usize);
    let words = match cross {
        Some((_, _, pairs)) => count * pairs,
        None => count * n,
    };
    let out_bytes = (words.max(4) * 4) as u64;
    let perm_bytes = (count * n).max(4) as u64 * 4;
    if out_bytes > ctx.max_binding || perm_bytes > ctx.max_binding {
        return Err(gpu_err(
            "limits",
            "a permutation batch larger than one binding",
        ));
    }
    let perm_pipe = ctx.pipeline(&HSIC_PERM)?;
    let cross_pipe = match cross {
        Some(_) => Some(ctx.pipeline(&HSIC_CROSS)?),
        None => None,
    };
    let scopes = ctx.scopes();
    let uniform = ctx.uniform(bytemuck::cast_slice(&params));
    let buffer = |label: &str, size: u64| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    };
    let perm = buffer("permutations", perm_bytes);
    let out = buffer("cross", out_bytes);
    let staging = ctx.staging(out_bytes);
    let mut steps = vec![(
        &perm_pipe,
        ctx.bind(&perm_pipe, &[(0, &uniform), (5, &perm)]),
        ((count as u32).div_ceil(16), 1),
    )];
    if let (Some((lx, ly, _)), Some(pipe)) = (cross, &cross_pipe) {
        steps.push((
            pipe,
            ctx.bind(
                pipe,
                &[(0, &uniform), (1, lx), (2, ly), (3, &perm), (4, &out)],
            ),
            // one workgroup per (64 × 64 output window, permutation)
            (
                params[1].div_ceil(64) * params[2].div_ceil(64),
                count as u32,
            ),
        ));
    }
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    for (pipe, group, grid) in &steps {
        ctx.pass(&mut enc, pipe.name, 1, |pass| {
            pass.set_pipeline(&pipe.pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(grid.0, grid.1, 1);
        });
    }
    let src = if cross.is_some() { &out } else { &perm };
    enc.copy_buffer_to_buffer(src, 0, &staging, 0, out_bytes);
    ctx.submit_and_read(enc, scopes, &staging, words)
}

/// The permuted HSIC statistics of permutations `perms` (the device twin of
/// `independence::cpu::hsic_permutations`).
pub(crate) fn hsic_permutations(
    ctx: &Context,
    job: &HsicJob,
    perms: Range<u32>,
) -> Result<Vec<f64>> {
    let pairs = job.rx * job.ry;
    if pairs == 0 || pairs > MAX_DISPATCH as usize {
        return Err(gpu_err(
            "limits",
            format!(
                "{} × {} factor columns exceed one dispatch row",
                job.rx, job.ry
            ),
        ));
    }
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let lx = ctx.storage("lx", bytemuck::cast_slice(&f32s(job.lx)))?;
    let ly = ctx.storage("ly", bytemuck::cast_slice(&f32s(job.ly)))?;
    let per_batch = (ctx.max_binding / 4 / job.n.max(1) as u64)
        .min(ctx.max_binding / 4 / pairs as u64)
        .clamp(1, MAX_DISPATCH as u64) as u32;
    let stream = crate::rng::Stream::new(job.seed, crate::rng::STREAM_PERMUTATION);
    let [key0, key1] = stream.key();
    let mut out = Vec::with_capacity(perms.len());
    let mut lo = perms.start;
    while lo < perms.end {
        let hi = (lo + per_batch).min(perms.end);
        let count = hi - lo;
        let words = hsic_batch(
            ctx,
            [
                job.n as u32,
                job.rx as u32,
                job.ry as u32,
                count,
                lo,
                key0,
                key1,
                stream.tag(),
            ],
            Some((&lx, &ly, pairs)),
        )?;
        out.extend(words.chunks_exact(pairs).map(|c| {
            c.iter()
                .map(|&w| {
                    let v = f32::from_bits(w) as f64;
                    v * v
                })
                .sum::<f64>()
        }));
        lo = hi;
    }
    Ok(out)
}

/// The permutations `perms` of `0..n` of seed `seed`, drawn on the device.
pub(crate) fn permutations(
    ctx: &Context,
    seed: u64,
    n: usize,
    perms: Range<u32>,
) -> Result<Vec<u32>> {
    let stream = crate::rng::Stream::new(seed, crate::rng::STREAM_PERMUTATION);
    let [key0, key1] = stream.key();
    let per_batch = (ctx.max_binding / 4 / n.max(1) as u64).clamp(1, MAX_DISPATCH as u64);
    let mut out = Vec::with_capacity(perms.len() * n);
    for b in crate::gpu::batches(perms, per_batch) {
        let params = [
            n as u32,
            0,
            0,
            b.len() as u32,
            b.start,
            key0,
            key1,
            stream.tag(),
        ];
        out.extend(hsic_batch(ctx, params, None)?);
    }
    Ok(out)
}

/// Draws `draws` of the spectral null, on the device.
pub(crate) fn chi2mix_draws(
    ctx: &Context,
    weights: &[f64],
    stream: crate::rng::Stream,
    draws: Range<u32>,
) -> Result<Vec<f64>> {
    if weights.is_empty() || weights.len() > u32::MAX as usize {
        return Err(gpu_err(
            "limits",
            format!("{} spectral weights", weights.len()),
        ));
    }
    let pipe = ctx.pipeline(&CHI2MIX)?;
    let w: Vec<f32> = weights.iter().map(|&v| v as f32).collect();
    let w = ctx.storage("spectral weights", bytemuck::cast_slice(&w))?;
    let [key0, key1] = stream.key();
    // one workgroup and one output word per draw: at most 65 535 draws per batch, within one
    // binding
    let per_batch = ctx.max_binding / 4;
    let mut out = Vec::with_capacity(draws.len());
    for b in ctx.batches(draws, per_batch) {
        let count = b.len() as u32;
        let params = [
            weights.len() as u32,
            0,
            0,
            count,
            b.start,
            key0,
            key1,
            stream.tag(),
        ];
        let words = ctx.dispatch_once(
            &pipe,
            bytemuck::cast_slice(&params),
            &[&w, &w, &w],
            (count, 1),
            count as usize,
        )?;
        out.extend(words.iter().map(|&v| f32::from_bits(v) as f64));
    }
    Ok(out)
}

/// One partial correlation per test, on the device.
pub(crate) fn partial_correlations(ctx: &Context, job: &PcorJob) -> Result<Vec<f64>> {
    const MAXD: usize = 16;
    if job.depth > MAXD {
        return Err(gpu_err(
            "limits",
            format!(
                "conditioning sets of {} columns exceed the shader's {MAXD}",
                job.depth
            ),
        ));
    }
    let tests = job.tests();
    if tests == 0 {
        return Ok(Vec::new());
    }
    let pipe = ctx.pipeline(&PCOR)?;
    let corr: Vec<f32> = job.corr.iter().map(|&v| v as f32).collect();
    let corr = ctx.storage("correlations", bytemuck::cast_slice(&corr))?;
    // tests per dispatch: output and set indices within one binding
    let per_batch = (ctx.max_binding / 4 / (job.depth.max(2) as u64))
        .min(64 * MAX_DISPATCH as u64 * MAX_DISPATCH as u64)
        .max(1) as usize;
    let mut out = Vec::with_capacity(tests);
    let mut lo = 0;
    while lo < tests {
        let hi = (lo + per_batch).min(tests);
        let m = hi - lo;
        let pairs = ctx.storage("pairs", bytemuck::cast_slice(&job.pairs[2 * lo..2 * hi]))?;
        // a zero-length binding is invalid: pad the sets of level 0 with one word
        let sets_slice = &job.sets[job.depth * lo..job.depth * hi];
        let pad = [0u32];
        let sets = ctx.storage(
            "sets",
            bytemuck::cast_slice(if sets_slice.is_empty() {
                &pad
            } else {
                sets_slice
            }),
        )?;
        let groups = (m as u64).div_ceil(64);
        let gx = groups.min(MAX_DISPATCH as u64) as u32;
        let gy = groups.div_ceil(gx as u64) as u32;
        let params: [u32; 4] = [job.p as u32, job.depth as u32, m as u32, gx * 64];
        let words = ctx.dispatch_once(
            &pipe,
            bytemuck::cast_slice(&params),
            &[&corr, &pairs, &sets],
            (gx, gy),
            m,
        )?;
        out.extend(words.iter().map(|&w| f32::from_bits(w) as f64));
        lo = hi;
    }
    Ok(out)
}

/// Conditioning columns a device count takes per test (the shader's `MAXZ`).
pub(crate) const COUNT_MAXZ: usize = 8;

/// The contingency tables of chisq/gsq tests on the device (integer atomics, one workgroup per
/// test): `codes` holds the used columns (`n` codes each), each test is `(x, y, z)` column
/// indices with the cardinalities `cards`, and its table is dense (`Π |Z| · |X| · |Y|` cells,
/// mixed-radix order, as the CPU's). Returns each test's table; tests are split over dispatches
/// so that each output fits one binding.
pub(crate) fn contingency_tables(
    ctx: &Context,
    n: usize,
    codes: &[u32],
    cards: &[usize],
    tests: &[(usize, usize, Vec<usize>)],
) -> Result<Vec<Vec<u32>>> {
    const STRIDE: usize = 6 + 2 * COUNT_MAXZ;
    if tests.is_empty() {
        return Ok(Vec::new());
    }
    let pipe = ctx.pipeline(&COUNTS)?;
    let codes = ctx.storage("codes", bytemuck::cast_slice(codes))?;
    let cells = |(x, y, z): &(usize, usize, Vec<usize>)| -> usize {
        z.iter().map(|&c| cards[c]).product::<usize>() * cards[*x] * cards[*y]
    };
    let max_words = (ctx.max_binding / 4) as usize;
    let mut out = Vec::with_capacity(tests.len());
    let mut lo = 0;
    while lo < tests.len() {
        // as many tests as fit one output binding (at least one)
        let mut hi = lo;
        let mut words = 0;
        while hi < tests.len() && (hi == lo || words + cells(&tests[hi]) <= max_words) {
            words += cells(&tests[hi]);
            hi += 1;
        }
        if words > max_words {
            return Err(gpu_err(
                "limits",
                format!("a contingency table of {words} cells exceeds one binding"),
            ));
        }
        let mut desc = Vec::with_capacity((hi - lo) * STRIDE);
        let mut offsets = Vec::with_capacity(hi - lo);
        let mut off = 0;
        for t in &tests[lo..hi] {
            let (x, y, z) = t;
            if z.len() > COUNT_MAXZ {
                return Err(gpu_err(
                    "limits",
                    format!(
                        "conditioning sets of {} columns exceed the shader's {COUNT_MAXZ}",
                        z.len()
                    ),
                ));
            }
            let mut d = [0u32; STRIDE];
            d[0] = *x as u32;
            d[1] = *y as u32;
            d[2] = cards[*x] as u32;
            d[3] = cards[*y] as u32;
            d[4] = off as u32;
            d[5] = z.len() as u32;
            for (k, &c) in z.iter().enumerate() {
                d[6 + k] = c as u32;
                d[6 + COUNT_MAXZ + k] = cards[c] as u32;
            }
            desc.extend_from_slice(&d);
            offsets.push(off);
            off += cells(t);
        }
        let desc = ctx.storage("descriptors", bytemuck::cast_slice(&desc))?;
        let m = (hi - lo) as u64;
        let gx = m.min(MAX_DISPATCH as u64) as u32;
        let gy = m.div_ceil(gx as u64) as u32;
        let params: [u32; 4] = [n as u32, m as u32, gx, 0];
        let table = ctx.dispatch_once(
            &pipe,
            bytemuck::cast_slice(&params),
            &[&codes, &desc],
            (gx, gy),
            words,
        )?;
        for (k, t) in tests[lo..hi].iter().enumerate() {
            out.push(table[offsets[k]..offsets[k] + cells(t)].to_vec());
        }
        lo = hi;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::Request;

    /// `hsic_cross` tiles the column pairs in 64 × 64 windows of 4 × 4 register blocks: factors
    /// wider than one window (several workgroups per permutation) and widths that are not
    /// multiples of 4 (padded blocks) give the CPU's statistics within the f32 bound. Each cross
    /// moment `C[a, b] = Σ_t x_ta y_π(t)b` summed in f32 from f32-rounded inputs is off by at most
    /// `e_ab = (n + 2)·2⁻²⁴·Σ_t |x_ta y_π(t)b|`, so `‖C‖²` by at most `Σ 2|C_ab|·e_ab + e_ab²`
    /// (plus the host's f64 rounding, far below).
    #[test]
    fn hsic_cross_windows_match_the_cpu_within_the_f32_bound() {
        let ctx = match Context::new(Request {
            prefer_software: true,
            ..Request::default()
        }) {
            Ok(ctx) => ctx,
            Err(e) if std::env::var("CETERIS_REQUIRE_GPU").as_deref() == Ok("1") => {
                panic!("CETERIS_REQUIRE_GPU=1 but no device: {e}")
            }
            Err(_) => return,
        };
        let n = 203;
        // a deterministic, sign-mixed fill (an LCG's top bits)
        let fill = |len: usize, s: u64| -> Vec<f64> {
            let mut state = s;
            (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (state >> 40) as f64 / (1u64 << 24) as f64 - 0.5
                })
                .collect()
        };
        for (rx, ry) in [(70, 5), (3, 130), (1, 1), (64, 64), (66, 67)] {
            let (lx, ly) = (fill(n * rx, rx as u64), fill(n * ry, 1000 + ry as u64));
            let job = HsicJob {
                n,
                rx,
                ry,
                lx: &lx,
                ly: &ly,
                seed: 9,
            };
            let perms = 2..7;
            let cpu = crate::independence::cpu::hsic_permutations(&job, perms.clone()).unwrap();
            let gpu = hsic_permutations(&ctx, &job, perms.clone()).unwrap();
            for (k, p) in perms.enumerate() {
                let perm = crate::independence::permutation(9, p, n);
                let mut bound = 0.0;
                for a in 0..rx {
                    for b in 0..ry {
                        let (mut c, mut abs) = (0.0f64, 0.0f64);
                        for t in 0..n {
                            let v = lx[t * rx + a] * ly[perm[t] as usize * ry + b];
                            c += v;
                            abs += v.abs();
                        }
                        let e = (n + 2) as f64 * 2f64.powi(-24) * abs;
                        bound += 2.0 * c.abs() * e + e * e;
                    }
                }
                assert!(
                    (cpu[k] - gpu[k]).abs() <= bound + 1e-12 * cpu[k],
                    "{rx} × {ry}, permutation {p}: {} vs {} (bound {bound})",
                    cpu[k],
                    gpu[k]
                );
            }
        }
    }
}
