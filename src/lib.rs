//! # ceteris
//!
//! Fast loops of causal inference — bootstrap resampling ([`Bootstrap`]), kernel independence
//! tests ([`independence`]), causal discovery on batches of them ([`discovery`]) and intervention
//! sweeps on structural causal models ([`scm`]) — as WGSL compute shaders through wgpu, with a
//! rayon CPU backend behind the same API. Every operation takes an [`Engine`] and
//! returns the same result type whichever backend ran; randomness is counter-based
//! ([`rng`]), so replicate `b` is the same on the CPU and the GPU, for any thread count or shard.
//!
//! ```
//! use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Statistic};
//! let data = Dataset::new()
//!     .with_column("y", (0..100).map(|i| (i as f64).sin()).collect()).unwrap();
//! let engine = Engine::auto();
//! let res = Bootstrap::new(Statistic::Mean { column: "y".into() })
//!     .resamples(999).seed(7)
//!     .methods(&[IntervalMethod::Percentile, IntervalMethod::Normal])
//!     .run(&engine, &data).unwrap();
//! assert!(res.intervals["percentile"][0] < res.estimate);
//! ```

mod backend;
pub mod bootstrap;
pub mod data;
pub mod discovery;
pub mod error;
pub mod independence;
pub mod rng;
pub mod scm;
pub mod synthetic;

#[doc(hidden)]
pub use backend::gpu::GpuCacheStats;
pub use backend::gpu::{shader_source, GpuOptions, KERNELS};
pub use backend::ProgressFn;
pub use bootstrap::{
    BcaDetails, Bootstrap, BootstrapResult, IntervalMethod, Roles, Scheme, Shard, Statistic,
};
pub use data::Dataset;
pub use error::{Error, Result};

use backend::cpu::CpuBackend;
use backend::gpu::GpuBackend;
use backend::Kernels;

enum Backend {
    Cpu(CpuBackend),
    Gpu(Box<GpuBackend>),
}

/// Which backend an engine dispatches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// rayon, f64.
    Cpu,
    /// wgpu, f32 on the device, f64 on the host.
    Gpu,
}

/// Where computations run. Build it once and reuse it: a GPU engine owns its device, pipelines and
/// layouts.
///
/// * [`Engine::auto`] takes a hardware GPU when there is one and the CPU otherwise; it never
///   prefers a software adapter (lavapipe/llvmpipe) to the CPU. `CETERIS_BACKEND=auto|cpu|gpu`
///   overrides its choice. When a GPU operation fails under `auto`, it reruns on the CPU and the
///   result records why (`fallback`).
/// * [`Engine::gpu`] accepts any adapter, software included, and returns errors instead of
///   falling back.
///
/// ```
/// let e = ceteris::Engine::cpu();
/// assert_eq!(e.kind(), ceteris::BackendKind::Cpu);
/// assert!(e.describe().starts_with("cpu"));
/// ```
pub struct Engine {
    backend: Backend,
    cpu: CpuBackend,
    fall_back: bool,
    note: Option<String>,
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

impl Engine {
    /// The CPU backend.
    pub fn cpu() -> Engine {
        Engine {
            backend: Backend::Cpu(CpuBackend),
            cpu: CpuBackend,
            fall_back: false,
            note: None,
        }
    }

    /// A GPU engine on any adapter (software adapters included); errors without one.
    pub fn gpu() -> Result<Engine> {
        Self::gpu_with(GpuOptions::default())
    }

    /// [`Engine::gpu`] with options (small binding limits to force chunking, CPU fallback).
    ///
    /// ```no_run
    /// let e = ceteris::Engine::gpu_with(ceteris::GpuOptions { cpu_fallback: true, ..Default::default() });
    /// ```
    pub fn gpu_with(opts: GpuOptions) -> Result<Engine> {
        Ok(Engine {
            backend: Backend::Gpu(Box::new(GpuBackend::new(false, &opts)?)),
            cpu: CpuBackend,
            fall_back: opts.cpu_fallback,
            note: None,
        })
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
        match GpuBackend::new(true, &GpuOptions::default()) {
            Ok(g) => Engine {
                backend: Backend::Gpu(Box::new(g)),
                cpu: CpuBackend,
                fall_back: true,
                note: None,
            },
            Err(e) => {
                log::info!("auto: using the CPU backend ({e})");
                let mut cpu = Engine::cpu();
                cpu.note = Some(e.to_string());
                cpu
            }
        }
    }

    /// Parses `auto`, `cpu` or `gpu` (the CLI's `--backend`).
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
            Backend::Cpu(_) => BackendKind::Cpu,
            Backend::Gpu(_) => BackendKind::Gpu,
        }
    }

    /// Whether this is a GPU engine on a software adapter (lavapipe, llvmpipe, WARP).
    ///
    /// ```
    /// assert!(!ceteris::Engine::cpu().is_software_gpu());
    /// ```
    pub fn is_software_gpu(&self) -> bool {
        matches!(&self.backend, Backend::Gpu(g) if g.is_software())
    }

    /// Backend, adapter, device type and the limits used.
    pub fn describe(&self) -> String {
        let base = match &self.backend {
            Backend::Cpu(c) => c.describe(),
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
            Backend::Cpu(_) => Ok(rng::philox4x32_10(ctr, key)),
            Backend::Gpu(g) => g.philox_block(ctr, key),
        }
    }

    /// The counters of a GPU engine's device cache of per-variable arrays (`None` on the CPU):
    /// a hook for the tests that check what a batch uploads.
    #[doc(hidden)]
    pub fn gpu_cache_stats(&self) -> Option<GpuCacheStats> {
        match &self.backend {
            Backend::Cpu(_) => None,
            Backend::Gpu(g) => Some(g.cache_stats()),
        }
    }

    /// The CPU backend's description (operations without a GPU path yet run there).
    pub(crate) fn cpu_name(&self) -> String {
        self.cpu.describe()
    }

    /// Runs `op` on the engine's backend; under `auto`, a GPU failure reruns it on the CPU.
    pub(crate) fn dispatch<T>(&self, op: impl Fn(&dyn Kernels) -> Result<T>) -> Result<(T, Ran)> {
        match &self.backend {
            Backend::Cpu(c) => Ok((
                op(c)?,
                Ran {
                    backend: c.describe(),
                    fallback: None,
                },
            )),
            Backend::Gpu(g) => match op(g.as_ref()) {
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
                        op(&self.cpu)?,
                        Ran {
                            backend: self.cpu.describe(),
                            fallback: Some(e.to_string()),
                        },
                    ))
                }
                Err(e) => Err(e),
            },
        }
    }
}

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
