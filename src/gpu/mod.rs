//! The device context: one wgpu adapter, device and queue per GPU [`crate::Engine`], and what
//! every capability's `gpu.rs` needs to run its shaders on it.
//!
//! **Owns:** adapter choice and limits ([`Context::new`], [`Context::describe`]), the lost-device
//! flag, a lazy pipeline cache ([`pipeline`]: a capability names a `static` [`Kernel`], the
//! context compiles it on first use), buffers within one binding, the device-resident array
//! cache ([`resident`]), dispatch, submit and readback ([`dispatch`]) with its pool of
//! per-batch buffers ([`pool`]) and double-buffered batch loops, and the Philox
//! known-answer check of the device generator ([`philox`]), the optional profiling counters
//! and pass timestamps ([`profile`]); and [`quiet_display_layers`], which
//! keeps Mesa's display-selection Vulkan layer out of a compute-only process (the CLI calls it).
//!
//! **Imports:** only the leaves (`error`, `rng`, `profile`). It names no capability: the bootstrap, the
//! independence tests and the SCM sweeps each bring their own shaders, parameters and kernels
//! (`bootstrap/gpu.rs`, `independence/gpu/`, `scm/gpu.rs`) and call the context.
//!
//! **Limits.** A dispatch has at most [`MAX_DISPATCH`] workgroups per dimension, and every buffer
//! bound to a shader at most [`Context::max_binding`] bytes; capabilities size their batches from
//! both (and tests shrink both through [`crate::GpuOptions`] to exercise chunking on small data).
//! Every wgpu failure (validation, out of memory, device lost, mapping) is caught with error
//! scopes and returned as [`Error::Gpu`]; nothing here panics on a device error.

pub(crate) mod dispatch;
pub(crate) mod philox;
pub(crate) mod pipeline;
pub(crate) mod pool;
pub(crate) mod profile;
pub(crate) mod resident;

pub use resident::GpuCacheStats;

pub(crate) use dispatch::InFlight;
pub(crate) use pipeline::{kernels, Kernel, Shader, Slot};

use crate::error::{Error, Result};
use std::ops::Range;
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

/// Keeps display-selection Vulkan layers out of a compute-only process: sets `NODEVICE_SELECT=1`
/// unless the environment already sets it.
///
/// Mesa's implicit layer `VK_LAYER_MESA_device_select` (enabled on most Linux systems by
/// `/usr/share/vulkan/implicit_layer.d/VkLayer_MESA_device_select.json`) probes Wayland and X11
/// to choose a display GPU whenever an instance is created; on a headless machine it prints
/// `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` twice on stderr, though
/// nothing failed. ceteris draws nothing and picks its adapter itself, so it has no use for the
/// layer; the layer's manifest names `NODEVICE_SELECT=1` as its `disable_environment`, which
/// every Vulkan loader honours (the loader's newer `VK_LOADER_LAYERS_DISABLE` would too, from
/// 1.3.234 on, but is not on older systems).
///
/// **Call it before any thread starts** (first thing in `main`): it changes the process
/// environment, and a `setenv` racing a `getenv` on another thread is undefined behaviour in C
/// libraries. That is why [`crate::Engine`] does not call it when it opens a device: a library
/// cannot know that no other thread is reading the environment. The `ceteris` binary calls it
/// at the top of `main`; a program or a Python module may call it at start-up, or set the
/// variable in the environment instead.
///
/// ```
/// ceteris::quiet_display_layers();
/// assert!(std::env::var_os("NODEVICE_SELECT").is_some());
/// ```
pub fn quiet_display_layers() {
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
}

/// Most workgroups of one dispatch dimension (WebGPU's default limit, which every adapter
/// meets).
pub(crate) const MAX_DISPATCH: u32 = 65_535;

/// Work items (draws, node evaluations) per submit: long runs report progress between submits
/// and no single submit runs for long.
pub(crate) const ITEMS_PER_SUBMIT: u64 = 1 << 28;

