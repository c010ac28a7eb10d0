//! The reference checks of tests/statistics_reference.rs on the GPU engine: every statistic's
//! estimate and analytic standard error against numpy/scipy/statsmodels, and the studentized
//! interval against the numpy bootstrap-t.

#[path = "../common/statistics.rs"]
mod reference;

/// The estimate and the analytic standard error on the original data are computed on the host in
/// f64 whichever backend resamples, so the GPU engine meets the CPU's 1e-10; its replicates and
/// the studentized pivots t* come from the device (checked below).
#[test]
fn every_statistic_matches_independent_implementations_on_the_gpu() {
    let Some(gpu) = super::common::gpu() else {
        return;
    };
    let n = reference::check_all(gpu, |r| {
        assert!(r.backend.starts_with("gpu"), "{}", r.backend);
        assert!(r.fallback.is_none(), "{:?}", r.fallback);
    });
    assert!(n >= 34, "{n} cases");
}

/// The GPU's studentized interval against the numpy bootstrap-t, within the Monte-Carlo tolerance
/// of `check_studentized` plus the f32 allowance: a device replicate θ* is within 1e-3 bootstrap
/// standard errors of the CPU's (the documented replicate tolerance, main.rs), and we take the
/// same accuracy for its standard error se* (finished from sums of the same centred f32 features),
/// so t* = (θ* − θ̂)/se* moves by at most 1e-3·(1 + |t*|) and an endpoint
/// θ̂ − se·q by at most 1e-3·se·(1 + |q|) ≤ 1e-2·se for |q| ≤ 9.
#[test]
fn studentized_intervals_match_an_independent_bootstrap_t_on_the_gpu() {
    let Some(gpu) = super::common::gpu() else {
        return;
    };
    reference::check_studentized(gpu, 31, |se| 1e-2 * se);
}
