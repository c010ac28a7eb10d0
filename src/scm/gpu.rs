//! SCM sweeps and joint samples on the device (`shaders/sweep.wgsl`): the shader interprets the
//! model compiled to a flat program ([`SweepProgram`]), one thread per sample, with the noise of
//! sample `i` of setting `s` drawn from the same Philox counters as on the CPU. Value slots live
//! in a private array of [`PRIVATE_SLOTS`] floats, or, for programs that need more, in a storage
//! buffer (the `sweep-wide` variant, compiled on first use). Every tile of (settings × samples)
//! is one dispatch within the binding and dispatch limits; moments are centred on a host pilot
//! and reduced in f64 on the host.

use super::block::noise_blocks;
use super::jobs::{SampleJob, SettingStats, SweepJob};
use super::program::{SweepProgram, PRIVATE_SLOTS};
use crate::engine::ProgressFn;
use crate::error::{Error, Result};
use crate::gpu::pipeline::Pipeline;
use crate::gpu::{gpu_err, kernels, philox, Context, Shader, Slot, ITEMS_PER_SUBMIT, MAX_DISPATCH};
use std::sync::Arc;

/// Threads per workgroup of the sweep shader.
const WG: u32 = 256;

const SWEEP: &str = include_str!("../../shaders/sweep.wgsl");

pub(crate) static SWEEP_SHADER: Shader = Shader {
    name: "sweep",
    source: || format!("{}\n{SWEEP}", philox::wgsl()),
};

/// The `sweep-wide` variant of the sweep shader: the private array of value slots becomes the
/// storage buffer `scratch`, `P.slots` words per thread from `vbase` (for programs with more
/// than [`PRIVATE_SLOTS`] slots).
pub(crate) static SWEEP_WIDE_SHADER: Shader = Shader {
    name: "sweep-wide",
    source: || {
        let src = format!("{}\n{SWEEP}", philox::wgsl());
        let decl = "    var vals: array<f32, MAXN>;\n";
        assert!(src.contains(decl), "sweep.wgsl declares its value slots");
        src.replace(decl, "").replace("vals[", "scratch[vbase + ")
    },
};

/// The sweep layout: uniform, nodes, program and plan (read), value slots and output
/// (read-write).
const LAYOUT: &[Slot] = &[
    Slot::Uniform(0),
    Slot::Read(1),
    Slot::Read(2),
    Slot::Read(3),
    Slot::ReadWrite(4),
    Slot::ReadWrite(5),
];

kernels!(LAYOUT;
    MOMENTS = SWEEP_SHADER."sweep";
    VALUES = SWEEP_SHADER."sweep_values";
    ROWS = SWEEP_SHADER."sample_rows";
    WIDE_MOMENTS = SWEEP_WIDE_SHADER."sweep";
    WIDE_VALUES = SWEEP_WIDE_SHADER."sweep_values";
    WIDE_ROWS = SWEEP_WIDE_SHADER."sample_rows";
);

/// The entry points of `shaders/sweep.wgsl` in one of its variants.
struct SweepPipelines {
    moments: Arc<Pipeline>,
    values: Arc<Pipeline>,
    rows: Arc<Pipeline>,
}

/// The sweep pipelines for `program` and the words of `scratch` one thread needs (0 when
/// its value slots fit the private array).
fn sweep_variant(ctx: &Context, program: &SweepProgram) -> Result<(SweepPipelines, u64)> {
    let ([moments, values, rows], words) = if program.slots <= PRIVATE_SLOTS {
        ([&MOMENTS, &VALUES, &ROWS], 0)
    } else {
        (
            [&WIDE_MOMENTS, &WIDE_VALUES, &WIDE_ROWS],
            program.slots as u64,
        )
    };
    Ok((
        SweepPipelines {
            moments: ctx.pipeline(moments)?,
            values: ctx.pipeline(values)?,
            rows: ctx.pipeline(rows)?,
        },
        words,
    ))
}

/// The `limits` error of a model whose value slots for one workgroup exceed a binding.
fn too_wide(ctx: &Context, m: usize, slots: u64) -> Error {
    gpu_err(
        "limits",
        format!(
            "{m} nodes need {slots} value slots per sample: {WG} samples' slots exceed one \
             binding ({} bytes)",
            ctx.max_binding
        ),
    )
}

