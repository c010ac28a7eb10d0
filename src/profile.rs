//! The read-out of a profiled GPU engine ([`crate::Engine::profile`]): plain data, defined here
//! (a leaf) so that it exists in builds without the `gpu` feature too. The device context's
//! `gpu/profile.rs` fills it.

use serde::Serialize;

/// The GPU time and dispatch count of one kernel (or named pass) of a profiled GPU engine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KernelProfile {
    /// The pipeline's entry point (e.g. `draw_sums`), or the name of a pass that runs several
    /// pipelines (`kci`, `rff`).
    pub name: String,
    /// Dispatches recorded under this name.
    pub dispatches: u64,
    /// GPU seconds its passes took, from timestamp queries; `None` when the adapter does not
    /// offer timestamp queries.
    pub gpu_seconds: Option<f64>,
}

/// What a profiled GPU engine did since it was opened or last reset (see
/// [`crate::Engine::profile`]).
///
/// ```
/// use ceteris::{Bootstrap, Dataset, Engine, GpuOptions, Statistic};
/// // skipped where no adapter (not even lavapipe) is installed
/// if let Ok(e) = Engine::gpu_with(GpuOptions { profile: true, ..Default::default() }) {
///     let data = Dataset::synthetic(1000, 1);
///     Bootstrap::new(Statistic::Mean { column: "x".into() }).resamples(100).run(&e, &data).unwrap();
///     let p = e.profile().unwrap();
///     assert!(p.submits >= 1 && p.bytes_read_back > 0);
///     for k in &p.kernels {
///         println!("{} {} {:?}", k.name, k.dispatches, k.gpu_seconds);
///     }
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Profile {
    /// Per kernel (or named pass), by name.
    pub kernels: Vec<KernelProfile>,
    /// Command buffers submitted.
    pub submits: u64,
    /// Bytes written to the device from the host (storage, uniform and cached arrays).
    pub bytes_uploaded: u64,
    /// Bytes mapped back from the device (whole staging buffers).
    pub bytes_read_back: u64,
    /// Per-batch buffers (output, staging, uniform) the device context allocated: a batch takes
    /// them from a pool by size class, so a loop of equal batches allocates once.
    pub buffers_created: u64,
    /// Per-batch buffers taken from the pool instead.
    pub buffers_reused: u64,
}
