//! Philox on the device: the generator's known answers, and every scheme's draws equal to the CPU's
//! (integer draws bit for bit, Bayesian weights within 2e-6 relative).

use super::*;

#[test]
fn philox_known_answers_on_device() {
    let Some(gpu) = common::gpu() else { return };
    let cases = [
        (
            [0u32; 4],
            [0u32; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [0xffffffff; 4],
            [0xffffffff; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    for (ctr, key, expect) in cases {
        assert_eq!(gpu.philox_block(ctr, key).unwrap(), expect);
    }
}

/// Both builds of Philox's `mulhi32` (the native 64-bit multiply where the adapter has
/// `SHADER_INT64`, and the 16-bit halves forced by `GpuOptions::emulate_int64`) give the
/// known answers and the CPU's integer draws bit for bit.
#[test]
fn philox_known_answers_on_both_mulhi_paths() {
    let Some(gpu) = common::gpu() else { return };
    let emulated = Engine::gpu_with(GpuOptions {
        emulate_int64: true,
        ..Default::default()
    })
    .unwrap();
    assert!(emulated.describe().ends_with("philox mulhi 16-bit"));
    let native = gpu.describe().ends_with("philox mulhi u64");
    if !native {
        eprintln!("the adapter has no SHADER_INT64: only the emulated mulhi32 runs");
    }
    let cases = [
        (
            [0u32; 4],
            [0u32; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [0xffffffff; 4],
            [0xffffffff; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    for engine in [gpu, &emulated] {
        for (ctr, key, expect) in cases {
            assert_eq!(
                engine.philox_block(ctr, key).unwrap(),
                expect,
                "{}",
                engine.describe()
            );
        }
        // counters whose words have high bits in each half, against the CPU generator
        for i in 0..64u32 {
            let ctr = [
                i.wrapping_mul(0x9E3779B9),
                !i,
                i << 16 | 0xffff,
                i ^ 0x8000_8000,
            ];
            let key = [i.wrapping_mul(0x85EBCA6B), 0xffff_0000 | i];
            assert_eq!(
                engine.philox_block(ctr, key).unwrap(),
                ceteris::rng::philox4x32_10(ctr, key)
            );
        }
    }
    let d = data(1000);
    for scheme in schemes() {
        let boot = Bootstrap::new(Statistic::Mean { column: s("x") })
            .scheme(scheme.clone())
            .seed(7);
        let c = boot.draws(&Engine::cpu(), &d, 0..4).unwrap();
        let g = boot.draws(&emulated, &d, 0..4).unwrap();
        assert_draws_match(&c, &g, &scheme);
    }
}

#[test]
fn integer_draws_match_bit_for_bit() {
    let Some(gpu) = common::gpu() else { return };
    let d = data(1000);
    for scheme in schemes() {
        let boot = Bootstrap::new(Statistic::Mean { column: s("x") })
            .scheme(scheme.clone())
            .seed(11);
        let c = boot.draws(&Engine::cpu(), &d, 3..11).unwrap();
        let g = boot.draws(gpu, &d, 3..11).unwrap();
        assert_draws_match(&c, &g, &scheme);
    }
}

/// Strata of more than `IID_BLOCK` units: the iid contract's block totals (drawn on the host,
/// bound per batch) and the within-block draws give the CPU's draws bit for bit, for the iid and
/// the stratified scheme, and the mean's replicates agree within `assert_close`'s allowance.
#[test]
fn blocked_iid_draws_match_bit_for_bit() {
    let Some(gpu) = common::gpu() else { return };
    let d = data(20_000);
    for scheme in [Scheme::Iid, Scheme::Stratified { column: s("t") }] {
        let boot = Bootstrap::new(Statistic::Mean { column: s("x") })
            .scheme(scheme.clone())
            .seed(13);
        let c = boot.draws(&Engine::cpu(), &d, 5..9).unwrap();
        let g = boot.draws(gpu, &d, 5..9).unwrap();
        assert_draws_match(&c, &g, &scheme);
        let mean = Statistic::Mean { column: s("x") };
        assert_close(&mean, &scheme, &Engine::cpu(), gpu, &d);
    }
}