/// One summary per setting of the sweep, in setting order (the device twin of
/// `SweepJob::run_cpu`); `progress` counts samples over all settings.
pub(crate) fn sweep_moments(
    ctx: &Context,
    job: &SweepJob,
    progress: Option<ProgressFn>,
) -> Result<Vec<SettingStats>> {
    let m = job.scm.names().len();
    let settings = job.outputs();
    // plans per dispatch row: a pair under `contrast`
    let per_row = if job.contrast { 2 } else { 1 };
    let n = job.samples as u64;
    let program = job.scm.program(job.outcome);
    let (pipes, slot_words) = sweep_variant(ctx, &program)?;
    let nodes = ctx.storage("sweep nodes", bytemuck::cast_slice(&program.nodes))?;
    let prog = ctx.storage("sweep program", bytemuck::cast_slice(&program.prog))?;
    // tiles of (settings × workgroups of samples): output, plan and value slots within one
    // binding, at most MAX_DISPATCH workgroups per dimension and ITEMS_PER_SUBMIT node
    // evaluations per submit
    let wg = WG as u64;
    let groups = n.div_ceil(wg);
    let group_words: u64 = if job.keep_values { wg } else { 3 };
    let plan_words = 1 + 3 * m as u64;
    let mut budget = (ctx.max_binding / 4 / group_words)
        .min(ITEMS_PER_SUBMIT / (wg * m as u64 * per_row))
        .max(1);
    if slot_words > 0 {
        let cap = ctx.max_binding / 4 / (wg * slot_words);
        if cap == 0 {
            return Err(too_wide(ctx, m, slot_words));
        }
        budget = budget.min(cap);
    }
    let bx = groups.min(MAX_DISPATCH as u64).min(budget);
    let sy = (budget / bx)
        .min(MAX_DISPATCH as u64)
        .min(settings as u64)
        .min(ctx.max_binding / 4 / (plan_words * per_row))
        .max(1) as usize;
    let scratch = ctx.scratch("value slots", bx * sy as u64 * wg * slot_words)?;
    // centring pivots: the f64 mean of a short host pilot, rounded to f32 (the device
    // subtracts the f32 value, and the host adds that same value back)
    let pivots: Vec<f32> = if job.keep_values {
        vec![0.0; settings]
    } else {
        use rayon::prelude::*;
        (0..settings)
            .into_par_iter()
            .map(|s| job.pilot(s) as f32)
            .collect()
    };
    let key = job.stream.key();
    let mut sums = vec![[0.0f64; 3]; settings];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); if job.keep_values { settings } else { 0 }];
    let total = settings as u64 * n;
    let mut done = 0u64;
    for s0 in (0..settings).step_by(sy) {
        let rows = sy.min(settings - s0);
        let mut plan = Vec::with_capacity(rows * per_row as usize * plan_words as usize);
        let pr = per_row as usize;
        for (k, setting) in job.plans[s0 * pr..(s0 + rows) * pr].iter().enumerate() {
            plan.push(pivots[s0 + k / pr].to_bits());
            for &(atomic, delta) in setting {
                plan.extend([
                    atomic.is_some() as u32,
                    (atomic.unwrap_or(0.0) as f32).to_bits(),
                    (delta as f32).to_bits(),
                ]);
            }
        }
        let plan = ctx.storage("sweep plan", bytemuck::cast_slice(&plan))?;
        let mut g0 = 0u64;
        while g0 < groups {
            let cols = bx.min(groups - g0) as usize;
            let params: [u32; 16] = [
                m as u32,
                program.kept_slot,
                job.samples,
                noise_blocks(m).1,
                key[0],
                key[1],
                job.stream.tag(),
                job.common_random_numbers as u32,
                job.first_setting + s0 as u32,
                g0 as u32,
                plan_words as u32,
                job.contrast as u32,
                program.slots,
                0,
                0,
                0,
            ];
            let words = ctx.dispatch_once(
                if job.keep_values {
                    &pipes.values
                } else {
                    &pipes.moments
                },
                bytemuck::cast_slice(&params),
                &[&nodes, &prog, &plan, &scratch],
                (cols as u32, rows as u32),
                rows * cols * group_words as usize,
            )?;
            let first = g0 * wg;
            let last = ((g0 + cols as u64) * wg).min(n);
            for r in 0..rows {
                let row = &words[r * cols * group_words as usize..][..cols * group_words as usize];
                if job.keep_values {
                    let v = &mut values[s0 + r];
                    v.extend(
                        row[..(last - first) as usize]
                            .iter()
                            .map(|&w| f32::from_bits(w) as f64),
                    );
                } else {
                    // partials of one setting always added in workgroup order, so the
                    // result does not depend on the tiling
                    let acc = &mut sums[s0 + r];
                    for part in row.chunks_exact(3) {
                        for (a, &w) in acc.iter_mut().zip(part) {
                            *a += f32::from_bits(w) as f64;
                        }
                    }
                }
            }
            done += rows as u64 * (last - first);
            if let Some(p) = progress {
                p(done, total);
            }
            g0 += cols as u64;
        }
    }
    let nf = n as f64;
    let overflow = |s: usize, what: String| {
        gpu_err(
            "limits",
            format!(
                "setting {s}: {what} of `{}` overflow f32 on the device (the CPU's f64 may \
                 hold them)",
                job.scm.names()[job.outcome]
            ),
        )
    };
    (0..settings)
        .map(|s| {
            if job.keep_values {
                let mut v = std::mem::take(&mut values[s]);
                if let Some(bad) = v.iter().position(|x| !x.is_finite()) {
                    return Err(overflow(s, format!("samples (sample {bad})")));
                }
                let mean = v.iter().sum::<f64>() / nf;
                let variance = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
                v.sort_by(f64::total_cmp);
                Ok(SettingStats {
                    mean,
                    variance,
                    sorted: v,
                })
            } else {
                let [count, s1, s2] = sums[s];
                let mean = pivots[s] as f64 + s1 / nf;
                let variance = ((s2 - s1 * s1 / nf) / (nf - 1.0)).max(0.0);
                if count != nf || !mean.is_finite() || !variance.is_finite() {
                    return Err(overflow(s, format!("{} of {n} samples", n - count as u64)));
                }
                Ok(SettingStats {
                    mean,
                    variance,
                    sorted: Vec::new(),
                })
            }
        })
        .collect()
}

