//! KCI (gamma null) on the device (`shaders/kci.wgsl`).
//!
//! What runs where, and why:
//! * host, f64: standardising, the kernel widths, the pivoted incomplete-Cholesky factors, and
//!   per Z set the basis `B = Lz U⁻ᵀ` (`U Uᵀ = εI + LzᵀLz`; [`ZPart::basis`]): the ε = 1e-3
//!   regularisation gives condition numbers up to `‖Kz‖/ε`, which f32 cannot carry, while `B`
//!   has singular values ≤ 1.
//! * device, f32 (first submit): factor Grams `LᵀL`, cross products `LxᵀLy`, projections
//!   `P = BᵀL`, residuals `M = L − B P` (`= Rz L`), residual Grams `MᵀM` and `MxᵀMy`.
//! * host, f64: the statistics and the unconditional gamma moments from those small matrices,
//!   and the eigendecomposition of each `MᵀM` (`r × r`), whose kept eigenvectors `Q` go back.
//! * device, f32 (second submit, conditional tests only): `Va = M Q`, and the gamma moments'
//!   Hadamard sums `Σ_t A_tt B_tt` and `Σ_st (A_st B_st)²` as n-reductions of row-wise products
//!   (symmetric pair products of the rows of `Va` and `Vb`), never as n × n matrices.
//!
//! Every row sum is taken in f32 eight terms at a time with the eight-term sums compensated
//! (Kahan), so an entry carries a relative error of about `10 · 6e-8` of the sum of its terms'
//! magnitudes (below the pairwise bound `log₂(n) · 6e-8` from n = 1024 on); the tolerances this
//! implies are documented on [`crate::independence::IndependenceTest::kci`].
//!
//! The Hadamard sums of a conditional test take the route with fewer multiply-adds, as the CPU
//! does ([`route`]): the symmetric pair products of the columns (`n · pa · pb`, `pa = ra (ra + 1)
//! / 2`) or 32 × 32 blocks of `Va Vaᵀ` and `Vb Vbᵀ` (`n² (ra + rb) / 2`). Both keep their
//! per-thread 4 × 4 blocks in registers and stage their operands in workgroup memory.
//!
//! A job is split into sub-batches whose buffers each fit one binding (and whose dispatches fit
//! 65 535 workgroups per dimension); each sub-batch is one submit and readback, plus one more for
//! its conditional tests (the host's eigenproblems sit between the two).
//!
//! Kept on the device (`crate::gpu::resident`): each centred factor (row-major f32) and each Z part's basis,
//! one buffer each, keyed by the `Arc` the [`Tester`](crate::independence::Tester) holds them
//! in. Each is uploaded once, then reused by every sub-batch of the job and by later jobs on the
//! same arrays: a sub-batch's `mats` binding (factors, bases, then room for `M` and `Va`) is
//! assembled on the device by buffer copies recorded before its first dispatches, so only the
//! task lists, the eigenvectors `Q` and the uniforms come from the host. An entry goes when its
//! `Arc` is dropped (at the next job's start), when it is the least recently used past the
//! cache's cap (a quarter of `max_buffer_size`, at most 1 GiB), or when a job fails.
//!
//! [`ZPart::basis`]: crate::independence::kci::ZPart::basis

use crate::error::Result;
use crate::gpu::resident::{copy_pieces, Piece, Role};
use crate::gpu::{gpu_err, kernels, Context, Shader, Slot, MAX_DISPATCH};
use crate::independence::jobs::KciJob;
use crate::independence::kci::{kept_eigenvectors, Moments};
use faer::Mat;
use rayon::prelude::*;
use std::collections::HashMap;

const NONE: u32 = u32::MAX;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    row: u32,
    base: u32,
    tw: u32,
    count: u32,
    pad: [u32; 3],
}

/// `shaders/kci.wgsl`.
pub(crate) static SHADER: Shader = Shader {
    name: "kci",
    source: || include_str!("../../../shaders/kci.wgsl").to_string(),
};

/// The layout every entry point of the shader shares.
const LAYOUT: &[Slot] = &[
    Slot::Uniform(0),
    Slot::Read(1),
    Slot::ReadWrite(2),
    Slot::ReadWrite(3),
];

kernels!(LAYOUT;
    CROSS = SHADER."cross";
    AFFINE = SHADER."affine";
    HADAMARD = SHADER."hadamard";
    HADAMARD_ROWS = SHADER."hadamard_rows";
    FINISH = SHADER."finish";
);

