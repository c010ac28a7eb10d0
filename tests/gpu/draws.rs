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
