//! The GPU backend: wgpu compute shaders.
//!
//! One device and queue per engine; the bind-group layout and the three pipelines (`sums`,
//! `quantile`, `draws`) are built once. A job uploads its data once, then runs in batches of
//! replicates: one submit and one readback per batch (a batch may hold several dispatches, in
//! order). Batches are sized so the output stays within `max_storage_buffer_binding_size` and a
//! dispatch within 65 535 workgroups per dimension. Large inputs are chunked rather than refused:
//! the feature table is split into pages of at most one binding each, four bound at a time, and a
//! table of more pages is summed in several passes over unit ranges (each pass regenerates the
//! same draws and adds those whose unit its pages hold); more than 65 535 chunks of draws per
//! replicate (~1.07e9 draws) run as several dispatches; quantiles count resampled rows exactly in
//! u32 (Bayesian weights in f32) and search ranks in short dispatches, one workgroup per chunk of
//! draws. Every wgpu failure (validation, out of memory, device lost, mapping) is caught with
//! error scopes and returned as [`Error::Gpu`].
//!
//! What still refuses (`Error::Gpu { kind: "limits" }`): segments/ranks of a quantile job larger
//! than one binding (more than `max_binding / 4` rows), Bayesian-weight quantiles of 2^24 − 2^16
//! rows or more (f32 sums no longer resolve one rank), integer-weight resamples of 2^31 rows or
//! more, and an output batch of one replicate larger than one binding (e.g. `draws` of more than
//! `max_binding / 4` positions).
//!
//! The kernel tests (RCoT/RCIT/RIT, KCI/HSIC gamma) keep their per-variable arrays on the device
//! across jobs in a small LRU cache keyed by the host `Arc`s that hold them (`cache.rs`).

mod cache;
mod kci;
mod rff;

pub use cache::GpuCacheStats;

use super::{
    HsicJob, KciJob, Kernels, PcorJob, ProgressFn, QuantileJob, QuantilePick, RffJob, SampleJob,
    SettingStats, SumsJob, SweepJob,
};
use crate::bootstrap::plan::{PlanKind, ResamplePlan, RUN};
use crate::error::{Error, Result};
use crate::rng::POISSON1_THRESHOLDS;
use crate::scm::{SweepProgram, PRIVATE_SLOTS};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

const WG: u32 = 256;
/// Largest feature count the sums shader accumulates (`MAXK` in `shaders/sums.wgsl`).
pub(crate) const MAX_K: usize = 32;
const PAGES: usize = 4;
const MAX_DISPATCH: u32 = 65_535;
/// Draws per batch, so long runs report progress and no single submit runs for long.
const DRAWS_PER_BATCH: u64 = 1 << 28;

const PHILOX: &str = include_str!("../../../shaders/philox.wgsl");
const RESAMPLE: &str = include_str!("../../../shaders/resample.wgsl");
const SUMS: &str = include_str!("../../../shaders/sums.wgsl");
const QUANTILE: &str = include_str!("../../../shaders/quantile.wgsl");
const DRAWS: &str = include_str!("../../../shaders/draws.wgsl");
const HSIC: &str = include_str!("../../../shaders/hsic.wgsl");
const PCOR: &str = include_str!("../../../shaders/pcor.wgsl");
const SWEEP: &str = include_str!("../../../shaders/sweep.wgsl");
const RFF: &str = include_str!("../../../shaders/rff.wgsl");
const KCI: &str = include_str!("../../../shaders/kci.wgsl");

/// The WGSL of one kernel family, as compiled: Philox (with the Poisson table filled in from
/// [`POISSON1_THRESHOLDS`]) + the shared generator + the kernel. Public for the shader tests.
pub fn shader_source(kernel: &str) -> Option<String> {
    let body = match kernel {
        "sums" => SUMS,
        "quantile" => QUANTILE,
        "draws" => DRAWS,
        "hsic" => return Some(format!("{}\n{HSIC}", philox())),
        "pcor" => return Some(PCOR.to_string()),
        "rff" => return Some(RFF.to_string()),
        "kci" => return Some(KCI.to_string()),
        "sweep" => return Some(format!("{}\n{SWEEP}", philox())),
        "sweep-wide" => return Some(sweep_wide(&format!("{}\n{SWEEP}", philox()))),
        _ => return None,
    };
    Some(format!("{}\n{RESAMPLE}\n{body}", philox()))
}

/// `shaders/philox.wgsl` with the Poisson table filled in.
fn philox() -> String {
    let mut philox = PHILOX.to_string();
    for (i, t) in POISSON1_THRESHOLDS.iter().enumerate().rev() {
        philox = philox.replace(&format!("POISSON_T{i}"), &format!("{t}u"));
    }
    philox
}

/// The `sweep-wide` variant of the sweep shader: the private array of value slots becomes the
/// storage buffer `scratch`, `P.slots` words per thread from `vbase` (for programs with more
/// than [`PRIVATE_SLOTS`] slots).
fn sweep_wide(src: &str) -> String {
    let decl = "    var vals: array<f32, MAXN>;\n";
    assert!(src.contains(decl), "sweep.wgsl declares its value slots");
    src.replace(decl, "").replace("vals[", "scratch[vbase + ")
}

/// Names of the kernel families (for [`shader_source`]).
pub const KERNELS: [&str; 9] = [
    "sums",
    "quantile",
    "draws",
    "hsic",
    "pcor",
    "sweep",
    "sweep-wide",
    "rff",
    "kci",
];

/// Options for [`crate::Engine::gpu_with`].
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Pretend bindings may hold at most this many bytes (to exercise chunking on small data).
    pub max_binding_bytes: Option<u64>,
    /// Pretend the bootstrap kernels (sums, quantiles, draws) may dispatch at most this many
    /// workgroups per dimension (to exercise split dispatches on small data; the device's own
    /// limit, at most 65 535, applies regardless).
    pub max_workgroups_per_dimension: Option<u32>,
    /// Prefer a software adapter (lavapipe) even when a hardware one exists.
    pub prefer_software: bool,
    /// On a GPU failure, rerun on the CPU and record why (what [`crate::Engine::auto`] does).
    pub cpu_fallback: bool,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    units: u32,
    draws: u32,
    k: u32,
    scheme: u32,
    block_len: u32,
    coin_thr: u32,
    key0: u32,
    key1: u32,
    tag: u32,
    rep_offset: u32,
    n_strata: u32,
    page_units: u32,
    n_ranks: u32,
    normalize: u32,
    q: f32,
    implicit_count: u32,
    unit_lo: u32,
    unit_hi: u32,
    chunk_offset: u32,
    out_base: u32,
    phase: u32,
    _pad: [u32; 3],
}

