//! RCoT / RCIT / RIT on the device (`shaders/rff.wgsl`).
//!
//! What runs where, and why:
//! * host, f64: standardising the columns, the feature bandwidths and draws, and everything that
//!   depends on Z alone ([`ZPart`](crate::independence::rff::ZPart): the Z features, `Czz`, its
//!   Cholesky factor and the ridge basis `B`, once per Z set and tester). `Czz + 1e-10 I` has
//!   condition numbers near 1e12, far beyond f32.
//! * device, f32: the X and Y feature matrices (computed and standardised once per set and job),
//!   `Bᵀ F` once per distinct (set, Z) pair of a sub-batch's conditional tests (a batch of 1000
//!   `|Z| = 1` tests on 16 columns has at most 240 such pairs), `Fxᵀ Fy`, the residuals
//!   `F − B (Bᵀ F)` (also once per pair; the basis rows of a 64-row tile staged through
//!   workgroup memory by consecutive threads) and, per test, the sums of the products of the
//!   residual products. Every operand is bounded (features by √2 before standardisation,
//!   `‖B‖₂ ≤ 1`), so no f32 value is multiplied by an ill-conditioned coefficient.
//! * host, f64: `Cxy|z = (Fxᵀ Fy − (BᵀFx)ᵀ (BᵀFy)) / (n − 1)`, the covariance, its eigenvalues
//!   and the p-value.
//!
//! A job is split into sub-batches whose buffers each fit one binding (and whose grids fit
//! 65 535 workgroups per dimension); all sub-batches go in one submit with one readback (a
//! second submit only past [`SUBMIT_BYTES`] of buffers).
//!
//! Kept on the device (`crate::gpu::resident`): each variable set's standardised rows and its frequencies
//! and phases, and each Z part's ridge basis, in f32, one buffer each, keyed by the `Arc` the
//! [`Tester`](crate::independence::Tester) holds them in. Each is uploaded once, then reused by
//! every sub-batch of the job and by later jobs on the same arrays; a sub-batch's packed
//! `columns`, `frequencies` and `basis` bindings are assembled on the device by buffer copies in
//! the same command encoder as its dispatches, so only the test metadata and the uniforms come
//! from the host. An entry goes when its `Arc` is dropped (at the next job's start), when it is
//! the least recently used past the cache's cap (a quarter of `max_buffer_size`, at most 1 GiB),
//! or when a job fails.

use crate::error::Result;
use crate::gpu::resident::{copy_pieces, Piece, Role};
use crate::gpu::{gpu_err, kernels, Context, Shader, Slot, MAX_DISPATCH};
use crate::independence::jobs::{RffJob, RffTest};
use crate::independence::rff::{constant_feature, Moments};
use faer::Mat;
use std::collections::HashMap;

/// Largest feature count per X/Y set (`MAXF` in the shader).
pub(crate) const MAX_F: usize = 8;
/// Buffers per submit before the job is split into more than one submit.
const SUBMIT_BYTES: u64 = 1 << 30;
const NONE: u32 = u32::MAX;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    nf: u32,
    r: u32,
    tiles: u32,
    count: u32,
    row: u32,
    mode: u32,
    per: u32,
    stride: u32,
    out0: u32,
    tot0: u32,
    tout: u32,
    e1: u32,
    e2: u32,
    sets: u32,
    pinfo: u32,
}

/// `shaders/rff.wgsl`.
pub(crate) static SHADER: Shader = Shader {
    name: "rff",
    source: || include_str!("../../../shaders/rff.wgsl").to_string(),
};

/// The layout every entry point of the shader shares.
const LAYOUT: &[Slot] = &[
    Slot::Uniform(0),
    Slot::Read(1),
    Slot::Read(2),
    Slot::Read(3),
    Slot::Read(4),
    Slot::ReadWrite(5),
    Slot::ReadWrite(6),
    Slot::ReadWrite(7),
];

kernels!(LAYOUT;
    FEAT_MOMENT = SHADER."feat_moment";
    REDUCE = SHADER."reduce";
    REDUCE_COLS = SHADER."reduce_cols";
    FEAT_STD = SHADER."feat_std";
    PROJ = SHADER."proj";
    RESID = SHADER."resid";
    COV = SHADER."cov";
);