/// What a caller may ask of a new [`Context`] (the engine passes its `GpuOptions`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Request {
    /// Refuse software adapters.
    pub hardware_only: bool,
    /// Prefer a software adapter even when a hardware one exists.
    pub prefer_software: bool,
    /// Pretend bindings hold at most this many bytes.
    pub max_binding_bytes: Option<u64>,
    /// Pretend at most this many workgroups per dispatch dimension.
    pub max_workgroups_per_dimension: Option<u32>,
    /// Keep the counters of [`profile`] (and time passes when the adapter offers timestamps).
    pub profile: bool,
    /// Keep Philox's emulated `mulhi32` even when the adapter has `SHADER_INT64`.
    pub emulate_int64: bool,
}

/// Whether `CETERIS_GPU_INT64` forbids the native 64-bit multiply (`0`, `off` or `false`).
fn int64_forbidden_by_env() -> bool {
    matches!(
        std::env::var("CETERIS_GPU_INT64").as_deref(),
        Ok("0") | Ok("off") | Ok("false")
    )
}

/// A wgpu device and queue with the limits in use, the pipeline cache and the resident-array
/// cache.
pub(crate) struct Context {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    /// Bytes one binding may hold (the device's limit, or less when a test asks).
    pub(crate) max_binding: u64,
    /// Workgroups per dispatch dimension (at most [`MAX_DISPATCH`], less when a test asks).
    pub(crate) max_dispatch: u32,
    pipelines: pipeline::Cache,
    resident: Mutex<resident::DeviceCache<wgpu::Buffer>>,
    lost: Arc<Mutex<Option<String>>>,
    /// The counters when profiling (`None` otherwise: nothing is counted or timed).
    profiler: Option<profile::Profiler>,
    /// Largest buffer the device allows (pool classes stay within it).
    max_buffer_size: u64,
    /// Idle per-batch buffers ([`pool`]).
    pool: pool::Pool,
    /// Whether shaders are built with the native 64-bit `mulhi32` (the device has
    /// `SHADER_INT64`, requested; see [`philox`]).
    native_int64: bool,
}

/// Whether an adapter is a software rasteriser (lavapipe, llvmpipe, WARP, SwiftShader).
fn is_software(info: &wgpu::AdapterInfo) -> bool {
    info.device_type == wgpu::DeviceType::Cpu
}

/// An [`Error::Gpu`] of category `kind`.
pub(crate) fn gpu_err(kind: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Gpu {
        kind,
        message: e.to_string(),
    }
}