/// The layout and the entry points of `shaders/kci.wgsl`, from the engine's pipeline cache.
struct Pipelines {
    layout: wgpu::BindGroupLayout,
    cross: wgpu::ComputePipeline,
    affine: wgpu::ComputePipeline,
    hadamard: wgpu::ComputePipeline,
    hadamard_rows: wgpu::ComputePipeline,
    finish: wgpu::ComputePipeline,
}

impl Pipelines {
    fn new(ctx: &Context) -> Result<Self> {
        let cross = ctx.pipeline(&CROSS)?;
        let affine = ctx.pipeline(&AFFINE)?;
        let hadamard = ctx.pipeline(&HADAMARD)?;
        let hadamard_rows = ctx.pipeline(&HADAMARD_ROWS)?;
        let finish = ctx.pipeline(&FINISH)?;
        Ok(Pipelines {
            layout: cross.layout.clone(),
            cross: cross.pipeline.clone(),
            affine: affine.pipeline.clone(),
            hadamard: hadamard.pipeline.clone(),
            hadamard_rows: hadamard_rows.pipeline.clone(),
            finish: finish.pipeline.clone(),
        })
    }
}

/// A job's view of the device: the context and this shader's pipelines.
struct Kci<'a> {
    ctx: &'a Context,
    kci: Pipelines,
}

impl std::ops::Deref for Kci<'_> {
    type Target = Context;
    fn deref(&self) -> &Context {
        self.ctx
    }
}

/// One sub-batch: its factors, Z parts, regressions `(factor, z)` and tests (job indices).
#[derive(Clone, Default)]
struct Sub {
    factors: Vec<usize>,
    zs: Vec<usize>,
    pairs: Vec<(usize, usize)>,
    /// Factors of unconditional tests (their Grams are needed).
    grams: Vec<usize>,
    tests: Vec<usize>,
    conditional: usize,
}

/// A job's per-variable arrays on the device, by job index (`None`: empty, or a Z part whose
/// basis failed).
struct Arrays {
    factors: Vec<Option<wgpu::Buffer>>,
    bases: Vec<Option<wgpu::Buffer>>,
}

/// Pair products of `r` columns: `r (r + 1) / 2`.
fn pairs_of(r: usize) -> usize {
    r * (r + 1) / 2
}

/// Workgroups per test of the rows route at most (`HROWS` in the shader).
const HROWS: usize = 1024;

/// How one conditional test's Hadamard sums run on the device (`hadamard` or `hadamard_rows` in
/// the shader): the route with fewer multiply-adds, counted as the shader does them (padded to
/// its 32-entry blocks, 32-row tiles and 16-column chunks), and its workgroups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Route {
    /// `hadamard_rows` (32 × 32 blocks of `A = Va Vaᵀ` and `B = Vb Vbᵀ`, `s ≤ t`), else
    /// `hadamard` (the symmetric pair products of the columns).
    pub rows: bool,
    /// Workgroups (each writes two partial sums).
    pub groups: usize,
    /// Multiply-adds of the route taken, and of the other.
    pub fma: (f64, f64),
}

/// The cheaper Hadamard route for `n` rows and `ra`, `rb` kept eigenvectors. The environment
/// variable `CETERIS_KCI_HADAMARD` (`rows` or `columns`) forces a route (a test hook: the parity
/// tests run both; either route is exact up to f32 rounding).
pub(crate) fn route(n: usize, ra: usize, rb: usize) -> Route {
    let up = |v: usize, m: usize| v.div_ceil(m) * m;
    let (pa, pb) = (pairs_of(ra), pairs_of(rb));
    let cols_groups = pa.div_ceil(32) * pb.div_ceil(32);
    // per 32-row tile: 1024 entries × 32 rows, plus 64 pair products staged per row
    let cols = (cols_groups * up(n, 32) * (1024 + 64)) as f64;
    let nb = n.div_ceil(32);
    let blocks = nb * (nb + 1) / 2;
    // per block pair: 1024 entries × the padded columns of Va and Vb, plus 3 per entry
    let rows = (blocks * 1024 * (up(ra, 16) + up(rb, 16) + 3)) as f64;
    let forced = std::env::var("CETERIS_KCI_HADAMARD").ok();
    let take_rows = match forced.as_deref() {
        Some("rows") => true,
        Some("columns") => false,
        _ => rows < cols,
    };
    if take_rows {
        Route {
            rows: true,
            groups: blocks.min(HROWS),
            fma: (rows, cols),
        }
    } else {
        Route {
            rows: false,
            groups: cols_groups,
            fma: (cols, rows),
        }
    }
}