/// A resampling job's inputs on the device: the feature pages (each within one binding; [`PAGES`]
/// of them are bound per pass), strata, unit segments and ranks, and the job's parameters.
struct Upload {
    pages: Vec<wgpu::Buffer>,
    /// Bound in place of the pages a pass lacks.
    empty: wgpu::Buffer,
    strata: wgpu::Buffer,
    seg: wgpu::Buffer,
    ranks: wgpu::Buffer,
    params: Params,
}

impl Upload {
    /// Passes over the feature table: one per [`PAGES`] pages (at least one).
    fn passes(&self) -> usize {
        self.pages.len().div_ceil(PAGES).max(1)
    }

    /// The units whose features pass `p` binds.
    fn units(&self, p: usize) -> Range<u32> {
        let span = PAGES as u64 * self.params.page_units as u64;
        let units = self.params.units as u64;
        (units.min(p as u64 * span) as u32)..(units.min((p as u64 + 1) * span) as u32)
    }

    /// Bindings 1–7 of pass `p`: its four pages, strata, segments, ranks.
    fn inputs(&self, p: usize) -> Vec<&wgpu::Buffer> {
        let mut v: Vec<&wgpu::Buffer> = (0..PAGES)
            .map(|i| self.pages.get(p * PAGES + i).unwrap_or(&self.empty))
            .collect();
        v.extend([&self.strata, &self.seg, &self.ranks]);
        v
    }
}

/// One dispatch of a batch: its parameters, bindings 1..=7 and workgroup grid.
type Step<'a> = (Params, Vec<&'a wgpu::Buffer>, (u32, u32));

/// One dispatch of [`GpuBackend::dispatch_steps`]: uniform bytes, input bindings, workgroup grid.
type RawStep<'a> = (&'a [u8], &'a [&'a wgpu::Buffer], (u32, u32));

/// A wgpu device with the ceteris pipelines.
pub(crate) struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    max_binding: u64,
    /// Workgroups per dispatch dimension for the bootstrap kernels.
    max_dispatch: u32,
    layout: wgpu::BindGroupLayout,
    sums: wgpu::ComputePipeline,
    quantile: wgpu::ComputePipeline,
    draws: wgpu::ComputePipeline,
    kat: wgpu::ComputePipeline,
    hsic_layout: wgpu::BindGroupLayout,
    hsic: wgpu::ComputePipeline,
    /// Spectral-null draws (the `hsic` layout: the weights at binding 1).
    chi2mix: wgpu::ComputePipeline,
    /// HSIC permutations generated on the device (uniform + one read-write buffer).
    perm_layout: wgpu::BindGroupLayout,
    hsic_perm: wgpu::ComputePipeline,
    /// Fisher-z partial correlations (the same layout as `hsic`: three read inputs).
    pcor: wgpu::ComputePipeline,
    /// The sweep layout: uniform, nodes, program and plan (read), value slots and output
    /// (read-write).
    sweep_layout: wgpu::BindGroupLayout,
    /// Sweep moments, sweep outcome samples and joint samples, with value slots in a private
    /// array ([`PRIVATE_SLOTS`]) and in the storage buffer (`sweep-wide`, built when a model
    /// first needs it).
    sweep: SweepPipelines,
    sweep_wide: std::sync::OnceLock<SweepPipelines>,
    /// RCoT/RCIT/RIT moments (`shaders/rff.wgsl`).
    rff: rff::Pipelines,
    /// KCI products and moments (`shaders/kci.wgsl`).
    kci: kci::Pipelines,
    /// Per-variable arrays of the kernel tests kept on the device across jobs (`cache.rs`).
    cache: Mutex<cache::DeviceCache<wgpu::Buffer>>,
    lost: Arc<Mutex<Option<String>>>,
}

/// The entry points of `shaders/sweep.wgsl` in one of its variants.
struct SweepPipelines {
    moments: wgpu::ComputePipeline,
    values: wgpu::ComputePipeline,
    rows: wgpu::ComputePipeline,
}

impl SweepPipelines {
    fn new(device: &wgpu::Device, layout: &wgpu::BindGroupLayout, kernel: &str) -> Self {
        let src = shader_source(kernel).expect("known kernel");
        let [moments, values, rows] = compute_pipelines(
            device,
            kernel,
            layout,
            &src,
            ["sweep", "sweep_values", "sample_rows"],
        );
        SweepPipelines {
            moments,
            values,
            rows,
        }
    }
}

/// Whether an adapter is a software rasteriser (lavapipe, llvmpipe, WARP, SwiftShader).
fn is_software(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
}

/// Compute pipelines for the entry points of one WGSL source sharing one bind-group layout.
fn compute_pipelines<const N: usize>(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    source: &str,
    entries: [&str; N],
) -> [wgpu::ComputePipeline; N] {
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    entries.map(|entry| {
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&pl),
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        })
    })
}

fn gpu_err(kind: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Gpu {
        kind,
        message: e.to_string(),
    }
}

