//! The device side of the Philox contract ([`crate::rng`]): the WGSL every randomised shader
//! starts with, and the known-answer check that the device computes the same blocks as the host.
//!
//! **Two builds of `mulhi32`.** WGSL has no portable 32×32→64 multiply, so `shaders/philox.wgsl`
//! builds the high word of each Philox product from 16-bit halves (four multiplies and the
//! carries). Where the adapter has `SHADER_INT64` (and [`crate::GpuOptions::emulate_int64`] or
//! `CETERIS_GPU_INT64=0` does not forbid it), the context requests the feature and, when it
//! builds a shader ([`super::pipeline`]), puts `shaders/philox_mulhi_int64.wgsl` (one native
//! `u64` multiply) in place of the emulated function ([`native_int64`]). Both compute the same
//! bits; the known-answer test runs on both.

use super::pipeline::{Kernel, Shader, Slot};
use super::Context;
use crate::error::Result;
use crate::rng::POISSON1_THRESHOLDS;

const PHILOX: &str = include_str!("../../shaders/philox.wgsl");
const KAT: &str = include_str!("../../shaders/philox_kat.wgsl");
const MULHI_INT64: &str = include_str!("../../shaders/philox_mulhi_int64.wgsl");
const MULHI_BEGIN: &str = "// MULHI32 BEGIN\n";
const MULHI_END: &str = "// MULHI32 END\n";

/// `src` (a shader's WGSL, as its [`Shader::source`] assembles it) with the emulated `mulhi32`
/// of `shaders/philox.wgsl` replaced by the native 64-bit one; a shader without Philox comes
/// back unchanged. The result needs the device feature `SHADER_INT64`.
pub(crate) fn native_int64(src: String) -> String {
    let Some(a) = src.find(MULHI_BEGIN) else {
        return src;
    };
    let b = src[a..]
        .find(MULHI_END)
        .map(|b| a + b + MULHI_END.len())
        .expect("shaders/philox.wgsl closes its MULHI32 block");
    format!("{}{MULHI_INT64}{}", &src[..a], &src[b..])
}

/// `shaders/philox.wgsl` with the Poisson table filled in from [`POISSON1_THRESHOLDS`]: the
/// prefix of every shader that draws.
pub(crate) fn wgsl() -> String {
    let mut philox = PHILOX.to_string();
    for (i, t) in POISSON1_THRESHOLDS.iter().enumerate().rev() {
        philox = philox.replace(&format!("POISSON_T{i}"), &format!("{t}u"));
    }
    philox
}

/// The known-answer shader: [`wgsl`] + `shaders/philox_kat.wgsl`.
pub(crate) static SHADER: Shader = Shader {
    name: "philox-kat",
    source: || format!("{}\n{KAT}", wgsl()),
};

pub(super) static KAT_KERNEL: Kernel = Kernel {
    shader: &SHADER,
    entry: "kat",
    layout: &[Slot::Uniform(0), Slot::ReadWrite(1)],
};

impl Context {
    /// One Philox4x32-10 block computed on the device.
    pub(crate) fn philox_block(&self, ctr: [u32; 4], key: [u32; 2]) -> Result<[u32; 4]> {
        let pipe = self.pipeline(&KAT_KERNEL)?;
        let uniform: [u32; 8] = [ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], 0, 0];
        let w = self.dispatch_once(&pipe, bytemuck::cast_slice(&uniform), &[], (1, 1), 4)?;
        Ok([w[0], w[1], w[2], w[3]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(src: &str, caps: naga::valid::Capabilities) -> std::result::Result<(), String> {
        let module = naga::front::wgsl::parse_str(src).map_err(|e| e.emit_to_string(src))?;
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&module)
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    }

    /// Every shader that draws gets the native multiply, validates with `SHADER_INT64` and not
    /// without it; the others are untouched.
    #[test]
    fn native_variant_of_every_shader_validates() {
        let mut swapped = 0;
        for name in crate::KERNELS {
            let src = crate::shader_source(name).unwrap();
            let native = native_int64(src.clone());
            if !src.contains(MULHI_BEGIN) {
                assert_eq!(native, src, "{name}");
                continue;
            }
            swapped += 1;
            assert!(
                !native.contains("a_lo"),
                "{name}: the emulated body is gone"
            );
            assert!(native.contains("u64(a) * u64(b)"), "{name}");
            assert!(native.contains("fn philox4x32_10"), "{name}");
            validate(&native, naga::valid::Capabilities::SHADER_INT64)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                validate(&native, naga::valid::Capabilities::empty()).is_err(),
                "{name}: u64 needs SHADER_INT64"
            );
        }
        assert!(
            swapped >= 5,
            "the randomised shaders carry philox.wgsl ({swapped})"
        );
    }
}
