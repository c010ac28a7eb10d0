//! Every WGSL program the crate compiles, by name, gathered from the capabilities' `gpu`
//! modules (and the device context's Philox check) for the shader tests and for inspection.

use crate::gpu::Shader;

/// Every shader, in [`KERNELS`] order.
static SHADERS: [&Shader; 11] = [
    &crate::bootstrap::gpu::SUMS_SHADER,
    &crate::bootstrap::gpu::QUANTILE_SHADER,
    &crate::bootstrap::gpu::DRAWS_SHADER,
    &crate::independence::gpu::HSIC_SHADER,
    &crate::independence::gpu::PCOR_SHADER,
    &crate::scm::gpu::SWEEP_SHADER,
    &crate::scm::gpu::SWEEP_WIDE_SHADER,
    &crate::independence::gpu::rff::SHADER,
    &crate::independence::gpu::kci::SHADER,
    &crate::gpu::philox::SHADER,
    &crate::independence::gpu::COUNTS_SHADER,
];

/// Names of the shaders (for [`shader_source`]).
pub const KERNELS: [&str; 11] = [
    "sums",
    "quantile",
    "draws",
    "hsic",
    "pcor",
    "sweep",
    "sweep-wide",
    "rff",
    "kci",
    "philox-kat",
    "counts",
];

/// The WGSL of one shader, as compiled: for the randomised ones, Philox (with the Poisson table
/// filled in from [`crate::rng::POISSON1_THRESHOLDS`]) and the shared generator before the
/// kernel. Public for the shader tests.
///
/// ```
/// let src = ceteris::shader_source("sums").unwrap();
/// assert!(src.contains("fn philox4x32_10"));
/// assert!(ceteris::shader_source("nope").is_none());
/// ```
pub fn shader_source(kernel: &str) -> Option<String> {
    SHADERS
        .iter()
        .find(|s| s.name == kernel)
        .map(|s| (s.source)())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_name_has_its_shader() {
        for (name, shader) in super::KERNELS.iter().zip(super::SHADERS) {
            assert_eq!(*name, shader.name);
        }
    }
}