impl Context {
    /// Opens a device (`hardware_only` refuses software adapters: what `Engine::auto` wants).
    pub(crate) fn new(opts: Request) -> Result<Self> {
        let hardware_only = opts.hardware_only;
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
        // timestamp queries only when profiling, and only when the adapter offers them
        let timestamps =
            opts.profile && adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let mut required_features = if timestamps {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        // Philox's native 64-bit multiply where the adapter has it and nothing forbids it
        let native_int64 = adapter.features().contains(wgpu::Features::SHADER_INT64)
            && !opts.emulate_int64
            && !int64_forbidden_by_env();
        if native_int64 {
            required_features |= wgpu::Features::SHADER_INT64;
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("ceteris"),
            required_features,
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
        let cache_cap = resident::cache_cap(&limits);
        Ok(Context {
            device,
            queue,
            info,
            max_binding,
            max_dispatch,
            pipelines: pipeline::Cache::default(),
            resident: Mutex::new(resident::DeviceCache::new(cache_cap)),
            lost,
            profiler: opts.profile.then(|| profile::Profiler::new(timestamps)),
            max_buffer_size: limits.max_buffer_size,
            pool: pool::Pool::new(limits.max_buffer_size),
            native_int64,
        })
    }

    /// Adapter name, backend, device type and the limits that matter.
    pub(crate) fn describe(&self) -> String {
        format!(
            "gpu: {} ({:?}, {:?}); max storage binding {}, max workgroups/dim {}; philox mulhi {}",
            self.info.name,
            self.info.backend,
            self.info.device_type,
            if self.max_binding >= 1 << 20 {
                format!("{} MiB", self.max_binding >> 20)
            } else {
                format!("{} KiB", self.max_binding >> 10)
            },
            self.max_dispatch,
            if self.native_int64 { "u64" } else { "16-bit" }
        )
    }

    /// Whether the adapter is a software rasteriser.
    pub(crate) fn is_software(&self) -> bool {
        is_software(&self.info)
    }

    /// An error once the device is lost.
    pub(crate) fn check_lost(&self) -> Result<()> {
        match self.lost.lock().unwrap().clone() {
            Some(m) => Err(gpu_err("device-lost", m)),
            None => Ok(()),
        }
    }

    /// A read-only storage buffer holding `bytes` (16 zero bytes when empty: a binding may not
    /// be empty), refused as a `limits` error when it exceeds one binding.
    pub(crate) fn storage(&self, label: &str, bytes: &[u8]) -> Result<wgpu::Buffer> {
        self.storage_as(label, bytes, wgpu::BufferUsages::STORAGE)
    }

    /// [`Context::storage`] with other usages (e.g. `STORAGE | COPY_SRC` for a buffer that
    /// shaders write and copies read).
    pub(crate) fn storage_as(
        &self,
        label: &str,
        bytes: &[u8],
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
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
        self.count_upload(contents.len() as u64);
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            }))
    }

    /// A storage buffer of `words` f32 words (16 bytes when empty, as [`Context::storage`]
    /// makes it), zeroed, that copies may fill (see [`resident::copy_pieces`]).
    pub(crate) fn packed(
        &self,
        label: &str,
        words: usize,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let size = if words == 0 { 16 } else { 4 * words as u64 };
        if size > self.max_binding {
            return Err(gpu_err(
                "limits",
                format!(
                    "`{label}` needs {size} bytes, more than one binding may hold ({})",
                    self.max_binding
                ),
            ));
        }
        Ok(self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage: usage | wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }))
    }

    /// A device-only read-write buffer of `words` 32-bit words (at least 4), within one binding.
    pub(crate) fn scratch(&self, label: &str, words: u64) -> Result<wgpu::Buffer> {
        let bytes = 4 * words.max(4);
        if bytes > self.max_binding {
            return Err(gpu_err(
                "limits",
                format!(
                    "{label} of {bytes} bytes, more than one binding may hold ({})",
                    self.max_binding
                ),
            ));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(gpu_err("out-of-memory", e));
        }
        Ok(buffer)
    }

    /// Batches of at most `per_batch` of `items`, and at most the dispatch limit.
    pub(crate) fn batches(
        &self,
        items: Range<u32>,
        per_batch: u64,
    ) -> impl Iterator<Item = Range<u32>> {
        batches(items, per_batch.min(self.max_dispatch as u64))
    }

    /// Splits `range` (of workgroup indices) into dispatches of at most the dispatch limit.
    pub(crate) fn split(&self, range: Range<u32>) -> impl Iterator<Item = Range<u32>> {
        let step = self.max_dispatch;
        (range.start..range.end)
            .step_by(step as usize)
            .map(move |a| a..a.saturating_add(step).min(range.end))
    }
}

/// Batches of at most `per_batch` (and [`MAX_DISPATCH`]) of `items`.
pub(crate) fn batches(items: Range<u32>, per_batch: u64) -> impl Iterator<Item = Range<u32>> {
    let step = per_batch.clamp(1, MAX_DISPATCH as u64) as u32;
    let mut lo = items.start;
    std::iter::from_fn(move || {
        if lo >= items.end {
            return None;
        }
        let hi = lo.saturating_add(step).min(items.end);
        let r = lo..hi;
        lo = hi;
        Some(r)
    })
}