/// The layout and the entry points of `shaders/rff.wgsl`, from the engine's pipeline cache.
struct Pipelines {
    layout: wgpu::BindGroupLayout,
    feat_moment: wgpu::ComputePipeline,
    reduce: wgpu::ComputePipeline,
    reduce_cols: wgpu::ComputePipeline,
    feat_std: wgpu::ComputePipeline,
    proj: wgpu::ComputePipeline,
    resid: wgpu::ComputePipeline,
    cov: wgpu::ComputePipeline,
}

impl Pipelines {
    fn new(ctx: &Context) -> Result<Self> {
        let feat_moment = ctx.pipeline(&FEAT_MOMENT)?;
        let reduce = ctx.pipeline(&REDUCE)?;
        let reduce_cols = ctx.pipeline(&REDUCE_COLS)?;
        let feat_std = ctx.pipeline(&FEAT_STD)?;
        let proj = ctx.pipeline(&PROJ)?;
        let resid = ctx.pipeline(&RESID)?;
        let cov = ctx.pipeline(&COV)?;
        Ok(Pipelines {
            layout: feat_moment.layout.clone(),
            feat_moment: feat_moment.pipeline.clone(),
            reduce: reduce.pipeline.clone(),
            reduce_cols: reduce_cols.pipeline.clone(),
            feat_std: feat_std.pipeline.clone(),
            proj: proj.pipeline.clone(),
            resid: resid.pipeline.clone(),
            cov: cov.pipeline.clone(),
        })
    }
}

/// A job's view of the device: the context and this shader's pipelines.
struct Rff<'a> {
    ctx: &'a Context,
    rff: Pipelines,
}

impl std::ops::Deref for Rff<'_> {
    type Target = Context;
    fn deref(&self) -> &Context {
        self.ctx
    }
}

/// Sizes shared by every test of a job.
#[derive(Clone, Copy)]
struct Shape {
    n: usize,
    nf: usize,
    r: usize,
    t64: usize,
    t256: usize,
    /// Entries per projection `Bᵀ F` (`nf · r`).
    e1: usize,
    /// Moment entries per test.
    e2: usize,
}

/// One sub-batch: the sets and Z parts it uses (job indices, in local order), its tests
/// (job indices, conditional tests first) and the distinct (set, Z part) pairs of its
/// conditional tests (job indices), each projected once.
#[derive(Clone, Default)]
struct Sub {
    sets: Vec<usize>,
    zs: Vec<usize>,
    tests: Vec<usize>,
    projs: Vec<(usize, usize)>,
    col_words: usize,
    fw_words: usize,
}

impl Sub {
    /// Words of each buffer (meta, cols, fw, basis, feats, part, tot).
    fn words(&self, sh: &Shape) -> [usize; 7] {
        let columns = self.sets.len() * sh.nf;
        let t = self.tests.len();
        let np = self.projs.len();
        [
            3 * self.sets.len() + 5 * t + 2 * np,
            self.col_words,
            self.fw_words,
            self.zs.len() * sh.n * sh.r,
            (columns + np * sh.nf) * sh.n,
            (columns * sh.t256)
                .max(np * sh.e1 * sh.t64)
                .max(t * sh.e2 * sh.t64),
            2 * columns + t * sh.e2 + np * sh.e1,
        ]
    }

    fn fits(&self, sh: &Shape, max_words: usize) -> bool {
        self.tests.len() <= MAX_DISPATCH as usize
            && self.projs.len() <= MAX_DISPATCH as usize
            && self.sets.len() * sh.nf <= MAX_DISPATCH as usize
            && self.words(sh).iter().all(|&w| w <= max_words)
    }

    fn bytes(&self, sh: &Shape) -> u64 {
        self.words(sh).iter().map(|&w| 4 * w.max(4) as u64).sum()
    }
}

/// A job's per-variable arrays on the device, by job index (`None`: an empty array).
struct Arrays {
    cols: Vec<Option<wgpu::Buffer>>,
    fw: Vec<Option<wgpu::Buffer>>,
    basis: Vec<Option<wgpu::Buffer>>,
}

/// A 2-D grid of `count` workgroups: (per row, rows).
fn grid(count: usize) -> (u32, u32) {
    let x = count.clamp(1, MAX_DISPATCH as usize);
    (x as u32, count.div_ceil(x).max(1) as u32)
}

/// The moments of every test of `job` on the device, in test order (the device twin of
/// `independence::cpu::rff_moments`).
pub(crate) fn rff_moments(ctx: &Context, job: &RffJob) -> Result<Vec<Result<Moments>>> {
    Rff {
        ctx,
        rff: Pipelines::new(ctx)?,
    }
    .rff_job(job)
}

