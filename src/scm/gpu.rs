//! SCM sweeps and joint samples on the device (`shaders/sweep.wgsl`): the shader interprets the
//! model compiled to a flat program ([`SweepProgram`]), one thread per sample, with the noise of
//! sample `i` of setting `s` drawn from the same Philox counters as on the CPU. Value slots live
//! in a private array of 16, 64 or [`PRIVATE_SLOTS`] floats (the smallest that holds the
//! program's slots: WGSL clears it for every sample), or, for programs that need more, in a
//! storage buffer (the `sweep-wide` variant); each variant is compiled on first use. Under
//! common random numbers (the default) the program is a shared one ([`Scm::shared_program`]):
//! each thread draws its sample's noise once and evaluates the nodes that vary in no setting
//! once, then, for each of its workgroup's settings ([`settings_per_group`]), only the nodes
//! that vary, reducing every setting's moments as before. Every tile
//! of (settings × samples) is one dispatch within the binding and dispatch limits, and the tiles
//! are recorded into as few submits as one binding of output allows (one for the sweeps of the
//! benchmarks), each read back once; moments are centred on a host pilot and reduced in f64 on
//! the host.

use super::block::noise_blocks;
use super::jobs::{SampleJob, SettingStats, SweepJob};
use super::program::{SweepProgram, PRIVATE_SLOTS};
#[cfg(doc)]
use super::Scm;
use crate::engine::ProgressFn;
use crate::error::{Error, Result};
use crate::gpu::dispatch::RawStep;
use crate::gpu::pipeline::Pipeline;
use crate::gpu::{
    gpu_err, kernels, philox, Context, InFlight, Shader, Slot, ITEMS_PER_SUBMIT, MAX_DISPATCH,
};
use std::sync::Arc;

/// Threads per workgroup of the sweep shader.
const WG: u32 = 256;

const SWEEP: &str = include_str!("../../shaders/sweep.wgsl");

pub(crate) static SWEEP_SHADER: Shader = Shader {
    name: "sweep",
    source: || format!("{}\n{SWEEP}", philox::wgsl()),
};

/// The declaration of the node records in `shaders/sweep.wgsl` (a uniform buffer of
/// [`UNIFORM_NODE_WORDS`] words).
const UNIFORM_NODES: &str = "var<uniform> nodes: array<vec4<u32>, 4096>;";

/// Words of the node records' uniform buffer (64 KiB, WebGPU's default binding limit).
const UNIFORM_NODE_WORDS: usize = 4 * 4096;

/// `src` with the node records in a storage buffer (the `-large` variants, for models whose
/// records exceed [`UNIFORM_NODE_WORDS`]).
fn storage_nodes(src: String) -> String {
    assert!(
        src.contains(UNIFORM_NODES),
        "sweep.wgsl declares its node records"
    );
    src.replace(UNIFORM_NODES, "var<storage, read> nodes: array<vec4<u32>>;")
}

/// The sweep shader with a private array of `slots` value slots (`MAXN`) in place of
/// [`PRIVATE_SLOTS`]: WGSL zero-initialises the array for every sample, so a model that needs
/// few slots runs a variant that clears few.
fn sized_source(slots: u32) -> String {
    let src = (SWEEP_SHADER.source)();
    let decl = "const MAXN: u32 = 256u;";
    assert!(src.contains(decl), "sweep.wgsl declares MAXN");
    src.replace(decl, &format!("const MAXN: u32 = {slots}u;"))
}

/// Sizes of the private slot arrays of the sweep shader's variants, ascending; the last is
/// [`PRIVATE_SLOTS`].
pub(crate) const SLOT_SIZES: [u32; 3] = [16, 64, PRIVATE_SLOTS];

pub(crate) static SWEEP16_SHADER: Shader = Shader {
    name: "sweep-16",
    source: || sized_source(SLOT_SIZES[0]),
};

pub(crate) static SWEEP64_SHADER: Shader = Shader {
    name: "sweep-64",
    source: || sized_source(SLOT_SIZES[1]),
};

