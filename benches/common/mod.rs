//! What the criterion benchmarks share.

use ceteris::Engine;

/// The CPU engine, and a GPU engine when a hardware adapter exists (a software adapter such as
/// lavapipe is left out: its timings say nothing about a GPU, as in `ceteris bench`).
pub fn engines() -> Vec<(&'static str, Engine)> {
    let mut engines = vec![("cpu", Engine::cpu())];
    if let Ok(g) = Engine::gpu() {
        if !g.is_software_gpu() {
            engines.push(("gpu", g));
        }
    }
    engines
}