impl Rff<'_> {
    /// The job on the device.
    fn rff_job(&self, job: &RffJob) -> Result<Vec<Result<Moments>>> {
        let tests = job.tests.len();
        if tests == 0 {
            return Ok(Vec::new());
        }
        let n = job.n;
        let nf = job.sets[0].features.b.len();
        if nf == 0 || nf > MAX_F || job.sets.iter().any(|s| s.features.b.len() != nf) {
            return Err(gpu_err(
                "limits",
                format!("{nf} features per X/Y set; the rff shader holds 1 to {MAX_F}"),
            ));
        }
        let r = job.zparts.first().map_or(0, |z| z.features());
        if job.zparts.iter().any(|z| z.features() != r) {
            return Err(gpu_err("limits", "Z parts of different feature counts"));
        }
        if n < 2 || n.div_ceil(64) > MAX_DISPATCH as usize {
            return Err(gpu_err(
                "limits",
                format!("{n} rows exceed one dispatch row of 64-row tiles"),
            ));
        }
        let pp = nf * nf;
        let sh = Shape {
            n,
            nf,
            r,
            t64: n.div_ceil(64),
            t256: n.div_ceil(256),
            e1: if r > 0 { nf * r } else { 0 },
            e2: pp + pp * (pp + 1) / 2,
        };
        // the ridge bases (f64, O(n·nf_z²) each, cached in the Z parts) in parallel up front
        {
            use rayon::prelude::*;
            job.zparts.par_iter().for_each(|z| {
                z.basis();
            });
        }
        let max_words = (self.max_binding / 4) as usize;
        // conditional tests first (a sub-batch's projections come from its first tests)
        let order: Vec<usize> = (0..tests)
            .filter(|&t| job.tests[t].z.is_some())
            .chain((0..tests).filter(|&t| job.tests[t].z.is_none()))
            .collect();
        let mut subs: Vec<Sub> = Vec::new();
        let mut cur = Sub::default();
        for &t in &order {
            let mut next = cur.clone();
            add(&mut next, job, &job.tests[t], t, &sh);
            if next.fits(&sh, max_words) {
                cur = next;
                continue;
            }
            let mut alone = Sub::default();
            add(&mut alone, job, &job.tests[t], t, &sh);
            if !alone.fits(&sh, max_words) {
                return Err(gpu_err(
                    "limits",
                    format!(
                        "one RCoT test on {n} rows ({nf} features, {r} Z features) needs a \
                         binding larger than {} bytes",
                        self.max_binding
                    ),
                ));
            }
            subs.push(std::mem::replace(&mut cur, alone));
        }
        subs.push(cur);
        // the sets and Z bases on the device (uploaded once, kept across jobs)
        self.cache_begin();
        let run = || -> Result<Vec<Result<Moments>>> {
            let arrays = self.rff_arrays(job)?;
            let mut out: Vec<Option<Result<Moments>>> = (0..tests).map(|_| None).collect();
            let mut lo = 0;
            while lo < subs.len() {
                // sub-batches per submit, within SUBMIT_BYTES of buffers (at least one)
                let mut hi = lo + 1;
                let mut bytes = subs[lo].bytes(&sh);
                while hi < subs.len() && bytes + subs[hi].bytes(&sh) <= SUBMIT_BYTES {
                    bytes += subs[hi].bytes(&sh);
                    hi += 1;
                }
                let words = self.rff_submit(job, &arrays, &sh, &subs[lo..hi])?;
                for (sub, tot) in subs[lo..hi].iter().zip(words) {
                    for (i, &t) in sub.tests.iter().enumerate() {
                        out[t] = Some(unpack(job, &sh, sub, i, &job.tests[t], &tot)?);
                    }
                }
                lo = hi;
            }
            Ok(out
                .into_iter()
                .map(|m| m.expect("every test run"))
                .collect())
        };
        let out = run();
        if out.is_err() {
            self.cache_clear();
        }
        out
    }

    /// The device buffers of the job's sets (rows; frequencies and phases) and Z bases, from the
    /// cache or uploaded now, in the f32 layout the shader reads.
    fn rff_arrays(&self, job: &RffJob) -> Result<Arrays> {
        self.scoped(|| Arrays {
            cols: job
                .sets
                .iter()
                .map(|s| {
                    self.resident(s, Role("rff columns"), || {
                        s.rows.iter().map(|&v| v as f32).collect()
                    })
                })
                .collect(),
            fw: job
                .sets
                .iter()
                .map(|s| {
                    self.resident(s, Role("rff frequencies"), || {
                        let f = &s.features;
                        f.w.iter().chain(&f.b).map(|&v| v as f32).collect()
                    })
                })
                .collect(),
            basis: job
                .zparts
                .iter()
                .map(|z| self.resident(z, Role("rff basis"), || z.basis().to_vec()))
                .collect(),
        })
    }

    /// Encodes every sub-batch into one command buffer, submits it once and reads every
    /// sub-batch's `tot` back through one staging buffer.
    fn rff_submit(
        &self,
        job: &RffJob,
        arrays: &Arrays,
        sh: &Shape,
        subs: &[Sub],
    ) -> Result<Vec<Vec<f32>>> {
        self.check_lost()?;
        let scopes = self.scopes();
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("rff") });
        let tot_words: Vec<usize> = subs.iter().map(|s| s.words(sh)[6]).collect();
        let staging_bytes: u64 = tot_words.iter().map(|&w| 4 * w as u64).sum();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("rff staging"),
            size: staging_bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut keep = Vec::new();
        let mut offset = 0u64;
        for (sub, &tw) in subs.iter().zip(&tot_words) {
            let tot = self.encode_sub(&mut enc, job, arrays, sh, sub, &mut keep)?;
            enc.copy_buffer_to_buffer(&tot, 0, &staging, offset, 4 * tw as u64);
            offset += 4 * tw as u64;
            keep.push(tot);
        }
        let all: Vec<f32> = self
            .submit_and_read(enc, scopes, &staging, (staging_bytes / 4) as usize)?
            .into_iter()
            .map(f32::from_bits)
            .collect();
        drop(keep);
        let mut at = 0;
        Ok(tot_words
            .iter()
            .map(|&w| {
                let v = all[at..at + w].to_vec();
                at += w;
                v
            })
            .collect())
    }

    /// Packs one sub-batch's inputs on the device (copies from the job's arrays; only the
    /// metadata comes from the host) and records its dispatches; returns its `tot` buffer.
    fn encode_sub(
        &self,
        enc: &mut wgpu::CommandEncoder,
        job: &RffJob,
        arrays: &Arrays,
        sh: &Shape,
        sub: &Sub,
        keep: &mut Vec<wgpu::Buffer>,
    ) -> Result<wgpu::Buffer> {
        let set_at: HashMap<usize, usize> =
            sub.sets.iter().enumerate().map(|(i, &s)| (s, i)).collect();
        let z_at: HashMap<usize, usize> = sub.zs.iter().enumerate().map(|(i, &z)| (z, i)).collect();
        let mut meta = Vec::new();
        let (mut cols, mut fw) = (Vec::new(), Vec::new());
        let (mut col_words, mut fw_words) = (0, 0);
        let piece = |b: &Option<wgpu::Buffer>, at: usize, words: usize| {
            b.as_ref().map(|src| Piece {
                src: src.clone(),
                at,
                words,
            })
        };
        for &s in &sub.sets {
            let set = &job.sets[s];
            meta.extend([set.d as u32, col_words as u32, fw_words as u32]);
            let fw_len = set.features.w.len() + set.features.b.len();
            cols.extend(piece(&arrays.cols[s], col_words, set.rows.len()));
            fw.extend(piece(&arrays.fw[s], fw_words, fw_len));
            col_words += set.rows.len();
            fw_words += fw_len;
        }
        let columns = sub.sets.len() * sh.nf;
        // the projections after the test blocks in `tot`
        let proj0 = 2 * columns + sub.tests.len() * sh.e2;
        let proj_at = |s: usize, z: usize| {
            sub.projs
                .iter()
                .position(|&p| p == (s, z))
                .expect("projection in sub-batch") as u32
        };
        for &t in &sub.tests {
            let test = &job.tests[t];
            meta.extend([
                set_at[&test.x] as u32,
                set_at[&test.y] as u32,
                test.z.map_or(NONE, |z| (z_at[&z] * sh.n * sh.r) as u32),
                test.z.map_or(NONE, |z| proj_at(test.x, z)),
                test.z.map_or(NONE, |z| proj_at(test.y, z)),
            ]);
        }
        let pinfo = meta.len();
        for &(s, z) in &sub.projs {
            meta.extend([set_at[&s] as u32, (z_at[&z] * sh.n * sh.r) as u32]);
        }
        let mut basis = Vec::new();
        let mut basis_words = 0;
        for &z in &sub.zs {
            let len = job.zparts[z].basis().len();
            basis.extend(piece(&arrays.basis[z], basis_words, len));
            basis_words += len;
        }
        let words = sub.words(sh);
        let meta = self.storage("rff meta", bytemuck::cast_slice(&meta))?;
        let none = wgpu::BufferUsages::empty();
        let cols_buf = self.packed("rff columns", col_words, none)?;
        let fw_buf = self.packed("rff frequencies", fw_words, none)?;
        let basis_buf = self.packed("rff basis", basis_words, none)?;
        copy_pieces(enc, &cols_buf, &cols);
        copy_pieces(enc, &fw_buf, &fw);
        copy_pieces(enc, &basis_buf, &basis);
        let (cols, fw, basis) = (cols_buf, fw_buf, basis_buf);
        let rw = |label: &str, w: usize, copy: bool| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 4 * w.max(4) as u64,
                usage: if copy {
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC
                } else {
                    wgpu::BufferUsages::STORAGE
                },
                mapped_at_creation: false,
            })
        };
        let feats = rw("rff features", words[4], false);
        let part = rw("rff partials", words[5], false);
        let tot = rw("rff totals", words[6], true);
        let base = Params {
            n: sh.n as u32,
            nf: sh.nf as u32,
            r: sh.r as u32,
            tot0: 2 * columns as u32,
            tout: sh.e2 as u32,
            e1: sh.e1 as u32,
            e2: sh.e2 as u32,
            sets: sub.sets.len() as u32,
            pinfo: pinfo as u32,
            ..Default::default()
        };
        let reduce =
            |tiles: usize, count: usize, mode: u32, per: usize, stride: usize, out0: u32| {
                let (x, y) = grid(count);
                (
                    Params {
                        tiles: tiles as u32,
                        count: count as u32,
                        row: x,
                        mode,
                        per: per as u32,
                        stride: stride as u32,
                        out0,
                        ..base
                    },
                    (x, y),
                )
            };
        // reduce_cols: one thread per entry over the sh.t64 tiles
        let reduce_cols = |count: usize, per: usize, stride: usize, out0: u32| {
            let (x, y) = grid(count.div_ceil(64));
            (
                Params {
                    tiles: sh.t64 as u32,
                    count: count as u32,
                    row: x,
                    per: per as u32,
                    stride: stride as u32,
                    out0,
                    ..base
                },
                (x, y),
            )
        };
        let std_groups = grid((columns * sh.n).div_ceil(256));
        let p = &self.rff;
        let mut steps: Vec<(&'static str, &wgpu::ComputePipeline, Params, (u32, u32))> = vec![
            (
                "rff feat_moment",
                &p.feat_moment,
                Params {
                    tiles: sh.t256 as u32,
                    mode: 0,
                    ..base
                },
                (sh.t256 as u32, columns as u32),
            ),
            {
                let (q, g) = reduce(sh.t256, columns, 1, columns, 0, 0);
                ("rff reduce", &p.reduce, q, g)
            },
            (
                "rff feat_moment",
                &p.feat_moment,
                Params {
                    tiles: sh.t256 as u32,
                    mode: 1,
                    ..base
                },
                (sh.t256 as u32, columns as u32),
            ),
            {
                let (q, g) = reduce(sh.t256, columns, 2, columns, 0, columns as u32);
                ("rff reduce", &p.reduce, q, g)
            },
            (
                "rff feat_std",
                &p.feat_std,
                Params {
                    row: std_groups.0,
                    ..base
                },
                std_groups,
            ),
        ];
        if !sub.projs.is_empty() && sh.e1 > 0 {
            let np = sub.projs.len();
            steps.push((
                "rff proj",
                &p.proj,
                Params {
                    tiles: sh.t64 as u32,
                    count: (np * sh.e1) as u32,
                    ..base
                },
                (sh.t64 as u32, np as u32),
            ));
            let (q, g) = reduce_cols(np * sh.e1, np * sh.e1, 0, proj0 as u32);
            steps.push(("rff reduce_cols", &p.reduce_cols, q, g));
            steps.push((
                "rff resid",
                &p.resid,
                Params {
                    out0: proj0 as u32,
                    ..base
                },
                (sh.t64 as u32, np as u32),
            ));
        }
        steps.push((
            "rff cov",
            &p.cov,
            Params {
                tiles: sh.t64 as u32,
                count: (sub.tests.len() * sh.e2) as u32,
                ..base
            },
            (sh.t64 as u32, sub.tests.len() as u32),
        ));
        let (q, g) = reduce_cols(sub.tests.len() * sh.e2, sh.e2, sh.e2, base.tot0);
        steps.push(("rff reduce_cols", &p.reduce_cols, q, g));
        let mut binds = Vec::with_capacity(steps.len());
        for (_, _, params, _) in &steps {
            let uniform = self.uniform(bytemuck::bytes_of(params));
            let buffers = [&uniform, &meta, &cols, &fw, &basis, &feats, &part, &tot];
            let entries: Vec<wgpu::BindGroupEntry> = buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect();
            binds.push(self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("rff"),
                layout: &p.layout,
                entries: &entries,
            }));
            keep.push(uniform);
        }
        // one pass per step, so that a profile times each kernel
        for ((name, pipeline, _, groups), bind) in steps.iter().zip(&binds) {
            self.pass(enc, name, 1, |pass| {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, bind, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, 1);
            });
        }
        keep.extend([meta, cols, fw, basis, feats, part]);
        Ok(tot)
    }
}