impl GpuBackend {
    /// Opens a device. `hardware_only` refuses software adapters (what `Engine::auto` wants).
    pub fn new(hardware_only: bool, opts: &GpuOptions) -> Result<Self> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        // Vulkan/Metal/DX12 before GL; hardware before software unless asked otherwise.
        adapters.sort_by_key(|a| {
            let info = a.get_info();
            let soft = is_software(&info) != opts.prefer_software;
            (soft, info.backend == wgpu::Backend::Gl)
        });
        let names: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
            })
            .collect();
        let adapter = adapters
            .into_iter()
            .find(|a| !hardware_only || !is_software(&a.get_info()))
            .ok_or_else(|| {
                Error::NoAdapter(if names.is_empty() {
                    "no adapter found (is a Vulkan driver installed? lavapipe: apt-get install mesa-vulkan-drivers libvulkan1)".into()
                } else {
                    format!("only software adapters found ({})", names.join("; "))
                })
            })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        if limits.max_storage_buffers_per_shader_stage < 8 {
            return Err(gpu_err(
                "limits",
                format!(
                    "{} allows {} storage buffers per stage, 8 needed",
                    info.name, limits.max_storage_buffers_per_shader_stage
                ),
            ));
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("ceteris"),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| gpu_err("device", e))?;
        let lost = Arc::new(Mutex::new(None));
        {
            let lost = lost.clone();
            device.set_device_lost_callback(move |reason, msg| {
                *lost.lock().unwrap() = Some(format!("{reason:?}: {msg}"));
            });
        }
        device.on_uncaptured_error(Arc::new(|e| log::error!("uncaptured wgpu error: {e}")));

        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let mut entries = vec![wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        }];
        entries.extend((1..8).map(|b| storage(b, true)));
        entries.push(storage(8, false));
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("ceteris resample"),
            entries: &entries,
        });
        let pipeline = |kernel: &str| {
            let file = if kernel == "kat" { "draws" } else { kernel };
            let src = shader_source(file).expect("known kernel");
            let [p] = compute_pipelines(&device, kernel, &layout, &src, [kernel]);
            p
        };
        let (sums, quantile, draws) = (pipeline("sums"), pipeline("quantile"), pipeline("draws"));
        let kat = pipeline("kat");
        let mut hsic_entries = vec![entries[0]];
        hsic_entries.extend((1..4).map(|b| storage(b, true)));
        hsic_entries.push(storage(4, false));
        let hsic_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("ceteris hsic"),
            entries: &hsic_entries,
        });
        let hsic_src = shader_source("hsic").expect("known kernel");
        let [hsic, chi2mix] = compute_pipelines(
            &device,
            "hsic",
            &hsic_layout,
            &hsic_src,
            ["hsic_cross", "chi2mix"],
        );
        // the permutation generator: the uniform and one read-write buffer at binding 5
        let perm_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("ceteris hsic permutations"),
            entries: &[entries[0], storage(5, false)],
        });
        let [hsic_perm] =
            compute_pipelines(&device, "hsic_perm", &perm_layout, &hsic_src, ["hsic_perm"]);
        let [pcor] = compute_pipelines(&device, "pcor", &hsic_layout, PCOR, ["pcor"]);
        let mut sweep_entries = hsic_entries[..4].to_vec();
        sweep_entries.extend([storage(4, false), storage(5, false)]);
        let sweep_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("ceteris sweep"),
            entries: &sweep_entries,
        });
        let sweep = SweepPipelines::new(&device, &sweep_layout, "sweep");
        let rff = rff::Pipelines::new(&device);
        let kci = kci::Pipelines::new(&device);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err("validation", e));
        }
        let max_binding = opts
            .max_binding_bytes
            .unwrap_or(u64::MAX)
            .min(limits.max_storage_buffer_binding_size)
            .min(limits.max_buffer_size);
        let max_dispatch = opts
            .max_workgroups_per_dimension
            .unwrap_or(MAX_DISPATCH)
            .min(MAX_DISPATCH)
            .min(limits.max_compute_workgroups_per_dimension)
            .max(1);
        let cache_cap = Self::cache_cap(&limits);
        Ok(GpuBackend {
            device,
            queue,
            info,
            max_binding,
            max_dispatch,
            layout,
            sums,
            quantile,
            draws,
            kat,
            hsic_layout,
            hsic,
            perm_layout,
            hsic_perm,
            chi2mix,
            pcor,
            sweep_layout,
            sweep,
            sweep_wide: std::sync::OnceLock::new(),
            rff,
            kci,
            cache: Mutex::new(cache::DeviceCache::new(cache_cap)),
            lost,
        })
    }

    /// Adapter name, backend, device type and the limits that matter.
    pub fn describe(&self) -> String {
        format!(
            "gpu: {} ({:?}, {:?}); max storage binding {}, max workgroups/dim {}",
            self.info.name,
            self.info.backend,
            self.info.device_type,
            if self.max_binding >= 1 << 20 {
                format!("{} MiB", self.max_binding >> 20)
            } else {
                format!("{} KiB", self.max_binding >> 10)
            },
            self.max_dispatch
        )
    }

    /// One Philox block computed on the device (known-answer tests).
    pub fn philox_block(&self, ctr: [u32; 4], key: [u32; 2]) -> Result<[u32; 4]> {
        let plan = ResamplePlan {
            units: 1,
            kind: PlanKind::Strata {
                offsets: ctr.to_vec(),
            },
            stream: crate::rng::Stream::new(key[0] as u64 | (key[1] as u64) << 32, 0),
        };
        let up = self.upload(&plan, 0, None, &[], &[])?;
        let w = self.run_steps(&self.kat, &[(up.params, up.inputs(0), (1, 1))], 4)?;
        Ok([w[0], w[1], w[2], w[3]])
    }

    /// Whether the adapter is a software rasteriser.
    pub fn is_software(&self) -> bool {
        is_software(&self.info)
    }

    fn check_lost(&self) -> Result<()> {
        match self.lost.lock().unwrap().clone() {
            Some(m) => Err(gpu_err("device-lost", m)),
            None => Ok(()),
        }
    }

    fn storage(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
        let contents: &[u8] = if bytes.is_empty() { &[0u8; 16] } else { bytes };
        if contents.len() as u64 > self.max_binding {
            return Err(gpu_err(
                "limits",
                format!(
                    "`{label}` needs {} bytes, more than one binding may hold ({})",
                    contents.len(),
                    self.max_binding
                ),
            ));
        }
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: wgpu::BufferUsages::STORAGE,
            }))
    }

    /// Uploads the job's shared inputs (feature pages, strata, segments, ranks). The feature table
    /// is split into pages of whole units, each within one binding; a table of more than
    /// [`PAGES`] pages is summed in several passes ([`Upload::passes`]).
    fn upload(
        &self,
        plan: &ResamplePlan,
        k: usize,
        features: Option<&[f64]>,
        seg: &[u32],
        ranks: &[u32],
    ) -> Result<Upload> {
        let units = plan.units as usize;
        let page_units = if k == 0 {
            units.max(1)
        } else {
            ((self.max_binding / (4 * k as u64)) as usize).clamp(1, units.max(1))
        };
        let n_pages = units.div_ceil(page_units).max(1);
        let mut pages = Vec::with_capacity(n_pages);
        if let Some(f) = features {
            for p in 0..n_pages {
                let lo = (p * page_units * k).min(f.len());
                let hi = ((p + 1) * page_units * k).min(f.len());
                let data: Vec<f32> = f[lo..hi].iter().map(|&v| v as f32).collect();
                pages.push(self.storage("features", bytemuck::cast_slice(&data))?);
            }
        }
        let (strata, n_strata) = match &plan.kind {
            PlanKind::Strata { offsets } => (offsets.clone(), offsets.len() as u32 - 1),
            _ => (Vec::new(), 0),
        };
        let (block_len, coin_thr) = match plan.kind {
            PlanKind::MovingBlock { len } | PlanKind::CircularBlock { len } => (len, 0),
            PlanKind::Stationary { coin_thr } => (1, coin_thr),
            _ => (1, 0),
        };
        let key = plan.stream.key();
        let params = Params {
            units: plan.units,
            draws: plan.draws(),
            k: k as u32,
            scheme: plan.code(),
            block_len,
            coin_thr,
            key0: key[0],
            key1: key[1],
            tag: plan.stream.tag(),
            rep_offset: 0,
            n_strata,
            page_units: page_units as u32,
            n_ranks: 0,
            normalize: 0,
            q: 0.0,
            implicit_count: 0,
            unit_lo: 0,
            unit_hi: plan.units,
            chunk_offset: 0,
            out_base: 0,
            phase: 0,
            _pad: [0; 3],
        };
        Ok(Upload {
            pages,
            empty: self.storage("features", &[])?,
            strata: self.storage("strata", bytemuck::cast_slice(&strata))?,
            seg: self.storage("segments", bytemuck::cast_slice(seg))?,
            ranks: self.storage("ranks", bytemuck::cast_slice(ranks))?,
            params,
        })
    }

    /// Runs one batch of resampling dispatches (`steps`, in order, sharing one output buffer):
    /// one submit, one readback of `out_words`.
    fn run_steps(
        &self,
        pipeline: &wgpu::ComputePipeline,
        steps: &[Step],
        out_words: usize,
    ) -> Result<Vec<u32>> {
        let steps: Vec<RawStep> = steps
            .iter()
            .map(|(params, inputs, groups)| (bytemuck::bytes_of(params), &inputs[..], *groups))
            .collect();
        self.dispatch_steps(pipeline, &self.layout, &steps, out_words)
    }

    /// One dispatch with `layout`: binding 0 the uniform, then `inputs`, then the output; one
    /// submit, one readback of `out_words` words.
    fn dispatch_once(
        &self,
        pipeline: &wgpu::ComputePipeline,
        layout: &wgpu::BindGroupLayout,
        uniform_bytes: &[u8],
        inputs: &[&wgpu::Buffer],
        groups: (u32, u32),
        out_words: usize,
    ) -> Result<Vec<u32>> {
        self.dispatch_steps(
            pipeline,
            layout,
            &[(uniform_bytes, inputs, groups)],
            out_words,
        )
    }

    /// Dispatches with `layout`, in order (one compute pass each), all writing one output buffer:
    /// each step's binding 0 is its uniform, then its `inputs`, then the shared output; one
    /// submit, one readback of `out_words` words.
    fn dispatch_steps(
        &self,
        pipeline: &wgpu::ComputePipeline,
        layout: &wgpu::BindGroupLayout,
        steps: &[RawStep],
        out_words: usize,
    ) -> Result<Vec<u32>> {
        self.check_lost()?;
        let out_bytes = (out_words.max(4) * 4) as u64;
        if out_bytes > self.max_binding {
            return Err(gpu_err("limits", "output batch larger than one binding"));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: out_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: out_bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let binds: Vec<(wgpu::BindGroup, (u32, u32))> = steps
            .iter()
            .map(|&(uniform_bytes, inputs, groups)| {
                let uniform = self
                    .device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("params"),
                        contents: uniform_bytes,
                        usage: wgpu::BufferUsages::UNIFORM,
                    });
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                }];
                for (i, b) in inputs.iter().enumerate() {
                    entries.push(wgpu::BindGroupEntry {
                        binding: i as u32 + 1,
                        resource: b.as_entire_binding(),
                    });
                }
                entries.push(wgpu::BindGroupEntry {
                    binding: inputs.len() as u32 + 1,
                    resource: out.as_entire_binding(),
                });
                let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("batch"),
                    layout,
                    entries: &entries,
                });
                (bind, groups)
            })
            .collect();
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        // one compute pass per step: a step may read what the one before wrote
        for (bind, groups) in &binds {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bind, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, 1);
        }
        enc.copy_buffer_to_buffer(&out, 0, &staging, 0, out_bytes);
        self.submit_and_read(enc, (oom, val), &staging, out_words)
    }

    /// One batch of HSIC permutations (`params` = the shader's `HsicParams`): the device draws
    /// the permutations into a device buffer (`hsic_perm`), then, given the factors and their
    /// column pairs, the cross moments (`hsic_cross`) read them; one submit, one readback of
    /// `perms × pairs` words (without factors: of the `perms × n` permutation indices).
    fn hsic_batch(
        &self,
        params: [u32; 8],
        cross: Option<(&wgpu::Buffer, &wgpu::Buffer, usize)>,
    ) -> Result<Vec<u32>> {
        self.check_lost()?;
        let (n, count) = (params[0] as usize, params[3] as usize);
        let words = match cross {
            Some((_, _, pairs)) => count * pairs,
            None => count * n,
        };
        let out_bytes = (words.max(4) * 4) as u64;
        let perm_bytes = (count * n).max(4) as u64 * 4;
        if out_bytes > self.max_binding || perm_bytes > self.max_binding {
            return Err(gpu_err(
                "limits",
                "a permutation batch larger than one binding",
            ));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let val = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let uniform = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("hsic params"),
                contents: bytemuck::cast_slice(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        let perm = buffer(
            "permutations",
            perm_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let out = buffer(
            "cross",
            out_bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        );
        let staging = buffer(
            "staging",
            out_bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let bind = |layout: &wgpu::BindGroupLayout, entries: &[(u32, &wgpu::Buffer)]| {
            let entries: Vec<wgpu::BindGroupEntry> = entries
                .iter()
                .map(|&(binding, b)| wgpu::BindGroupEntry {
                    binding,
                    resource: b.as_entire_binding(),
                })
                .collect();
            self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("hsic"),
                layout,
                entries: &entries,
            })
        };
        let mut steps = vec![(
            &self.hsic_perm,
            bind(&self.perm_layout, &[(0, &uniform), (5, &perm)]),
            ((count as u32).div_ceil(64), 1),
        )];
        if let Some((lx, ly, pairs)) = cross {
            steps.push((
                &self.hsic,
                bind(
                    &self.hsic_layout,
                    &[(0, &uniform), (1, lx), (2, ly), (3, &perm), (4, &out)],
                ),
                (pairs as u32, count as u32),
            ));
        }
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        for (pipeline, group, grid) in &steps {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, group, &[]);
            pass.dispatch_workgroups(grid.0, grid.1, 1);
        }
        let src = if cross.is_some() { &out } else { &perm };
        enc.copy_buffer_to_buffer(src, 0, &staging, 0, out_bytes);
        self.submit_and_read(enc, (oom, val), &staging, words)
    }

    /// Submits `enc`, turns what the error scopes `(out-of-memory, validation)` caught into
    /// [`Error::Gpu`], waits for the device and returns the first `words` 32-bit words of
    /// `staging` (which `enc` fills).
    fn submit_and_read(
        &self,
        enc: wgpu::CommandEncoder,
        (oom, val): (wgpu::ErrorScopeGuard, wgpu::ErrorScopeGuard),
        staging: &wgpu::Buffer,
        words: usize,
    ) -> Result<Vec<u32>> {
        self.queue.submit([enc.finish()]);
        if let Some(e) = pollster::block_on(val.pop()) {
            return Err(gpu_err("validation", e));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err("out-of-memory", e));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| gpu_err("device-lost", e))?;
        self.check_lost()?;
        rx.recv()
            .map_err(|e| gpu_err("map", e))?
            .map_err(|e| gpu_err("map", e))?;
        let out = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| gpu_err("map", e))?;
            bytemuck::cast_slice::<u8, u32>(&view)[..words].to_vec()
        };
        staging.unmap();
        Ok(out)
    }

    /// Sums of more than [`MAX_K`] features per row (e.g. OLS with many covariates): the features
    /// are split into column groups of at most `MAX_K` (the implicit count goes with the last
    /// group), each group is one sums job over the same replicates (the same draws, regenerated
    /// from their counters), and the groups' sums are interleaved back into feature order.
    fn sums_in_groups(
        &self,
        job: &SumsJob,
        reps: Range<u32>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<f64>> {
        let (k, kk) = (job.k, job.outputs());
        let units = job.features.len() / k.max(1);
        let groups: Vec<Range<usize>> = (0..k)
            .step_by(MAX_K - 1)
            .map(|a| a..(a + MAX_K - 1).min(k))
            .collect();
        let mut out = vec![0.0; reps.len() * kk];
        for (g, cols) in groups.iter().enumerate() {
            let last = g + 1 == groups.len();
            let features: Vec<f64> = job
                .features
                .chunks_exact(k)
                .flat_map(|row| row[cols.clone()].iter().copied())
                .collect();
            debug_assert_eq!(features.len(), units * cols.len());
            let part = SumsJob {
                plan: job.plan,
                k: cols.len(),
                features: &features,
                implicit_count: last && job.implicit_count,
            };
            let width = part.outputs();
            let sums =
                self.resample_sums(&part, reps.clone(), if last { progress } else { None })?;
            for (r, row) in sums.chunks_exact(width).enumerate() {
                out[r * kk + cols.start..r * kk + cols.end].copy_from_slice(&row[..cols.len()]);
                if part.implicit_count {
                    out[r * kk + k] = row[cols.len()];
                }
            }
        }
        Ok(out)
    }

    /// Replicate batches of the bootstrap kernels: at most `per_batch` replicates, and at most
    /// the dispatch limit.
    fn batches(&self, reps: Range<u32>, per_batch: u64) -> impl Iterator<Item = Range<u32>> {
        batches(reps, per_batch.min(self.max_dispatch as u64))
    }

    /// Chunks `range` (of [`CHUNK`] positions each) into dispatches of at most the dispatch
    /// limit: a range of more than 65 535 chunks (about 1.07e9 draws per replicate) runs as
    /// several dispatches, each told its first chunk (`chunk_offset`).
    fn split(&self, range: Range<u32>) -> impl Iterator<Item = Range<u32>> {
        let step = self.max_dispatch;
        (range.start..range.end)
            .step_by(step as usize)
            .map(move |a| a..a.saturating_add(step).min(range.end))
    }
}