/// The `sweep-wide` variant of the sweep shader: the private array of value slots becomes the
/// storage buffer `scratch`, `P.slots` words per thread from `vbase` (for programs with more
/// than [`PRIVATE_SLOTS`] slots).
pub(crate) static SWEEP_WIDE_SHADER: Shader = Shader {
    name: "sweep-wide",
    source: wide_source,
};

fn wide_source() -> String {
    let src = format!("{}\n{SWEEP}", philox::wgsl());
    let decl = "var<private> vals: array<f32, MAXN>;\n";
    assert!(src.contains(decl), "sweep.wgsl declares its value slots");
    src.replace(decl, "").replace("vals[", "scratch[vbase + ")
}

/// `sweep` with its node records in a storage buffer (models of more than 1820 nodes).
pub(crate) static SWEEP_LARGE_SHADER: Shader = Shader {
    name: "sweep-large",
    source: || storage_nodes((SWEEP_SHADER.source)()),
};

/// `sweep-wide` with its node records in a storage buffer.
pub(crate) static SWEEP_WIDE_LARGE_SHADER: Shader = Shader {
    name: "sweep-wide-large",
    source: || storage_nodes(wide_source()),
};

/// The sweep layout: parameters and node records (uniform), program and plan (read), value
/// slots and output (read-write).
const LAYOUT: &[Slot] = &[
    Slot::Uniform(0),
    Slot::Uniform(1),
    Slot::Read(2),
    Slot::Read(3),
    Slot::ReadWrite(4),
    Slot::ReadWrite(5),
];

/// The layout of the `-large` variants: the node records in a storage buffer.
const LARGE_LAYOUT: &[Slot] = &[
    Slot::Uniform(0),
    Slot::Read(1),
    Slot::Read(2),
    Slot::Read(3),
    Slot::ReadWrite(4),
    Slot::ReadWrite(5),
];

kernels!(LAYOUT;
    MOMENTS16 = SWEEP16_SHADER."sweep";
    VALUES16 = SWEEP16_SHADER."sweep_values";
    ROWS16 = SWEEP16_SHADER."sample_rows";
    MOMENTS64 = SWEEP64_SHADER."sweep";
    VALUES64 = SWEEP64_SHADER."sweep_values";
    ROWS64 = SWEEP64_SHADER."sample_rows";
    MOMENTS = SWEEP_SHADER."sweep";
    VALUES = SWEEP_SHADER."sweep_values";
    ROWS = SWEEP_SHADER."sample_rows";
    WIDE_MOMENTS = SWEEP_WIDE_SHADER."sweep";
    WIDE_VALUES = SWEEP_WIDE_SHADER."sweep_values";
    WIDE_ROWS = SWEEP_WIDE_SHADER."sample_rows";
);

kernels!(LARGE_LAYOUT;
    LARGE_MOMENTS = SWEEP_LARGE_SHADER."sweep";
    LARGE_VALUES = SWEEP_LARGE_SHADER."sweep_values";
    LARGE_ROWS = SWEEP_LARGE_SHADER."sample_rows";
    WIDE_LARGE_MOMENTS = SWEEP_WIDE_LARGE_SHADER."sweep";
    WIDE_LARGE_VALUES = SWEEP_WIDE_LARGE_SHADER."sweep_values";
    WIDE_LARGE_ROWS = SWEEP_WIDE_LARGE_SHADER."sample_rows";
);

/// The entry points of `shaders/sweep.wgsl` in one of its variants.
struct SweepPipelines {
    moments: Arc<Pipeline>,
    values: Arc<Pipeline>,
    rows: Arc<Pipeline>,
}

