//! RCoT / RCIT / RIT on the device: single tests, batches (per-query errors included), sub-batches
//! of small bindings, and the limits error or CPU fallback when a Z basis does not fit.
//!
//! Tolerance: the device computes the X/Y features, their projections on the ridge basis of Z
//! (built in f64 on the host, rounded to f32), the residuals and the fourth moments in f32 with
//! tree sums; every operand is bounded, so Cxy|z moves by ~1e-7 per entry. Conditional tests
//! also differ by the routes' f64 rounding: the CPU applies the explicit ridge inverse in
//! RCIT's order, whose conditioning (~1e12) costs ~1e-5 per entry of Cxy|z (the device's basis
//! route agrees with an independent eigenvector route to ~3e-10; see the unit test
//! `ridge_basis_reproduces_the_ridge_inverse`). With δ a bound on ‖ΔCxy|z‖_F — 1e-6
//! unconditional, 1e-4 conditional — the statistic n‖Cxy|z‖² moves by at most
//! 2 √(n · stat) δ + n δ², which we require; p-values within 1e-4 (RIT) and 2e-3 (conditional;
//! the CPU's own agreement with causal-learn is 1e-3).

use super::*;

fn assert_rff_close(
    q: &ceteris::independence::Query,
    c: &ceteris::independence::TestResult,
    g: &ceteris::independence::TestResult,
) {
    let (delta, tp) = if q.2.is_empty() {
        (1e-6, 1e-4)
    } else {
        (1e-4, 2e-3)
    };
    let n = c.n as f64;
    let ts = 2.0 * (n * c.statistic).sqrt() * delta + n * delta * delta;
    eprintln!(
        "{q:?}: stat {} vs {} (diff {:.2e}, allowed {ts:.2e}), p {} vs {} (diff {:.2e})",
        c.statistic,
        g.statistic,
        (c.statistic - g.statistic).abs(),
        c.p_value,
        g.p_value,
        (c.p_value - g.p_value).abs()
    );
    assert!(
        (c.statistic - g.statistic).abs() <= ts,
        "{q:?}: statistic {} vs {}",
        c.statistic,
        g.statistic
    );
    assert!(
        (c.p_value - g.p_value).abs() <= tp,
        "{q:?}: p {} vs {}",
        c.p_value,
        g.p_value
    );
}

#[test]
fn rcot_rcit_rit_on_device_match_cpu() {
    use ceteris::independence::{Approx, IndependenceTest};
    let Some(gpu) = common::gpu() else { return };
    let d = rff_data(600);
    for test in [
        IndependenceTest::rcot(),
        IndependenceTest::rcit(),
        IndependenceTest::rcot().approx(Approx::Hbe).seed(5),
    ] {
        for q in rff_queries() {
            let (x, y, z) = (strs(&q.0), strs(&q.1), strs(&q.2));
            let c = test.run(&Engine::cpu(), &d, &x, &y, &z).unwrap();
            let g = test.run(gpu, &d, &x, &y, &z).unwrap();
            assert!(c.backend.starts_with("cpu"), "{}", c.backend);
            assert!(g.backend.starts_with("gpu"), "{}", g.backend);
            assert_eq!(g.test, test.name());
            assert_rff_close(&q, &c, &g);
        }
    }
    // more X/Y features than the shader holds: a clear GPU error (Engine::auto reruns on the CPU)
    assert_limits(
        IndependenceTest::rcot()
            .features(20, 9)
            .run(gpu, &d, &["x"], &["y"], &["a"]),
        "",
    );
}

#[test]
fn rcot_batch_on_device_matches_cpu_and_single_runs() {
    use ceteris::independence::{IndependenceTest, Tester};
    let Some(gpu) = common::gpu() else { return };
    let d = rff_data(500);
    let mut queries = rff_queries();
    // per-query errors are the CPU's: a column in both X and Z, an unknown column
    let v = |c: &str| vec![c.to_string()];
    queries.push((v("x"), v("y"), v("x")));
    queries.push((v("x"), v("nope"), v("a")));
    for test in [IndependenceTest::rcot(), IndependenceTest::rcit()] {
        let cpu = Tester::new(&Engine::cpu(), &d, test.clone()).batch(&queries);
        let dev = Tester::new(gpu, &d, test.clone()).batch(&queries);
        for ((q, c), g) in queries.iter().zip(&cpu).zip(&dev) {
            match (c, g) {
                (Ok(c), Ok(g)) => {
                    assert!(g.backend.starts_with("gpu"), "{}", g.backend);
                    assert_rff_close(q, c, g);
                    // a test's device moments do not depend on the rest of the batch
                    let one = test
                        .run(gpu, &d, &strs(&q.0), &strs(&q.1), &strs(&q.2))
                        .unwrap();
                    assert_eq!(one.statistic, g.statistic, "{q:?}");
                    assert_eq!(one.p_value, g.p_value, "{q:?}");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                _ => panic!("{q:?}: {c:?} vs {g:?}"),
            }
        }
    }
}

#[test]
fn rcot_chunked_on_device_gives_the_same_numbers() {
    use ceteris::independence::{IndependenceTest, Tester};
    let Some(gpu) = common::gpu() else { return };
    let d = rff_data(600);
    let queries = rff_queries();
    // 256 KiB bindings: one 600 × 100 Z basis (234 KiB) per sub-batch and a few tests' partials
    // (40 KiB each), so the batch runs as several sub-batches (in one submit)
    let small = gpu_engine(Some(256 << 10));
    let test = IndependenceTest::rcit();
    let whole = Tester::new(gpu, &d, test.clone()).batch(&queries);
    let chunked = Tester::new(&small, &d, test.clone()).batch(&queries);
    for (a, b) in whole.iter().zip(&chunked) {
        let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
        assert!(b.backend.starts_with("gpu"), "{}", b.backend);
        assert_eq!(a.statistic, b.statistic);
        assert_eq!(a.p_value, b.p_value);
    }
    // 64 KiB bindings: a Z basis does not fit. A plain GPU engine says so; a falling-back one
    // reruns on the CPU and records why.
    let tiny = |fallback| {
        Engine::gpu_with(GpuOptions {
            max_binding_bytes: Some(64 << 10),
            cpu_fallback: fallback,
            ..Default::default()
        })
        .unwrap()
    };
    let q = &queries[2];
    assert_limits(
        test.run(&tiny(false), &d, &strs(&q.0), &strs(&q.1), &strs(&q.2)),
        "",
    );
    let fb = Tester::new(&tiny(true), &d, test.clone()).batch(&queries);
    let cpu = Tester::new(&Engine::cpu(), &d, test).batch(&queries);
    for (f, c) in fb.iter().zip(&cpu) {
        let (f, c) = (f.as_ref().unwrap(), c.as_ref().unwrap());
        assert!(f.backend.starts_with("cpu"), "{}", f.backend);
        assert!(f.backend.contains("fallback") && f.backend.contains("limits"));
        assert_eq!(f.statistic, c.statistic);
    }
}