impl GpuBackend {
    /// The sweep pipelines for `program` and the words of `scratch` one thread needs (0 when
    /// its value slots fit the private array).
    fn sweep_variant(&self, program: &SweepProgram) -> (&SweepPipelines, u64) {
        if program.slots <= PRIVATE_SLOTS {
            (&self.sweep, 0)
        } else {
            let wide = self.sweep_wide.get_or_init(|| {
                SweepPipelines::new(&self.device, &self.sweep_layout, "sweep-wide")
            });
            (wide, program.slots as u64)
        }
    }

    /// A device-only read-write buffer of `words` 32-bit words (at least 4): the value slots
    /// of the `sweep-wide` variant.
    fn scratch(&self, words: u64) -> Result<wgpu::Buffer> {
        let bytes = 4 * words.max(4);
        if bytes > self.max_binding {
            return Err(gpu_err(
                "limits",
                format!(
                    "value slots of {bytes} bytes, more than one binding may hold ({})",
                    self.max_binding
                ),
            ));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sweep value slots"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err("out-of-memory", e));
        }
        Ok(buffer)
    }

    /// The `limits` error of a model whose value slots for one workgroup exceed a binding.
    fn too_wide(&self, m: usize, slots: u64) -> Error {
        gpu_err(
            "limits",
            format!(
                "{m} nodes need {slots} value slots per sample: {WG} samples' slots exceed one \
                 binding ({} bytes)",
                self.max_binding
            ),
        )
    }
}