/// Adds test `t` (and the sets and Z part it needs) to a sub-batch.
fn add(sub: &mut Sub, job: &RffJob, test: &RffTest, t: usize, sh: &Shape) {
    for s in [test.x, test.y] {
        if !sub.sets.contains(&s) {
            sub.sets.push(s);
            let d = job.sets[s].d;
            sub.col_words += sh.n * d;
            sub.fw_words += sh.nf * (d + 1);
        }
    }
    if let Some(z) = test.z {
        if !sub.zs.contains(&z) {
            sub.zs.push(z);
        }
        for s in [test.x, test.y] {
            if !sub.projs.contains(&(s, z)) {
                sub.projs.push((s, z));
            }
        }
    }
    sub.tests.push(t);
}

/// The [`Moments`] of test `i` of a sub-batch from its `tot` words (f64 from here on).
fn unpack(
    job: &RffJob,
    sh: &Shape,
    sub: &Sub,
    i: usize,
    test: &RffTest,
    tot: &[f32],
) -> Result<Result<Moments>> {
    let (nf, r) = (sh.nf, sh.r);
    let columns = sub.sets.len() * nf;
    let local = |s: usize| {
        sub.sets
            .iter()
            .position(|&v| v == s)
            .expect("set in sub-batch")
    };
    for s in [local(test.x), local(test.y)] {
        let sds = &tot[columns + s * nf..columns + (s + 1) * nf];
        if sds.iter().any(|&sd| sd.is_nan() || sd <= 0.0) {
            return Ok(Err(constant_feature()));
        }
    }
    let b0 = 2 * columns + i * sh.e2;
    let m = &tot[b0..b0 + sh.e2];
    // the test's projections Bᵀ Fx and Bᵀ Fy (shared with the other tests of the same pair)
    let proj0 = 2 * columns + sub.tests.len() * sh.e2;
    let proj = |s: usize| -> &[f32] {
        match test.z {
            Some(z) => {
                let j = sub
                    .projs
                    .iter()
                    .position(|&p| p == (s, z))
                    .expect("projection in sub-batch");
                &tot[proj0 + j * sh.e1..proj0 + (j + 1) * sh.e1]
            }
            None => &[],
        }
    };
    let (qx, qy) = (proj(test.x), proj(test.y));
    if let Some(bad) = m.iter().chain(qx).chain(qy).position(|v| !v.is_finite()) {
        return Err(gpu_err(
            "numerics",
            format!("a non-finite RCoT moment on the device (word {bad} of test {i})"),
        ));
    }
    let nn = job.n as f64;
    let px = |a: usize, k: usize| qx[a * r + k] as f64;
    let py = |b: usize, k: usize| qy[b * r + k] as f64;
    let cxy = Mat::from_fn(nf, nf, |a, b| {
        let mut s = m[a * nf + b] as f64;
        if test.z.is_some() {
            s -= (0..r).map(|k| px(a, k) * py(b, k)).sum::<f64>();
        }
        s / (nn - 1.0)
    });
    let pp = nf * nf;
    let mut cov = Mat::zeros(pp, pp);
    let mut e = pp;
    for c in 0..pp {
        for d in c..pp {
            let v = m[e] as f64 / nn;
            cov[(c, d)] = v;
            cov[(d, c)] = v;
            e += 1;
        }
    }
    Ok(Ok(Moments { cxy, cov }))
}
