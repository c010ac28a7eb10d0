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

pub mod bootstrap;
mod cancel;
pub mod data;
pub mod discovery;
mod engine;
pub mod error;
#[cfg(feature = "gpu")]
mod gpu;
pub mod independence;
#[cfg(feature = "gpu")]
mod kernels;
mod memory;
mod profile;
pub mod rng;
pub mod scm;
mod simd;
mod stats;
pub mod synthetic;

pub use bootstrap::{
    BcaDetails, Bootstrap, BootstrapResult, CustomBootstrap, IntervalMethod, Roles, Scheme, Shard,
    Statistic,
};
pub use cancel::Cancel;
pub use data::Dataset;
pub use engine::{BackendKind, Engine, GpuOptions, ProgressFn};
pub use error::{Error, Result};
#[cfg(feature = "gpu")]
pub use gpu::quiet_display_layers;
#[doc(hidden)]
#[cfg(feature = "gpu")]
pub use gpu::GpuCacheStats;
#[cfg(feature = "gpu")]
pub use kernels::{shader_source, KERNELS};
pub use profile::{KernelProfile, Profile};

/// The README's Rust example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
