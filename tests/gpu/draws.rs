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
