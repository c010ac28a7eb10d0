//! [`Engine`]: where an operation runs, and the fall-back rule.
//!
//! **Owns:** the choice of backend ([`Engine::auto`], [`Engine::cpu`], [`Engine::gpu`]), the
//! device context of a GPU engine, and `run_on!`, the one place an operation is sent to its CPU
//! kernel or its GPU kernel (and, under `auto`, rerun on the CPU after a GPU failure).
//!
//! **Imports:** the device context (`crate::gpu`, with the `gpu` feature) and the leaves. It
//! names no capability: each capability's `mod.rs` calls `run_on!` with its own `cpu::` and
//! `gpu::` kernels.
//!
//! Without the `gpu` feature, [`Engine::gpu`] returns [`Error::NoAdapter`] saying so, and
//! [`Engine::auto`] picks the CPU.

use crate::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::gpu::Context;

/// Progress sink: called with (done, total). Calls come from worker threads one at a time,
/// with `done` increasing; the last call of a run has `done == total`.
pub type ProgressFn<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Counts items finished on many threads and reports every `every`-th and the last to a
/// [`ProgressFn`], one call at a time and in increasing order (a count overtaken by a larger
/// one already reported is skipped), so a sink's last call is `(total, total)`.
pub(crate) struct Ticks<'a> {
    progress: Option<ProgressFn<'a>>,
    total: u64,
    every: u64,
    done: std::sync::atomic::AtomicU64,
    shown: std::sync::Mutex<u64>,
}

impl<'a> Ticks<'a> {
    pub(crate) fn new(progress: Option<ProgressFn<'a>>, total: u64, every: u64) -> Self {
        Ticks {
            progress,
            total,
            every: every.max(1),
            done: Default::default(),
            shown: Default::default(),
        }
    }

    /// One more item done.
    pub(crate) fn tick(&self) {
        let Some(p) = self.progress else { return };
        let d = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if d == self.total || d.is_multiple_of(self.every) {
            let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
            if d > *shown {
                *shown = d;
                p(d, self.total);
            }
        }
    }
}

/// Options for [`Engine::gpu_with`].
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
    /// On a GPU failure, rerun on the CPU and record why (what [`Engine::auto`] does).
    pub cpu_fallback: bool,
    /// Count dispatches, submits, uploaded and read-back bytes, and time every compute pass
    /// with timestamp queries when the adapter offers them; read with [`Engine::profile`]. Off
    /// by default, and free when off (nothing is counted and no query set is created).
    pub profile: bool,
    /// Build Philox's 32×32→64 multiply from 16-bit halves even when the adapter has
    /// `SHADER_INT64` (the portable path, bit-identical to the native one; for tests and
    /// comparisons). `CETERIS_GPU_INT64=0` in the environment does the same for every engine.
    pub emulate_int64: bool,
}

impl GpuOptions {
    /// What the device context is asked for.
    #[cfg(feature = "gpu")]
    fn request(&self, hardware_only: bool) -> crate::gpu::Request {
        crate::gpu::Request {
            hardware_only,
            prefer_software: self.prefer_software,
            max_binding_bytes: self.max_binding_bytes,
            max_workgroups_per_dimension: self.max_workgroups_per_dimension,
            profile: self.profile,
            emulate_int64: self.emulate_int64,
        }
    }
}

enum Backend {
    Cpu,
    #[cfg(feature = "gpu")]
    Gpu(Box<Context>),
}

/// Which backend an engine dispatches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// rayon, f64.
    Cpu,
    /// wgpu, f32 on the device, f64 on the host.
    Gpu,
}