impl Sub {
    /// Words of (mats, first output, second output) and the most tasks of one dispatch.
    fn words(&self, job: &KciJob) -> ([usize; 3], usize) {
        let n = job.n;
        let r = |f: usize| job.factors[f].1.ncols();
        let rz = |z: usize| job.zparts[z].rank();
        let mats = self.factors.iter().map(|&f| n * r(f)).sum::<usize>()
            + self.zs.iter().map(|&z| n * rz(z)).sum::<usize>()
            + self.pairs.iter().map(|&(f, _)| 2 * n * r(f)).sum::<usize>();
        let mut out1 = self
            .pairs
            .iter()
            .map(|&(f, z)| rz(z) * r(f) + r(f) * r(f))
            .sum::<usize>()
            + self.grams.iter().map(|&f| r(f) * r(f)).sum::<usize>();
        let mut out2 = self.pairs.iter().map(|&(f, _)| r(f) * r(f)).sum::<usize>();
        for &t in &self.tests {
            let test = &job.tests[t];
            let (rx, ry) = (r(test.x), r(test.y));
            out1 += rx * ry;
            if test.z.is_some() {
                // either route (the kept ranks are at most the factors')
                let cols = pairs_of(rx).div_ceil(32) * pairs_of(ry).div_ceil(32);
                let nb = n.div_ceil(32);
                let groups = cols.max((nb * (nb + 1) / 2).min(HROWS));
                out2 += 2 * groups + 2;
            }
        }
        let tasks = self.pairs.len() + self.grams.len() + self.tests.len();
        ([mats, out1, out2], tasks)
    }

    fn fits(&self, job: &KciJob, max_words: usize) -> bool {
        let (w, tasks) = self.words(job);
        tasks <= MAX_DISPATCH as usize && w.iter().all(|&w| w <= max_words)
    }

    fn add(&mut self, job: &KciJob, t: usize) {
        let test = &job.tests[t];
        for f in [test.x, test.y] {
            if !self.factors.contains(&f) {
                self.factors.push(f);
            }
            match test.z {
                Some(z) => {
                    if !self.pairs.contains(&(f, z)) {
                        self.pairs.push((f, z));
                    }
                }
                None => {
                    if !self.grams.contains(&f) {
                        self.grams.push(f);
                    }
                }
            }
        }
        if let Some(z) = test.z {
            if !self.zs.contains(&z) {
                self.zs.push(z);
            }
            self.conditional += 1;
        }
        self.tests.push(t);
    }
}

/// A 2-D grid of `count` workgroups: (per row, rows).
fn grid(count: usize) -> (u32, u32) {
    let x = count.clamp(1, MAX_DISPATCH as usize);
    (x as u32, count.div_ceil(x).max(1) as u32)
}

/// One dispatch: pipeline, its tasks (each `tw` words) and workgroups per task.
struct Step<'p> {
    /// The profile's name of its pass (`kci <entry point>`).
    name: &'static str,
    pipeline: &'p wgpu::ComputePipeline,
    tw: usize,
    tasks: Vec<u32>,
    groups: usize,
    /// `finish`: one workgroup per task on a 2-D grid (else tasks on z).
    flat: bool,
}

fn rows_of(m: &Mat<f64>, out: &mut Vec<f32>) {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)] as f32);
        }
    }
}

fn frob2_f32(v: &[f32]) -> f64 {
    v.iter().map(|&x| x as f64 * x as f64).sum()
}

/// The moments of every test of `job` on the device, in test order (the device twin of
/// `independence::cpu::kci_moments`).
pub(crate) fn kci_moments(ctx: &Context, job: &KciJob) -> Result<Vec<Result<Moments>>> {
    Kci {
        ctx,
        kci: Pipelines::new(ctx)?,
    }
    .kci_job(job)
}

