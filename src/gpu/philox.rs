//! The device side of the Philox contract ([`crate::rng`]): the WGSL every randomised shader
//! starts with, and the known-answer check that the device computes the same blocks as the host.

use super::pipeline::{Kernel, Shader, Slot};
use super::Context;
use crate::error::Result;
use crate::rng::POISSON1_THRESHOLDS;

const PHILOX: &str = include_str!("../../shaders/philox.wgsl");
const KAT: &str = include_str!("../../shaders/philox_kat.wgsl");

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

static KAT_KERNEL: Kernel = Kernel {
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