/// Batches of at most `per_batch` (and `MAX_DISPATCH`) of `reps`.
fn batches(reps: Range<u32>, per_batch: u64) -> impl Iterator<Item = Range<u32>> {
    let step = per_batch.clamp(1, MAX_DISPATCH as u64) as u32;
    let mut lo = reps.start;
    std::iter::from_fn(move || {
        if lo >= reps.end {
            return None;
        }
        let hi = lo.saturating_add(step).min(reps.end);
        let r = lo..hi;
        lo = hi;
        Some(r)
    })
}

/// Words of per-replicate state of the quantile kernel (`STATE` in `shaders/quantile.wgsl`).
const QUANTILE_STATE: usize = 10;

/// Positions per chunk (one workgroup of the sums and draws kernels).
const CHUNK: u32 = WG * RUN;

/// The chunks covering positions `lo..hi` (at least one).
fn chunk_range(lo: u32, hi: u32) -> Range<u32> {
    let a = lo / CHUNK;
    a..hi.div_ceil(CHUNK).max(a + 1)
}

impl Kernels for GpuBackend {
    fn resample_sums(
        &self,
        job: &SumsJob,
        reps: Range<u32>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<f64>> {
        let k = job.k;
        let kk = job.outputs();
        if kk > MAX_K {
            return self.sums_in_groups(job, reps, progress);
        }
        let mut up = self.upload(job.plan, k, Some(job.features), &[], &[])?;
        up.params.implicit_count = job.implicit_count as u32;
        let draws = job.plan.draws();
        // One pass per PAGES pages of features, each over the units its pages hold: index schemes
        // draw any unit at any position, so every pass regenerates all the draws; weight schemes
        // draw unit t at position t, so a pass runs only the chunks of its units. Each pass's
        // chunks are split into dispatches within the dispatch limit.
        let weighted = job.plan.is_weighted();
        let mut steps: Vec<(usize, Range<u32>, Range<u32>)> = Vec::new();
        for p in 0..up.passes() {
            let units = up.units(p);
            let chunks = if weighted {
                chunk_range(units.start, units.end)
            } else {
                chunk_range(0, draws)
            };
            steps.extend(self.split(chunks).map(|c| (p, units.clone(), c)));
        }
        let chunks_per_rep: u64 = steps.iter().map(|s| s.2.len() as u64).sum();
        let per_rep_words = chunks_per_rep * kk as u64;
        // draws generated per replicate, over all passes
        let generated =
            (chunks_per_rep * CHUNK as u64).min(draws.max(1) as u64 * up.passes() as u64);
        let per_batch = (self.max_binding / 4 / per_rep_words)
            .min(DRAWS_PER_BATCH / generated)
            .max(1);
        let total = reps.len() as u64;
        let mut out = Vec::with_capacity(reps.len() * kk);
        for batch in self.batches(reps.clone(), per_batch) {
            let n = batch.len();
            let mut base = 0usize;
            let mut bases = Vec::with_capacity(steps.len());
            let grid: Vec<Step> = steps
                .iter()
                .map(|(p, units, chunks)| {
                    let params = Params {
                        rep_offset: batch.start,
                        unit_lo: units.start,
                        unit_hi: units.end,
                        chunk_offset: chunks.start,
                        out_base: base as u32,
                        ..up.params
                    };
                    bases.push(base);
                    base += n * chunks.len() * kk;
                    (params, up.inputs(*p), (chunks.len() as u32, n as u32))
                })
                .collect();
            let words = self.run_steps(&self.sums, &grid, base)?;
            // chunk partials added in f64, in position order within a pass, passes in order
            for r in 0..n {
                for j in 0..kk {
                    let mut s = 0.0f64;
                    for ((_, _, chunks), &b) in steps.iter().zip(&bases) {
                        let c = chunks.len();
                        for part in words[b + r * c * kk..][..c * kk].chunks_exact(kk) {
                            s += f32::from_bits(part[j]) as f64;
                        }
                    }
                    out.push(s);
                }
            }
            if let Some(p) = progress {
                p((batch.end - reps.start) as u64, total);
            }
        }
        Ok(out)
    }

    fn resample_quantiles(
        &self,
        job: &QuantileJob,
        reps: Range<u32>,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<QuantilePick>> {
        let bayesian = job.plan.code() == 5;
        if bayesian && job.n_ranks.max(job.plan.draws()) >= (1 << 24) - (1 << 16) {
            // Bayesian weights are real numbers, summed in f32: one rank is resolved only below
            // 2^24 rows (integer weights are counted exactly in u32)
            return Err(gpu_err(
                "limits",
                format!(
                    "quantiles of Bayesian-weighted resamples of {} rows: the device sums real \
                     weights in f32, which resolves one rank only below 2^24 − 2^16 rows",
                    job.n_ranks.max(job.plan.draws())
                ),
            ));
        }
        // integer weights: one draw adds weight × (rows of its unit) ≤ 12 × the largest unit
        // (Poisson counts stop at 12), which must stay below 2^31 so that one product never wraps
        let largest = job.seg.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0) as u64;
        let max_weight = if job.plan.is_weighted() { 12 } else { 1 };
        if !bayesian && largest * max_weight >= 1 << 31 {
            return Err(gpu_err(
                "limits",
                format!(
                    "a resampling unit of {largest} rows: the device counts resampled rows in u32"
                ),
            ));
        }
        let mut up = self.upload(job.plan, 0, None, job.seg, job.ranks)?;
        up.params.n_ranks = job.n_ranks;
        up.params.normalize = job.normalize as u32;
        up.params.q = job.q as f32;
        // The rank search as a sequence of short dispatches (one submit per batch; see
        // `shaders/quantile.wgsl`): count all rows (phase 0, one workgroup per chunk of draws),
        // init (1), then `steps` bisection steps towards r1 (count 2, update 3), the switch to r2
        // (4), `steps` steps towards r2 (2, 5), and r2 (6). Each replicate's state stays in the
        // output buffer between dispatches, followed by the chunk partials of the last count.
        // (Lavapipe stops an invocation after 65 535 loop iterations, so no dispatch may loop
        // over all the draws, let alone all the passes.)
        let steps = 32 - job.n_ranks.saturating_sub(1).leading_zeros();
        let mut phases = vec![0u32, 1];
        for _ in 0..steps {
            phases.extend([2, 3]);
        }
        phases.push(4);
        for _ in 0..steps {
            phases.extend([2, 5]);
        }
        phases.push(6);
        let draws = job.plan.draws();
        let chunks = chunk_range(0, draws);
        let per_rep_words = (QUANTILE_STATE + chunks.len()) as u64;
        let passes = 2 * steps as u64 + 1;
        let per_batch = (DRAWS_PER_BATCH / (passes * draws.max(1) as u64))
            .min(self.max_binding / 4 / per_rep_words)
            .max(1);
        let total = reps.len() as u64;
        let mut out = Vec::with_capacity(reps.len());
        for batch in self.batches(reps.clone(), per_batch) {
            let n = batch.len();
            let params = Params {
                rep_offset: batch.start,
                out_base: (n * QUANTILE_STATE) as u32,
                ..up.params
            };
            let mut grid: Vec<Step> = Vec::new();
            for &phase in &phases {
                if phase == 0 || phase == 2 {
                    for c in self.split(chunks.clone()) {
                        let p = Params {
                            phase,
                            chunk_offset: c.start,
                            ..params
                        };
                        grid.push((p, up.inputs(0), (c.len() as u32, n as u32)));
                    }
                } else {
                    grid.push((Params { phase, ..params }, up.inputs(0), (1, n as u32)));
                }
            }
            let words = self.run_steps(&self.quantile, &grid, n * per_rep_words as usize)?;
            for w in words[..n * QUANTILE_STATE].chunks_exact(QUANTILE_STATE) {
                let m = if bayesian {
                    f32::from_bits(w[3]) as f64
                } else if w[3] >= 1 << 31 {
                    return Err(gpu_err(
                        "limits",
                        format!(
                            "a resample of {} rows or more: the device counts resampled rows in \
                             u32, up to 2^31",
                            w[3]
                        ),
                    ));
                } else {
                    w[3] as f64
                };
                out.push(QuantilePick {
                    r1: w[0],
                    r2: w[1],
                    h: f32::from_bits(w[2]) as f64,
                    m,
                });
            }
            if let Some(p) = progress {
                p((batch.end - reps.start) as u64, total);
            }
        }
        Ok(out)
    }

    fn hsic_permutations(&self, job: &HsicJob, perms: Range<u32>) -> Result<Vec<f64>> {
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
        let lx = self.storage("lx", bytemuck::cast_slice(&f32s(job.lx)))?;
        let ly = self.storage("ly", bytemuck::cast_slice(&f32s(job.ly)))?;
        let per_batch = (self.max_binding / 4 / job.n.max(1) as u64)
            .min(self.max_binding / 4 / pairs as u64)
            .clamp(1, MAX_DISPATCH as u64) as u32;
        let stream = crate::rng::Stream::new(job.seed, crate::rng::STREAM_PERMUTATION);
        let [key0, key1] = stream.key();
        let mut out = Vec::with_capacity(perms.len());
        let mut lo = perms.start;
        while lo < perms.end {
            let hi = (lo + per_batch).min(perms.end);
            let count = hi - lo;
            let words = self.hsic_batch(
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

    fn permutations(&self, seed: u64, n: usize, perms: Range<u32>) -> Result<Vec<u32>> {
        let stream = crate::rng::Stream::new(seed, crate::rng::STREAM_PERMUTATION);
        let [key0, key1] = stream.key();
        let per_batch = (self.max_binding / 4 / n.max(1) as u64).clamp(1, MAX_DISPATCH as u64);
        let mut out = Vec::with_capacity(perms.len() * n);
        for b in batches(perms, per_batch) {
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
            out.extend(self.hsic_batch(params, None)?);
        }
        Ok(out)
    }

    fn chi2mix_draws(
        &self,
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
        let w: Vec<f32> = weights.iter().map(|&v| v as f32).collect();
        let w = self.storage("spectral weights", bytemuck::cast_slice(&w))?;
        let [key0, key1] = stream.key();
        // one workgroup and one output word per draw: at most 65 535 draws per batch, within one
        // binding
        let per_batch = self.max_binding / 4;
        let mut out = Vec::with_capacity(draws.len());
        for b in self.batches(draws, per_batch) {
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
            let words = self.dispatch_once(
                &self.chi2mix,
                &self.hsic_layout,
                bytemuck::cast_slice(&params),
                &[&w, &w, &w],
                (count, 1),
                count as usize,
            )?;
            out.extend(words.iter().map(|&v| f32::from_bits(v) as f64));
        }
        Ok(out)
    }

    fn partial_correlations(&self, job: &PcorJob) -> Result<Vec<f64>> {
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
        let corr: Vec<f32> = job.corr.iter().map(|&v| v as f32).collect();
        let corr = self.storage("correlations", bytemuck::cast_slice(&corr))?;
        // tests per dispatch: output and set indices within one binding
        let per_batch = (self.max_binding / 4 / (job.depth.max(2) as u64))
            .min(64 * MAX_DISPATCH as u64 * MAX_DISPATCH as u64)
            .max(1) as usize;
        let mut out = Vec::with_capacity(tests);
        let mut lo = 0;
        while lo < tests {
            let hi = (lo + per_batch).min(tests);
            let m = hi - lo;
            let pairs = self.storage("pairs", bytemuck::cast_slice(&job.pairs[2 * lo..2 * hi]))?;
            // a zero-length binding is invalid: pad the sets of level 0 with one word
            let sets_slice = &job.sets[job.depth * lo..job.depth * hi];
            let pad = [0u32];
            let sets = self.storage(
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
            let words = self.dispatch_once(
                &self.pcor,
                &self.hsic_layout,
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

    fn sweep_moments(
        &self,
        job: &SweepJob,
        progress: Option<ProgressFn>,
    ) -> Result<Vec<SettingStats>> {
        let m = job.scm.names().len();
        let settings = job.outputs();
        // plans per dispatch row: a pair under `contrast`
        let per_row = if job.contrast { 2 } else { 1 };
        let n = job.samples as u64;
        let program = job.scm.program(job.outcome);
        let (pipes, slot_words) = self.sweep_variant(&program);
        let nodes = self.storage("sweep nodes", bytemuck::cast_slice(&program.nodes))?;
        let prog = self.storage("sweep program", bytemuck::cast_slice(&program.prog))?;
        // tiles of (settings × workgroups of samples): output, plan and value slots within one
        // binding, at most MAX_DISPATCH workgroups per dimension and DRAWS_PER_BATCH node
        // evaluations per submit
        let wg = WG as u64;
        let groups = n.div_ceil(wg);
        let group_words: u64 = if job.keep_values { wg } else { 3 };
        let plan_words = 1 + 3 * m as u64;
        let mut budget = (self.max_binding / 4 / group_words)
            .min(DRAWS_PER_BATCH / (wg * m as u64 * per_row))
            .max(1);
        if slot_words > 0 {
            let cap = self.max_binding / 4 / (wg * slot_words);
            if cap == 0 {
                return Err(self.too_wide(m, slot_words));
            }
            budget = budget.min(cap);
        }
        let bx = groups.min(MAX_DISPATCH as u64).min(budget);
        let sy = (budget / bx)
            .min(MAX_DISPATCH as u64)
            .min(settings as u64)
            .min(self.max_binding / 4 / (plan_words * per_row))
            .max(1) as usize;
        let scratch = self.scratch(bx * sy as u64 * wg * slot_words)?;
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
        let mut values: Vec<Vec<f64>> =
            vec![Vec::new(); if job.keep_values { settings } else { 0 }];
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
            let plan = self.storage("sweep plan", bytemuck::cast_slice(&plan))?;
            let mut g0 = 0u64;
            while g0 < groups {
                let cols = bx.min(groups - g0) as usize;
                let params: [u32; 16] = [
                    m as u32,
                    program.kept_slot,
                    job.samples,
                    crate::scm::noise_blocks(m).1,
                    key[0],
                    key[1],
                    job.stream.tag(),
                    job.common_random_numbers as u32,
                    s0 as u32,
                    g0 as u32,
                    plan_words as u32,
                    job.contrast as u32,
                    program.slots,
                    0,
                    0,
                    0,
                ];
                let words = self.dispatch_once(
                    if job.keep_values {
                        &pipes.values
                    } else {
                        &pipes.moments
                    },
                    &self.sweep_layout,
                    bytemuck::cast_slice(&params),
                    &[&nodes, &prog, &plan, &scratch],
                    (cols as u32, rows as u32),
                    rows * cols * group_words as usize,
                )?;
                let first = g0 * wg;
                let last = ((g0 + cols as u64) * wg).min(n);
                for r in 0..rows {
                    let row =
                        &words[r * cols * group_words as usize..][..cols * group_words as usize];
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

    fn scm_samples(&self, job: &SampleJob) -> Result<Vec<Vec<f64>>> {
        let names = job.scm.names();
        let m = names.len() as u64;
        let n = job.samples as u64;
        let program = job.scm.sample_program();
        let (pipes, slot_words) = self.sweep_variant(&program);
        let nodes = self.storage("sample nodes", bytemuck::cast_slice(&program.nodes))?;
        let prog = self.storage("sample program", bytemuck::cast_slice(&program.prog))?;
        let mut plan = vec![0u32];
        for &(atomic, delta) in job.plan {
            plan.extend([
                atomic.is_some() as u32,
                (atomic.unwrap_or(0.0) as f32).to_bits(),
                (delta as f32).to_bits(),
            ]);
        }
        let plan = self.storage("sample plan", bytemuck::cast_slice(&plan))?;
        // samples per chunk: every node of every sample within one binding (column-major),
        // at most MAX_DISPATCH workgroups and DRAWS_PER_BATCH node evaluations per submit, and
        // the value slots of the chunk's threads within one binding
        let wg = WG as u64;
        let mut rows = (self.max_binding / 4 / m)
            .min(MAX_DISPATCH as u64 * wg)
            .min((DRAWS_PER_BATCH / m).max(1))
            .min(n);
        if rows == 0 {
            return Err(gpu_err(
                "limits",
                format!(
                    "one sample of {m} nodes needs {} bytes, more than one binding may hold ({})",
                    4 * m,
                    self.max_binding
                ),
            ));
        }
        // (slot_words is 0 when the value slots fit the private array)
        if let Some(per_thread) = (self.max_binding / 4).checked_div(slot_words) {
            rows = rows.min(per_thread / wg * wg);
            if rows == 0 {
                return Err(self.too_wide(names.len(), slot_words));
            }
        }
        let scratch = self.scratch(rows.div_ceil(wg) * wg * slot_words)?;
        let key = job.stream.key();
        let mut cols: Vec<Vec<f64>> = (0..m).map(|_| Vec::with_capacity(n as usize)).collect();
        let mut first = 0u64;
        while first < n {
            let r = rows.min(n - first);
            let params: [u32; 16] = [
                m as u32,
                program.kept_slot,
                job.samples,
                crate::scm::noise_blocks(m as usize).1,
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
            let words = self.dispatch_once(
                &pipes.rows,
                &self.sweep_layout,
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

    fn rff_moments(&self, job: &RffJob) -> Result<Vec<Result<crate::independence::rff::Moments>>> {
        self.rff_job(job)
    }

    fn kci_moments(&self, job: &KciJob) -> Result<Vec<Result<crate::independence::kci::Moments>>> {
        self.kci_job(job)
    }

    fn resample_draws(&self, plan: &ResamplePlan, reps: Range<u32>) -> Result<Vec<u32>> {
        let up = self.upload(plan, 0, None, &[], &[])?;
        let draws = plan.draws();
        let per_batch = (self.max_binding / 4 / draws.max(1) as u64).max(1);
        let mut out = Vec::with_capacity(reps.len() * draws as usize);
        for batch in self.batches(reps, per_batch) {
            let n = batch.len();
            let steps: Vec<Step> = self
                .split(chunk_range(0, draws))
                .map(|c| {
                    let params = Params {
                        rep_offset: batch.start,
                        chunk_offset: c.start,
                        ..up.params
                    };
                    (params, up.inputs(0), (c.len() as u32, n as u32))
                })
                .collect();
            out.extend(self.run_steps(&self.draws, &steps, n * draws as usize)?);
        }
        Ok(out)
    }
}