/// Where computations run. Build it once and reuse it: a GPU engine owns its device, and the
/// pipelines and layouts it builds on first use; every engine keeps one host workspace buffer
/// (at most 256 MiB, e.g. the RCoT/RCIT Z features, 80 MB at n = 10⁵) for the next operation,
/// freed with the engine.
///
/// * [`Engine::auto`] takes a hardware GPU when there is one and the CPU otherwise; it never
///   prefers a software adapter (lavapipe/llvmpipe) to the CPU. `CETERIS_BACKEND=auto|cpu|gpu`
///   overrides its choice (`gpu` names [`Engine::gpu`], which does not fall back). When a GPU
///   operation fails under `auto`, it reruns on the CPU and the result records why (`fallback`);
///   so does an input the device refuses before dispatch as too ill-conditioned for f32
///   (`Error::Gpu { kind: "numerics" }`, e.g. a bootstrap `corr` at |r| → 1).
/// * [`Engine::gpu`] accepts any adapter, software included, and returns errors instead of
///   falling back. Without the crate's `gpu` feature it always returns an error.
///
/// ```
/// let e = ceteris::Engine::cpu();
/// assert_eq!(e.kind(), ceteris::BackendKind::Cpu);
/// assert!(e.describe().starts_with("cpu"));
/// ```
pub struct Engine {
    backend: Backend,
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    fall_back: bool,
    note: Option<String>,
    /// Host workspace kept between operations ([`crate::memory::Scratch`]).
    scratch: crate::memory::Scratch,
}

/// Which backend ran an operation, and why the GPU did not, if it did not.
#[derive(Clone, Debug)]
pub(crate) struct Ran {
    pub backend: String,
    pub fallback: Option<String>,
}

impl Ran {
    /// The backend as results report it: with the fallback reason, if any, else with `gpu_note`
    /// (what ran where) after a GPU backend.
    pub fn label(&self, gpu_note: &str) -> String {
        match &self.fallback {
            Some(why) => format!("{} (fallback: {why})", self.backend),
            None if !gpu_note.is_empty() && self.backend.starts_with("gpu") => {
                format!("{} ({gpu_note})", self.backend)
            }
            None => self.backend.clone(),
        }
    }
}

/// The CPU backend's description.
fn cpu_describe() -> String {
    format!("cpu (rayon, {} threads)", rayon::current_num_threads())
}

/// Runs an operation on an engine: `run_on!(engine, cpu: EXPR, gpu: |ctx| EXPR)` evaluates the
/// `cpu` expression on a CPU engine and the `gpu` one (with `ctx: &crate::gpu::Context`) on a GPU
/// engine, rerunning the `cpu` one under `auto` when the GPU fails. Both are `Result<T>`; the
/// macro gives `Result<(T, Ran)>`. Without the `gpu` feature the `gpu` expression is not
/// compiled at all, so a capability's `gpu` module may be absent.
macro_rules! run_on {
    ($engine:expr, cpu: $cpu:expr, gpu: |$ctx:ident| $gpu:expr $(,)?) => {{
        #[cfg(feature = "gpu")]
        let ran = $engine.run(|| $cpu, |$ctx: &crate::gpu::Context| $gpu);
        #[cfg(not(feature = "gpu"))]
        let ran = $engine.run_cpu(|| $cpu);
        ran
    }};
}
pub(crate) use run_on;

impl Engine {
    /// The CPU backend.
    pub fn cpu() -> Engine {
        Engine {
            backend: Backend::Cpu,
            fall_back: false,
            note: None,
            scratch: Default::default(),
        }
    }

    /// A GPU engine on any adapter (software adapters included); errors without one, or without
    /// the crate's `gpu` feature.
    pub fn gpu() -> Result<Engine> {
        Self::gpu_with(GpuOptions::default())
    }