/// The samples of the job, one column per node in topological order; values that overflow
/// f32 are an [`crate::Error::Gpu`] of kind `limits`.
pub(crate) fn scm_samples(ctx: &Context, job: &SampleJob) -> Result<Vec<Vec<f64>>> {
    let names = job.scm.names();
    let m = names.len() as u64;
    let n = job.samples as u64;
    let program = job.scm.sample_program();
    let (pipes, slot_words) = sweep_variant(ctx, &program)?;
    let nodes = ctx.storage("sample nodes", bytemuck::cast_slice(&program.nodes))?;
    let prog = ctx.storage("sample program", bytemuck::cast_slice(&program.prog))?;
    let mut plan = vec![0u32];
    for &(atomic, delta) in job.plan {
        plan.extend([
            atomic.is_some() as u32,
            (atomic.unwrap_or(0.0) as f32).to_bits(),
            (delta as f32).to_bits(),
        ]);
    }
    let plan = ctx.storage("sample plan", bytemuck::cast_slice(&plan))?;
    // samples per chunk: every node of every sample within one binding (column-major),
    // at most MAX_DISPATCH workgroups and ITEMS_PER_SUBMIT node evaluations per submit, and
    // the value slots of the chunk's threads within one binding
    let wg = WG as u64;
    let mut rows = (ctx.max_binding / 4 / m)
        .min(MAX_DISPATCH as u64 * wg)
        .min((ITEMS_PER_SUBMIT / m).max(1))
        .min(n);
    if rows == 0 {
        return Err(gpu_err(
            "limits",
            format!(
                "one sample of {m} nodes needs {} bytes, more than one binding may hold ({})",
                4 * m,
                ctx.max_binding
            ),
        ));
    }
    // (slot_words is 0 when the value slots fit the private array)
    if let Some(per_thread) = (ctx.max_binding / 4).checked_div(slot_words) {
        rows = rows.min(per_thread / wg * wg);
        if rows == 0 {
            return Err(too_wide(ctx, names.len(), slot_words));
        }
    }
    let scratch = ctx.scratch("value slots", rows.div_ceil(wg) * wg * slot_words)?;
    let key = job.stream.key();
    let mut cols: Vec<Vec<f64>> = (0..m).map(|_| Vec::with_capacity(n as usize)).collect();
    let mut first = 0u64;
    while first < n {
        let r = rows.min(n - first);
        let params: [u32; 16] = [
            m as u32,
            program.kept_slot,
            job.samples,
            noise_blocks(m as usize).1,
            key[0],
            key[1],
            job.stream.tag(),
            0,
            0,
            0,
            1 + 3 * m as u32,
            0,
            program.slots,
            first as u32,
            r as u32,
            0,
        ];
        let words = ctx.dispatch_once(
            &pipes.rows,
            bytemuck::cast_slice(&params),
            &[&nodes, &prog, &plan, &scratch],
            (r.div_ceil(wg) as u32, 1),
            (r * m) as usize,
        )?;
        for (col, values) in cols.iter_mut().zip(words.chunks_exact(r as usize)) {
            col.extend(values.iter().map(|&w| f32::from_bits(w) as f64));
        }
        first += r;
    }
    for (name, col) in names.iter().zip(&cols) {
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            return Err(gpu_err(
                "limits",
                format!(
                    "sample {i}: `{name}` overflows f32 on the device (the CPU's f64 may \
                     hold it)"
                ),
            ));
        }
    }
    Ok(cols)
}
