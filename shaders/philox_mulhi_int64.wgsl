// The high word of a 32x32 product by one native 64-bit multiply: what src/gpu/philox.rs puts in
// place of the emulated mulhi32 of shaders/philox.wgsl (between its MULHI32 markers) when the
// device has SHADER_INT64 (naga's WGSL front end reads u64 with no `enable` directive; its
// validator needs the SHADER_INT64 capability, which wgpu grants with the feature).
fn mulhi32(a: u32, b: u32) -> u32 {
    return u32((u64(a) * u64(b)) >> 32u);
}