impl Kci<'_> {
    /// The job on the device.
    fn kci_job(&self, job: &KciJob) -> Result<Vec<Result<Moments>>> {
        let tests = job.tests.len();
        let mut out: Vec<Option<Result<Moments>>> = (0..tests).map(|_| None).collect();
        if tests == 0 {
            return Ok(Vec::new());
        }
        // the bases (f64, O(n·r_z²) each, cached in the Z parts) in parallel up front
        let bases: Vec<Result<&[f32]>> = {
            use rayon::prelude::*;
            job.zparts.par_iter().map(|z| z.basis()).collect()
        };
        let max_words = (self.max_binding / 4) as usize;
        let mut subs: Vec<Sub> = Vec::new();
        let mut cur = Sub::default();
        for (t, test) in job.tests.iter().enumerate() {
            if let Some(Err(e)) = test.z.map(|z| &bases[z]) {
                out[t] = Some(Err(crate::error::Error::param("z", e.to_string())));
                continue;
            }
            let mut next = cur.clone();
            next.add(job, t);
            if next.fits(job, max_words) {
                cur = next;
                continue;
            }
            let mut alone = Sub::default();
            alone.add(job, t);
            if !alone.fits(job, max_words) {
                return Err(gpu_err(
                    "limits",
                    format!(
                        "one KCI test on {} rows (factor ranks {} and {}) needs a binding larger \
                         than {} bytes",
                        job.n,
                        job.factors[test.x].1.ncols(),
                        job.factors[test.y].1.ncols(),
                        self.max_binding
                    ),
                ));
            }
            subs.push(std::mem::replace(&mut cur, alone));
        }
        if !cur.tests.is_empty() {
            subs.push(cur);
        }
        // the factors and Z bases on the device (uploaded once, kept across jobs)
        self.cache_begin();
        let mut run = || -> Result<()> {
            let arrays = self.kci_arrays(job, &bases)?;
            for sub in &subs {
                for (t, m) in self.kci_sub(job, &bases, &arrays, sub)? {
                    out[t] = Some(m);
                }
            }
            Ok(())
        };
        if let Err(e) = run() {
            self.cache_clear();
            return Err(e);
        }
        Ok(out
            .into_iter()
            .map(|m| m.expect("every test run"))
            .collect())
    }

    /// The device buffers of the job's factors and (usable) Z bases, from the cache or uploaded
    /// now, in the f32 row-major layout the shader reads.
    fn kci_arrays(&self, job: &KciJob, bases: &[Result<&[f32]>]) -> Result<Arrays> {
        self.scoped(|| Arrays {
            factors: job
                .factors
                .iter()
                .map(|(_, m)| {
                    self.resident(m, Role("kci factor"), || {
                        let mut v = Vec::with_capacity(m.nrows() * m.ncols());
                        rows_of(m, &mut v);
                        v
                    })
                })
                .collect(),
            bases: job
                .zparts
                .iter()
                .zip(bases)
                .map(|(z, b)| match b {
                    Ok(b) => self.resident(z, Role("kci basis"), || b.to_vec()),
                    Err(_) => None,
                })
                .collect(),
        })
    }

    /// Runs one sub-batch (one or two submits); returns (test, moments) pairs.
    fn kci_sub(
        &self,
        job: &KciJob,
        bases: &[Result<&[f32]>],
        arrays: &Arrays,
        sub: &Sub,
    ) -> Result<Vec<(usize, Result<Moments>)>> {
        let n = job.n;
        let nn = n as f64;
        let r = |f: usize| job.factors[f].1.ncols();
        let rz = |z: usize| job.zparts[z].rank();
        // mats: factors, bases (copied on the device from the job's arrays), then per pair its
        // residual M and its Va (zeros)
        let mut pieces = Vec::new();
        let mut at = 0usize;
        // each array at the next offset, copied from its device buffer when it has one
        let mut place = |ids: &[usize],
                         words: &dyn Fn(usize) -> usize,
                         src: &[Option<wgpu::Buffer>]|
         -> HashMap<usize, usize> {
            let mut off = HashMap::new();
            for &i in ids {
                off.insert(i, at);
                if let Some(src) = &src[i] {
                    pieces.push(Piece {
                        src: src.clone(),
                        at,
                        words: words(i),
                    });
                }
                at += words(i);
            }
            off
        };
        let f_off = place(
            &sub.factors,
            &|f| job.factors[f].1.nrows() * job.factors[f].1.ncols(),
            &arrays.factors,
        );
        let z_off = place(
            &sub.zs,
            &|z| bases[z].as_ref().expect("checked").len(),
            &arrays.bases,
        );
        let mut m_off = HashMap::new();
        let mut va_off = HashMap::new();
        for &(f, z) in &sub.pairs {
            m_off.insert((f, z), at);
            va_off.insert((f, z), at + n * r(f));
            at += 2 * n * r(f);
        }
        // first output: P and MᵀM per pair, Grams, then per test its cross product
        let mut o1 = 0usize;
        let mut p_off = HashMap::new();
        let mut mm_off = HashMap::new();
        for &(f, z) in &sub.pairs {
            p_off.insert((f, z), o1);
            o1 += rz(z) * r(f);
            mm_off.insert((f, z), o1);
            o1 += r(f) * r(f);
        }
        let mut g_off = HashMap::new();
        for &f in &sub.grams {
            g_off.insert(f, o1);
            o1 += r(f) * r(f);
        }
        let mut c_off = Vec::new();
        for &t in &sub.tests {
            c_off.push(o1);
            let test = &job.tests[t];
            o1 += r(test.x) * r(test.y);
        }
        let u = |v: usize| v as u32;
        let cross_task =
            |a: usize, ac: usize, b: usize, bc: usize, o: usize| [u(a), u(ac), u(b), u(bc), u(o)];
        let groups = |entries: usize| entries.div_ceil(64);
        // step 1: projections, Grams, unconditional cross products
        let mut s1 = Step {
            name: "kci cross",
            pipeline: &self.kci.cross,
            tw: 5,
            tasks: Vec::new(),
            groups: 0,
            flat: false,
        };
        for &(f, z) in &sub.pairs {
            s1.tasks.extend(cross_task(
                z_off[&z],
                rz(z),
                f_off[&f],
                r(f),
                p_off[&(f, z)],
            ));
            s1.groups = s1.groups.max(groups(rz(z) * r(f)));
        }
        for &f in &sub.grams {
            s1.tasks
                .extend(cross_task(f_off[&f], r(f), f_off[&f], r(f), g_off[&f]));
            s1.groups = s1.groups.max(groups(r(f) * r(f)));
        }
        for (i, &t) in sub.tests.iter().enumerate() {
            let test = &job.tests[t];
            if test.z.is_none() {
                let (x, y) = (test.x, test.y);
                s1.tasks
                    .extend(cross_task(f_off[&x], r(x), f_off[&y], r(y), c_off[i]));
                s1.groups = s1.groups.max(groups(r(x) * r(y)));
            }
        }
        // step 2: residuals M = L − B P
        let mut s2 = Step {
            name: "kci affine",
            pipeline: &self.kci.affine,
            tw: 7,
            tasks: Vec::new(),
            groups: 0,
            flat: false,
        };
        for &(f, z) in &sub.pairs {
            s2.tasks.extend([
                u(f_off[&f]),
                u(z_off[&z]),
                u(rz(z)),
                u(p_off[&(f, z)]),
                u(r(f)),
                u(m_off[&(f, z)]),
                (-1.0f32).to_bits(),
            ]);
            s2.groups = s2.groups.max(groups(n * r(f)));
        }
        // step 3: MᵀM per pair, MxᵀMy per conditional test
        let mut s3 = Step {
            name: "kci cross",
            pipeline: &self.kci.cross,
            tw: 5,
            tasks: Vec::new(),
            groups: 0,
            flat: false,
        };
        for &(f, z) in &sub.pairs {
            let m = m_off[&(f, z)];
            s3.tasks
                .extend(cross_task(m, r(f), m, r(f), mm_off[&(f, z)]));
            s3.groups = s3.groups.max(groups(r(f) * r(f)));
        }
        for (i, &t) in sub.tests.iter().enumerate() {
            let test = &job.tests[t];
            if let Some(z) = test.z {
                let (x, y) = (test.x, test.y);
                s3.tasks.extend(cross_task(
                    m_off[&(x, z)],
                    r(x),
                    m_off[&(y, z)],
                    r(y),
                    c_off[i],
                ));
                s3.groups = s3.groups.max(groups(r(x) * r(y)));
            }
        }
        self.check_lost()?;
        let mats_buf = self.packed("kci matrices", at, wgpu::BufferUsages::COPY_SRC)?;
        let out1 = self.rw_init("kci products", &vec![0u8; 4 * o1.max(4)])?;
        let first = self.kci_run(n, &[s1, s2, s3], &pieces, &mats_buf, &out1, 0, o1)?;
        // host: statistics, unconditional moments, kept eigenvectors per pair (the
        // eigendecompositions in parallel, rayon)
        let q_of: HashMap<(usize, usize), Result<Mat<f64>>> = sub
            .pairs
            .par_iter()
            .map(|&(f, z)| {
                let rf = r(f);
                let g = &first[mm_off[&(f, z)]..mm_off[&(f, z)] + rf * rf];
                let gm = Mat::from_fn(rf, rf, |i, j| {
                    0.5 * (g[i * rf + j] as f64 + g[j * rf + i] as f64)
                });
                ((f, z), kept_eigenvectors(&gm, job.threshold))
            })
            .collect();
        let mut results: Vec<(usize, Result<Moments>)> = Vec::new();
        let mut cond: Vec<(usize, usize, f64)> = Vec::new(); // (sub index, test, statistic)
        for (i, &t) in sub.tests.iter().enumerate() {
            let test = &job.tests[t];
            let (rx, ry) = (r(test.x), r(test.y));
            let c = &first[c_off[i]..c_off[i] + rx * ry];
            if c.iter().any(|v| !v.is_finite()) {
                return Err(gpu_err(
                    "numerics",
                    "a non-finite KCI product on the device",
                ));
            }
            let statistic = frob2_f32(c);
            match test.z {
                None => {
                    let gx = &first[g_off[&test.x]..g_off[&test.x] + rx * rx];
                    let gy = &first[g_off[&test.y]..g_off[&test.y] + ry * ry];
                    let tr = |g: &[f32], r: usize| (0..r).map(|k| g[k * r + k] as f64).sum::<f64>();
                    results.push((
                        t,
                        Ok(Moments {
                            statistic,
                            mean: tr(gx, rx) * tr(gy, ry) / nn,
                            var: 2.0 * frob2_f32(gx) * frob2_f32(gy) / (nn * nn),
                        }),
                    ));
                }
                Some(z) => {
                    let bad = [(test.x, z), (test.y, z)]
                        .iter()
                        .find_map(|k| q_of[k].as_ref().err().map(|e| e.to_string()));
                    match bad {
                        Some(e) => results.push((t, Err(crate::error::Error::param("kernel", e)))),
                        None => cond.push((i, t, statistic)),
                    }
                }
            }
        }
        if cond.is_empty() {
            return Ok(results);
        }
        // second submit: Va = M Q, Hadamard sums, per conditional test
        let mut out2: Vec<f32> = Vec::new();
        let mut q_off = HashMap::new();
        let mut ra_of = HashMap::new();
        for (&k, q) in &q_of {
            if let Ok(q) = q {
                q_off.insert(k, out2.len());
                ra_of.insert(k, q.ncols());
                rows_of(q, &mut out2);
            }
        }
        let mut s4 = Step {
            name: "kci affine",
            pipeline: &self.kci.affine,
            tw: 7,
            tasks: Vec::new(),
            groups: 0,
            flat: false,
        };
        let mut needed: Vec<(usize, usize)> = Vec::new();
        for &(_, t, _) in &cond {
            let test = &job.tests[t];
            let z = test.z.expect("conditional");
            for k in [(test.x, z), (test.y, z)] {
                if !needed.contains(&k) {
                    needed.push(k);
                }
            }
        }
        for &k in &needed {
            s4.tasks.extend([
                NONE,
                u(m_off[&k]),
                u(r(k.0)),
                u(q_off[&k]),
                u(ra_of[&k]),
                u(va_off[&k]),
                1.0f32.to_bits(),
            ]);
            s4.groups = s4.groups.max(groups(n * ra_of[&k]));
        }
        let mut s5 = Step {
            name: "kci hadamard",
            pipeline: &self.kci.hadamard,
            tw: 5,
            tasks: Vec::new(),
            groups: 0,
            flat: false,
        };
        let mut s5r = Step {
            name: "kci hadamard_rows",
            pipeline: &self.kci.hadamard_rows,
            tw: 5,
            tasks: Vec::new(),
            groups: 0,
            flat: false,
        };
        let mut s6 = Step {
            name: "kci finish",
            pipeline: &self.kci.finish,
            tw: 3,
            tasks: Vec::new(),
            groups: cond.len(),
            flat: true,
        };
        let mut parts = Vec::new();
        for &(_, t, _) in &cond {
            let test = &job.tests[t];
            let z = test.z.expect("conditional");
            let (kx, ky) = ((test.x, z), (test.y, z));
            let (ra, rb) = (ra_of[&kx], ra_of[&ky]);
            let route = route(n, ra, rb);
            let g = route.groups;
            parts.push((out2.len(), g));
            let step = if route.rows { &mut s5r } else { &mut s5 };
            step.tasks
                .extend([u(va_off[&kx]), u(ra), u(va_off[&ky]), u(rb), u(out2.len())]);
            step.groups = step.groups.max(g);
            out2.resize(out2.len() + 2 * g, 0.0);
        }
        let res0 = out2.len();
        for (j, &(p0, g)) in parts.iter().enumerate() {
            s6.tasks.extend([u(p0), u(g), u(res0 + 2 * j)]);
        }
        out2.resize(res0 + 2 * cond.len(), 0.0);
        let out2_buf = self.rw_init("kci moments", bytemuck::cast_slice(&out2))?;
        let second = self.kci_run(
            n,
            &[s4, s5, s5r, s6],
            &[],
            &mats_buf,
            &out2_buf,
            res0,
            2 * cond.len(),
        )?;
        for (j, &(_, t, statistic)) in cond.iter().enumerate() {
            let (mean, tr2) = (second[2 * j] as f64, second[2 * j + 1] as f64);
            if !(mean.is_finite() && tr2.is_finite()) {
                return Err(gpu_err("numerics", "a non-finite KCI moment on the device"));
            }
            results.push((
                t,
                Ok(Moments {
                    statistic,
                    mean,
                    var: 2.0 * tr2,
                }),
            ));
        }
        Ok(results)
    }

    /// A read-write storage buffer (copyable) with these contents, within one binding.
    fn rw_init(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
        self.storage_as(
            label,
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )
    }

    /// Records the copies of `pieces` into `mats`, then `steps` (in order) on `mats` and `out`,
    /// submits once and reads back `out[from .. from + words]`.
    #[allow(clippy::too_many_arguments)]
    fn kci_run(
        &self,
        n: usize,
        steps: &[Step],
        pieces: &[Piece],
        mats: &wgpu::Buffer,
        out: &wgpu::Buffer,
        from: usize,
        words: usize,
    ) -> Result<Vec<f32>> {
        let scopes = self.scopes();
        let mut all_tasks: Vec<u32> = Vec::new();
        let mut bases = Vec::new();
        for s in steps {
            bases.push(all_tasks.len());
            all_tasks.extend_from_slice(&s.tasks);
        }
        let tasks = self.storage("kci tasks", bytemuck::cast_slice(&all_tasks))?;
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("kci") });
        copy_pieces(&mut enc, mats, pieces);
        let mut binds = Vec::new();
        let mut dispatches = Vec::new();
        for (s, &base) in steps.iter().zip(&bases) {
            let count = s.tasks.len() / s.tw;
            if count == 0 || s.groups == 0 {
                continue;
            }
            let (x, y) = grid(s.groups);
            let params = Params {
                n: n as u32,
                row: x,
                base: base as u32,
                tw: s.tw as u32,
                count: count as u32,
                pad: [0; 3],
            };
            let uniform = self.uniform(bytemuck::bytes_of(&params));
            let buffers = [&uniform, &tasks, mats, out];
            let entries: Vec<wgpu::BindGroupEntry> = buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: i as u32,
                    resource: b.as_entire_binding(),
                })
                .collect();
            binds.push(self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("kci"),
                layout: &self.kci.layout,
                entries: &entries,
            }));
            dispatches.push((
                s.name,
                s.pipeline,
                if s.flat {
                    (x, y, 1)
                } else {
                    (x, y, count as u32)
                },
            ));
        }
        // one pass per step, so that a profile times each kernel
        for ((name, pipeline, g), bind) in dispatches.iter().zip(&binds) {
            self.pass(&mut enc, name, 1, |pass| {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, bind, &[]);
                pass.dispatch_workgroups(g.0, g.1, g.2);
            });
        }
        let bytes = 4 * words.max(1) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("kci staging"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        enc.copy_buffer_to_buffer(out, 4 * from as u64, &staging, 0, bytes);
        let v = self.submit_and_read(enc, scopes, &staging, words)?;
        Ok(v.into_iter().map(f32::from_bits).collect())
    }
}
