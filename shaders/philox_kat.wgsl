// Known-answer check of the device Philox (src/gpu/philox.rs): one block of the counter and key
// in the uniform, written to out[0..4].

struct Kat {
    ctr: vec4<u32>,
    key: vec4<u32>,  // key in .xy; .zw padding
}

@group(0) @binding(0) var<uniform> K: Kat;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(1)
fn kat() {
    let c = philox4x32_10(K.ctr, K.key.xy);
    out[0] = c.x;
    out[1] = c.y;
    out[2] = c.z;
    out[3] = c.w;
}