    /// [`Engine::gpu`] with options (small binding limits to force chunking, CPU fallback).
    ///
    /// ```no_run
    /// let e = ceteris::Engine::gpu_with(ceteris::GpuOptions { cpu_fallback: true, ..Default::default() });
    /// ```
    pub fn gpu_with(opts: GpuOptions) -> Result<Engine> {
        #[cfg(feature = "gpu")]
        {
            Ok(Engine {
                backend: Backend::Gpu(Box::new(Context::new(opts.request(false))?)),
                fall_back: opts.cpu_fallback,
                note: None,
                scratch: Default::default(),
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            let _ = opts;
            Err(no_gpu_feature())
        }
    }

    /// Hardware GPU if present, else CPU; honours `CETERIS_BACKEND`. Never fails.
    pub fn auto() -> Engine {
        let choice = std::env::var("CETERIS_BACKEND").unwrap_or_default();
        match choice.as_str() {
            "cpu" => return Engine::cpu(),
            "gpu" => match Engine::gpu() {
                Ok(e) => return e,
                Err(e) => {
                    log::warn!("CETERIS_BACKEND=gpu but {e}; using the CPU");
                    let mut cpu = Engine::cpu();
                    cpu.note = Some(e.to_string());
                    return cpu;
                }
            },
            "" | "auto" => {}
            other => log::warn!("ignoring CETERIS_BACKEND={other} (expected auto, cpu or gpu)"),
        }
        #[cfg(feature = "gpu")]
        let found = Context::new(GpuOptions::default().request(true));
        #[cfg(not(feature = "gpu"))]
        let found: Result<std::convert::Infallible> = Err(no_gpu_feature());
        match found {
            #[cfg(feature = "gpu")]
            Ok(g) => Engine {
                backend: Backend::Gpu(Box::new(g)),
                fall_back: true,
                note: None,
                scratch: Default::default(),
            },
            #[cfg(not(feature = "gpu"))]
            Ok(never) => match never {},
            Err(e) => {
                log::info!("auto: using the CPU backend ({e})");
                let mut cpu = Engine::cpu();
                cpu.note = Some(e.to_string());
                cpu
            }
        }
    }

    /// The host workspace operations on this engine share.
    pub(crate) fn scratch(&self) -> &crate::memory::Scratch {
        &self.scratch
    }

    /// Parses `auto`, `cpu` or `gpu` (the CLI's `--backend`).
    ///
    /// ```
    /// assert!(ceteris::Engine::from_name("cpu").is_ok());
    /// assert!(ceteris::Engine::from_name("tpu").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Engine> {
        match name {
            "auto" => Ok(Engine::auto()),
            "cpu" => Ok(Engine::cpu()),
            "gpu" => Engine::gpu(),
            other => Err(Error::param(
                "backend",
                format!("unknown backend `{other}` (auto, cpu, gpu)"),
            )),
        }
    }

    /// The backend in use.
    pub fn kind(&self) -> BackendKind {
        match self.backend {
            Backend::Cpu => BackendKind::Cpu,
            #[cfg(feature = "gpu")]
            Backend::Gpu(_) => BackendKind::Gpu,
        }
    }

    /// Whether this is a GPU engine on a software adapter (lavapipe, llvmpipe, WARP).
    ///
    /// ```
    /// assert!(!ceteris::Engine::cpu().is_software_gpu());
    /// ```
    pub fn is_software_gpu(&self) -> bool {
        match &self.backend {
            Backend::Cpu => false,
            #[cfg(feature = "gpu")]
            Backend::Gpu(g) => g.is_software(),
        }
    }

    /// Backend, adapter, device type and the limits used.
    pub fn describe(&self) -> String {
        let base = match &self.backend {
            Backend::Cpu => cpu_describe(),
            #[cfg(feature = "gpu")]
            Backend::Gpu(g) => g.describe(),
        };
        match &self.note {
            Some(n) => format!("{base} [no GPU: {n}]"),
            None => base,
        }
    }

    /// One Philox4x32-10 block computed by this engine's backend (on the device for a GPU engine):
    /// the hook of the known-answer tests that check the shader against Random123.
    ///
    /// ```
    /// let e = ceteris::Engine::cpu();
    /// assert_eq!(e.philox_block([0; 4], [0; 2]).unwrap(), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    /// ```
    pub fn philox_block(&self, ctr: [u32; 4], key: [u32; 2]) -> Result<[u32; 4]> {
        match &self.backend {
            Backend::Cpu => Ok(crate::rng::philox4x32_10(ctr, key)),
            #[cfg(feature = "gpu")]
            Backend::Gpu(g) => g.philox_block(ctr, key),
        }
    }

    /// The counters of a GPU engine's device cache of per-variable arrays (`None` on the CPU):
    /// a hook for the tests that check what a batch uploads.
    #[cfg(feature = "gpu")]
    #[doc(hidden)]
    pub fn gpu_cache_stats(&self) -> Option<crate::gpu::GpuCacheStats> {
        match &self.backend {
            Backend::Cpu => None,
            Backend::Gpu(g) => Some(g.cache_stats()),
        }
    }

    /// What a profiled GPU engine ([`GpuOptions::profile`]) did since it was opened or since
    /// [`Engine::reset_profile`]: per kernel (by entry point, or by the name of a pass running
    /// several pipelines) its dispatches and GPU seconds, and the submits and the bytes uploaded
    /// and read back. `None` on the CPU, and on a GPU engine opened without `profile`.
    ///
    /// ```
    /// assert_eq!(ceteris::Engine::cpu().profile(), None);
    /// // on a device (lavapipe included):
    /// if let Ok(e) = ceteris::Engine::gpu_with(ceteris::GpuOptions { profile: true, ..Default::default() }) {
    ///     let data = ceteris::Dataset::synthetic(1000, 1);
    ///     ceteris::Bootstrap::new(ceteris::Statistic::Mean { column: "x".into() })
    ///         .resamples(100)
    ///         .run(&e, &data)
    ///         .unwrap();
    ///     let p = e.profile().unwrap();
    ///     assert!(p.submits >= 1 && p.kernels.iter().all(|k| k.dispatches > 0));
    ///     e.reset_profile();
    ///     assert_eq!(e.profile().unwrap().submits, 0);
    /// }
    /// ```
    pub fn profile(&self) -> Option<crate::Profile> {
        match &self.backend {
            Backend::Cpu => None,
            #[cfg(feature = "gpu")]
            Backend::Gpu(g) => g.profile(),
        }
    }

    /// Zeroes the counters of [`Engine::profile`] (nothing when the engine does not profile).
    ///
    /// ```
    /// ceteris::Engine::cpu().reset_profile();
    /// ```
    pub fn reset_profile(&self) {
        match &self.backend {
            Backend::Cpu => {}
            #[cfg(feature = "gpu")]
            Backend::Gpu(g) => g.reset_profile(),
        }
    }

    /// The CPU backend's description (operations without a GPU path run there).
    pub(crate) fn cpu_name(&self) -> String {
        cpu_describe()
    }

    /// Runs `cpu` on a CPU engine and `gpu` on a GPU engine; under `auto`, a GPU failure reruns
    /// `cpu`. Capabilities call it through `run_on!`.
    #[cfg(feature = "gpu")]
    pub(crate) fn run<T>(
        &self,
        cpu: impl FnOnce() -> Result<T>,
        gpu: impl FnOnce(&Context) -> Result<T>,
    ) -> Result<(T, Ran)> {
        match &self.backend {
            Backend::Cpu => self.run_cpu(cpu),
            Backend::Gpu(g) => match gpu(g) {
                Ok(v) => Ok((
                    v,
                    Ran {
                        backend: g.describe(),
                        fallback: None,
                    },
                )),
                Err(e) if self.fall_back && e.is_gpu() => {
                    log::warn!("GPU failed ({e}); rerunning on the CPU");
                    Ok((
                        cpu()?,
                        Ran {
                            backend: cpu_describe(),
                            fallback: Some(e.to_string()),
                        },
                    ))
                }
                Err(e) => Err(e),
            },
        }
    }

    /// Runs `cpu` (the CPU backend).
    pub(crate) fn run_cpu<T>(&self, cpu: impl FnOnce() -> Result<T>) -> Result<(T, Ran)> {
        Ok((
            cpu()?,
            Ran {
                backend: cpu_describe(),
                fallback: None,
            },
        ))
    }
}

/// The error of [`Engine::gpu`] in a build without the `gpu` feature.
#[cfg(not(feature = "gpu"))]
fn no_gpu_feature() -> Error {
    Error::NoAdapter(
        "ceteris was built without its `gpu` feature (rebuild with `--features gpu`, on by \
         default)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_engine_reports_the_cpu() {
        let e = Engine::cpu();
        assert_eq!(e.kind(), BackendKind::Cpu);
        let (v, ran) = e.run_cpu(|| Ok(7)).unwrap();
        assert_eq!(v, 7);
        assert!(ran.backend.starts_with("cpu (rayon"));
        assert!(ran.fallback.is_none());
    }

    /// Without the `gpu` feature a GPU engine is a clear error and `auto` is the CPU.
    #[cfg(not(feature = "gpu"))]
    #[test]
    fn without_the_gpu_feature_auto_is_the_cpu() {
        let err = Engine::gpu()
            .err()
            .expect("no GPU engine without the feature");
        assert!(err.is_gpu());
        assert!(
            err.to_string().contains("without its `gpu` feature"),
            "{err}"
        );
        let e = Engine::auto();
        assert_eq!(e.kind(), BackendKind::Cpu);
        assert!(
            e.describe().contains("without its `gpu` feature") || e.describe().starts_with("cpu")
        );
        assert!(Engine::from_name("gpu").is_err());
    }
}