/// The sweep pipelines for `program`, the words of `scratch` one thread needs (0 when its
/// value slots fit a private array) and the buffer of its node records. The variant: node
/// records in a uniform buffer when they fit [`UNIFORM_NODE_WORDS`] (and the adapter binds 64
/// KiB uniforms), with the smallest private array that holds the program's slots, else
/// `sweep-wide`; larger models take the `-large` variants (records in a storage buffer).
fn sweep_variant(
    ctx: &Context,
    program: &SweepProgram,
) -> Result<(SweepPipelines, u64, wgpu::Buffer)> {
    let uniform = program.nodes.len() <= UNIFORM_NODE_WORDS
        && ctx.device.limits().max_uniform_buffer_binding_size >= 4 * UNIFORM_NODE_WORDS as u64;
    let private = program.slots <= PRIVATE_SLOTS;
    let ([moments, values, rows], words) = match (uniform, private) {
        (true, true) if program.slots <= SLOT_SIZES[0] => ([&MOMENTS16, &VALUES16, &ROWS16], 0),
        (true, true) if program.slots <= SLOT_SIZES[1] => ([&MOMENTS64, &VALUES64, &ROWS64], 0),
        (true, true) => ([&MOMENTS, &VALUES, &ROWS], 0),
        (true, false) => (
            [&WIDE_MOMENTS, &WIDE_VALUES, &WIDE_ROWS],
            program.slots as u64,
        ),
        (false, true) => ([&LARGE_MOMENTS, &LARGE_VALUES, &LARGE_ROWS], 0),
        (false, false) => (
            [&WIDE_LARGE_MOMENTS, &WIDE_LARGE_VALUES, &WIDE_LARGE_ROWS],
            program.slots as u64,
        ),
    };
    // records padded to whole vec4s (the uniform to its declared 64 KiB)
    let mut records = program.nodes.clone();
    let len = if uniform {
        UNIFORM_NODE_WORDS
    } else {
        records.len().div_ceil(4) * 4
    };
    records.resize(len, 0);
    let nodes = if uniform {
        ctx.scoped(|| ctx.uniform(bytemuck::cast_slice(&records)))?
    } else {
        ctx.storage("sweep nodes", bytemuck::cast_slice(&records))?
    };
    Ok((
        SweepPipelines {
            moments: ctx.pipeline(moments)?,
            values: ctx.pipeline(values)?,
            rows: ctx.pipeline(rows)?,
        },
        words,
        nodes,
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

/// Node evaluations per submit of a sweep (under common random numbers, of the varying nodes
/// only): its tiles are recorded into one encoder and read back once, up to this many (2³⁴, so
/// the GPU target's 10¹⁰ is one submit).
const SUBMIT_ITEMS: u64 = 1 << 34;

/// The uniform of one sweep dispatch: `at` = `[setting offset, group offset, out base, plan
/// row, settings per workgroup, dispatch rows]`.
fn sweep_params(job: &SweepJob, program: &SweepProgram, at: [u32; 6]) -> [u32; 20] {
    let key = job.stream.key();
    let m = job.scm.names().len();
    [
        m as u32,
        program.kept_slot,
        job.samples,
        noise_blocks(m).1,
        key[0],
        key[1],
        job.stream.tag(),
        job.common_random_numbers as u32,
        at[0],
        at[1],
        1 + 3 * m as u32,
        job.contrast as u32,
        program.slots,
        0,
        0,
        at[4],
        at[2],
        at[3],
        at[5],
        0,
    ]
}

/// Node evaluations one sweep dispatch under common random numbers may hold (the varying
/// nodes of every setting, and the others and the noise once per workgroup and tile): 2³²,
/// a few milliseconds on a large GPU. (Own noise keeps [`ITEMS_PER_SUBMIT`].)
const SHARED_DISPATCH_ITEMS: u64 = 1 << 32;

/// Workgroups a shared-noise dispatch keeps, where it has enough settings × workgroups of
/// samples, before its workgroups take several settings each: about one wave of resident
/// 256-thread workgroups on a large GPU (an H100 holds 132 × 8 = 1056), which fills the device
/// while sharing each noise draw as widely as that allows.
const GPU_GROUPS: u64 = 1024;

/// [`GPU_GROUPS`] for a CPU adapter (lavapipe), which runs one workgroup per core at a time.
const CPU_GROUPS: u64 = 16;

/// Settings per workgroup of a dispatch of `rows` settings × `cols` workgroups of samples:
/// 1 with own noise; under common random numbers as many as keep [`GPU_GROUPS`] workgroups
/// ([`CPU_GROUPS`] on a CPU adapter), at least 1 and at most `rows`. The numbers do not depend
/// on it.
fn settings_per_group(ctx: &Context, shared: bool, rows: u64, cols: u64) -> u64 {
    if !shared {
        return 1;
    }
    let groups = if ctx.is_software() {
        CPU_GROUPS
    } else {
        GPU_GROUPS
    };
    (rows * cols / groups).clamp(1, rows.max(1))
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
    // under common random numbers a thread draws its sample's noise once for all the settings
    // of its workgroup: the shared program, and per setting only the varying nodes' work
    let shared = job.common_random_numbers;
    let (program, per_setting) = if shared {
        let needed = job.scm.needed_for(job.outcome);
        let (varies, noisy) = job.shared_nodes(&needed);
        let vary = (0..m).filter(|&j| needed[j] && varies[j]).count();
        (
            job.scm.shared_program(job.outcome, &varies, &noisy),
            vary.max(1) as u64,
        )
    } else {
        (job.scm.program(job.outcome), m as u64)
    };
    let dispatch_items = if shared {
        SHARED_DISPATCH_ITEMS
    } else {
        ITEMS_PER_SUBMIT
    };
    let (pipes, slot_words, nodes) = sweep_variant(ctx, &program)?;
    let prog = ctx.storage("sweep program", bytemuck::cast_slice(&program.prog))?;
    // tiles of (settings × workgroups of samples): output, plan and value slots within one
    // binding, at most MAX_DISPATCH workgroups per dimension and `dispatch_items` node
    // evaluations per dispatch
    let wg = WG as u64;
    let groups = n.div_ceil(wg);
    let group_words: u64 = if job.keep_values { wg } else { 3 };
    let plan_words = 1 + 3 * m as u64;
    let mut budget = (ctx.max_binding / 4 / group_words)
        .min(dispatch_items / (wg * per_setting * per_row))
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
    let tile = settings_per_group(ctx, shared, sy as u64, bx) as usize;
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
    let mut sums = vec![[0.0f64; 3]; settings];
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); if job.keep_values { settings } else { 0 }];
    let total = settings as u64 * n;
    let mut done = 0u64;
    // the tiles, settings outer and workgroups inner: (first setting, rows, first group, cols)
    let mut tiles = Vec::new();
    for s0 in (0..settings).step_by(sy) {
        let rows = sy.min(settings - s0);
        let mut g0 = 0u64;
        while g0 < groups {
            let cols = bx.min(groups - g0) as usize;
            tiles.push((s0, rows, g0, cols));
            g0 += cols as u64;
        }
    }
    // submits: consecutive tiles whose outputs fit one binding, whose settings' plans fit
    // another, and with at most SUBMIT_ITEMS node evaluations (the whole sweep, unless it
    // is very large); each submit is one encoder of dispatches and one readback
    let pr = per_row as usize;
    let max_words = ctx.max_binding / 4;
    let mut t = 0;
    while t < tiles.len() {
        let first_setting = tiles[t].0;
        let (mut end, mut out_words, mut items) = (t, 0u64, 0u64);
        while end < tiles.len() {
            let (s0, rows, _, cols) = tiles[end];
            let w = (rows * cols) as u64 * group_words;
            let it = (rows * cols) as u64 * wg * per_setting * per_row;
            let plan_rows = (s0 + rows - first_setting) as u64 * per_row;
            if end > t
                && (out_words + w > max_words
                    || items + it > SUBMIT_ITEMS
                    || plan_rows * plan_words > max_words)
            {
                break;
            }
            out_words += w;
            items += it;
            end += 1;
        }
        let last_setting = tiles[end - 1].0 + tiles[end - 1].1;
        let mut plan =
            Vec::with_capacity((last_setting - first_setting) * pr * plan_words as usize);
        for (k, setting) in job.plans[first_setting * pr..last_setting * pr]
            .iter()
            .enumerate()
        {
            plan.push(pivots[first_setting + k / pr].to_bits());
            for &(atomic, delta) in setting {
                plan.extend([
                    atomic.is_some() as u32,
                    (atomic.unwrap_or(0.0) as f32).to_bits(),
                    (delta as f32).to_bits(),
                ]);
            }
        }
        let plan = ctx.storage("sweep plan", bytemuck::cast_slice(&plan))?;
        let mut params = Vec::with_capacity(end - t);
        let mut base = 0u64;
        for &(s0, rows, g0, cols) in &tiles[t..end] {
            params.push(sweep_params(
                job,
                &program,
                [
                    // the noise of the setting's index in the whole sweep (Sweep::shard)
                    job.first_setting + s0 as u32,
                    g0 as u32,
                    base as u32,
                    (s0 - first_setting) as u32,
                    tile as u32,
                    rows as u32,
                ],
            ));
            base += (rows * cols) as u64 * group_words;
        }
        let inputs = [&nodes, &prog, &plan, &scratch];
        let steps: Vec<RawStep> = tiles[t..end]
            .iter()
            .zip(&params)
            .map(|(&(_, rows, _, cols), p)| {
                (
                    bytemuck::cast_slice(p),
                    &inputs[..],
                    (cols as u32, rows.div_ceil(tile) as u32),
                )
            })
            .collect();
        let words = ctx.dispatch_steps(
            if job.keep_values {
                &pipes.values
            } else {
                &pipes.moments
            },
            &steps,
            out_words as usize,
        )?;
        let mut at = 0usize;
        for &(s0, rows, g0, cols) in &tiles[t..end] {
            let first = g0 * wg;
            let last = ((g0 + cols as u64) * wg).min(n);
            let tile_words = rows * cols * group_words as usize;
            let tile = &words[at..at + tile_words];
            at += tile_words;
            for r in 0..rows {
                let row = &tile[r * cols * group_words as usize..][..cols * group_words as usize];
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
        }
        if let Some(p) = progress {
            p(done, total);
        }
        t = end;
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
    let (pipes, slot_words, nodes) = sweep_variant(ctx, &program)?;
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
    // double-buffered: the rows from `first` are submitted before the rows before are read
    let submit = |first: u64| -> Result<(u64, InFlight)> {
        let r = rows.min(n - first);
        let params: [u32; 20] = [
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
            0,
            0,
            0,
            0,
        ];
        let inputs = [&nodes, &prog, &plan, &scratch];
        let step: RawStep = (
            bytemuck::cast_slice(&params),
            &inputs,
            (r.div_ceil(wg) as u32, 1),
        );
        let words = (r * m) as usize;
        Ok((
            r,
            ctx.dispatch_steps_submit(&pipes.rows, &[step], words, words)?,
        ))
    };
    let consume = |r: u64, words: Vec<u32>| -> Result<()> {
        for (col, values) in cols.iter_mut().zip(words.chunks_exact(r as usize)) {
            col.extend(values.iter().map(|&w| f32::from_bits(w) as f64));
        }
        Ok(())
    };
    ctx.pipelined((0..n).step_by(rows as usize), submit, consume)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The sized and `-large` variants differ from `sweep` and validate (as `sweep` and
    /// `sweep-wide` do in `tests/shaders.rs`).
    #[test]
    fn sized_variants_validate() {
        for shader in [
            &SWEEP16_SHADER,
            &SWEEP64_SHADER,
            &SWEEP_LARGE_SHADER,
            &SWEEP_WIDE_LARGE_SHADER,
        ] {
            let src = (shader.source)();
            assert_ne!(src, (SWEEP_SHADER.source)());
            let module = naga::front::wgsl::parse_str(&src).expect(shader.name);
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty(),
            )
            .validate(&module)
            .expect(shader.name);
        }
    }
}
