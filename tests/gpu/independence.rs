//! Independence tests and PC-stable on the device: HSIC's permutation null and the permutations
//! drawn on the device, Fisher-z partial correlations, PC-stable graphs with Fisher-z and RCoT
//! against the CPU's, and the spectral null's Monte-Carlo draws.

use super::*;

#[test]
fn hsic_permutation_null_on_device_matches_cpu() {
    // Same Philox permutations on both sides; the device sums the cross moments in f32, so a
    // permuted statistic within f32 rounding of the observed one may count differently: the
    // p-values may differ by at most a couple of permutations out of 201.
    use ceteris::independence::{IndependenceTest, Null};
    let Some(gpu) = common::gpu() else { return };
    let d = data(300);
    for (x, y) in [("x", "y"), ("z", "w")] {
        let t = IndependenceTest::hsic()
            .null(Null::Permutation(200))
            .seed(4);
        let c = t.run(&Engine::cpu(), &d, &[x], &[y], &[]).unwrap();
        let g = t.run(gpu, &d, &[x], &[y], &[]).unwrap();
        assert!(g.backend.starts_with("gpu"), "{}", g.backend);
        assert_eq!(c.statistic, g.statistic);
        assert!(
            (c.p_value - g.p_value).abs() <= 2.0 / 201.0,
            "{x},{y}: {} vs {}",
            c.p_value,
            g.p_value
        );
    }
}

#[test]
fn hsic_permutations_drawn_on_device_equal_the_cpu_indices() {
    // Fisher–Yates on the device (one thread per permutation, Philox + Lemire + fallback block)
    // against the host's `independence::permutation`, bit for bit; and the batching of
    // permutations over 1 KiB bindings gives the same indices.
    use ceteris::independence::permutations;
    let Some(gpu) = common::gpu() else { return };
    for (n, perms) in [(1usize, 0..3u32), (2, 0..5), (17, 3..40), (1000, 990..1010)] {
        let c = permutations(&Engine::cpu(), 11, n, perms.clone()).unwrap();
        let g = permutations(gpu, 11, n, perms.clone()).unwrap();
        assert_eq!(c, g, "n = {n}");
        for (k, p) in g.chunks(n).enumerate() {
            let mut sorted = p.to_vec();
            sorted.sort_unstable();
            assert!(sorted.iter().copied().eq(0..n as u32), "n = {n}, perm {k}");
        }
    }
    let small = gpu_engine(Some(1024));
    let c = permutations(&Engine::cpu(), 3, 100, 0..25).unwrap();
    assert_eq!(permutations(&small, 3, 100, 0..25).unwrap(), c);
}

#[test]
fn fisher_z_partial_correlations_on_device_match_cpu() {
    // The device gets the f64 correlation matrix rounded to f32 and runs the Cholesky/Schur
    // complement in f32: for these well-conditioned sets (|S| ≤ 4) the partial correlation moves
    // by under 1e-5, and the p-value by under 2φ(z)·√dof·δr/(1 − r²) < 1e-4 (the documented
    // tolerance; BENCHMARKS.md and discovery's borderline rule use it).
    use ceteris::independence::{IndependenceTest, Tester};
    let Some(gpu) = common::gpu() else { return };
    let d = data(500);
    let cols = ["x", "z", "e", "y", "w", "t"];
    let mut queries = Vec::new();
    for depth in 0..=4 {
        for (i, a) in cols.iter().enumerate() {
            for b in &cols[i + 1..] {
                let z: Vec<String> = cols
                    .iter()
                    .filter(|c| *c != a && *c != b)
                    .take(depth)
                    .map(|c| c.to_string())
                    .collect();
                queries.push((vec![a.to_string()], vec![b.to_string()], z));
            }
        }
    }
    // a singular set (mu0 = 1 + z) is reported by both backends
    queries.push((vec![s("x")], vec![s("y")], vec![s("z"), s("mu0")]));
    let cpu = Tester::new(&Engine::cpu(), &d, IndependenceTest::fisher_z()).batch(&queries);
    let dev = Tester::new(gpu, &d, IndependenceTest::fisher_z()).batch(&queries);
    for ((q, c), g) in queries.iter().zip(&cpu).zip(&dev) {
        match (c, g) {
            (Ok(c), Ok(g)) => {
                assert!(g.backend.starts_with("gpu"), "{}", g.backend);
                let dof = (500 - q.2.len() - 3) as f64;
                let r = |stat: f64| (stat / dof.sqrt()).tanh();
                assert!((r(c.statistic) - r(g.statistic)).abs() < 1e-5, "{q:?}");
                assert!(
                    (c.p_value - g.p_value).abs() < 1e-4,
                    "{q:?}: {} vs {}",
                    c.p_value,
                    g.p_value
                );
            }
            (Err(a), Err(b)) => {
                assert!(a.to_string().contains("singular") && b.to_string().contains("singular"))
            }
            _ => panic!("{q:?}: {c:?} vs {g:?}"),
        }
    }
    // chunked into several dispatches (200-byte bindings: the 7 × 7 correlation matrix fits,
    // 12 tests of |S| = 4 per dispatch): the same numbers
    let small = gpu_engine(Some(200));
    let chunked = Tester::new(&small, &d, IndependenceTest::fisher_z()).batch(&queries);
    for (a, b) in dev.iter().zip(&chunked) {
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a.p_value, b.p_value),
            (Err(_), Err(_)) => {}
            _ => panic!("{a:?} vs {b:?}"),
        }
    }
}

/// PC-stable with `test` on every reference case of causal-learn kind `kind` (no domain), on the
/// CPU and on the device: the same graph and test count unless a decision is within the GPU
/// tolerance of alpha, which the result lists. Returns how many graphs were compared.
fn pc_on_device_matches_cpu(
    gpu: &Engine,
    kind: &str,
    test: ceteris::independence::IndependenceTest,
) -> usize {
    use ceteris::discovery::Pc;
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../reference/discovery_reference.json")).unwrap();
    let mut compared = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["test"] != kind || !case["domain"].is_null() {
            continue;
        }
        let mut d = Dataset::new();
        for (j, c) in case["data"].as_array().unwrap().iter().enumerate() {
            let v = c
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            d.push_column(&format!("X{}", j + 1), v).unwrap();
        }
        let pc = Pc::new(test.clone());
        let c = pc.run(&Engine::cpu(), &d, &[]).unwrap();
        let g = pc.run(gpu, &d, &[]).unwrap();
        assert!(g.backend.starts_with("gpu"), "{}", g.backend);
        if g.borderline.is_empty() {
            assert_eq!(c.tests_run, g.tests_run, "{}", case["name"]);
            assert_eq!(c.marks(), g.marks(), "{}", case["name"]);
            compared += 1;
        }
    }
    compared
}

#[test]
fn pc_fisher_z_on_device_gives_the_cpu_graph() {
    // GPU Fisher-z tolerance: 1e-4
    let Some(gpu) = common::gpu() else { return };
    let compared = pc_on_device_matches_cpu(
        gpu,
        "fisherz",
        ceteris::independence::IndependenceTest::fisher_z(),
    );
    assert!(compared >= 10, "{compared}");
}

#[test]
fn pc_rcot_on_device_gives_the_cpu_graph() {
    // PC-stable with RCoT on the KCI reference data: each level is one device job (GPU RCoT
    // tolerance 2e-3)
    let Some(gpu) = common::gpu() else { return };
    let compared =
        pc_on_device_matches_cpu(gpu, "kci", ceteris::independence::IndependenceTest::rcot());
    eprintln!("{compared} graphs compared");
    assert!(compared >= 1, "{compared}");
}

#[test]
fn spectral_null_draws_on_device_match_the_cpu() {
    // The spectral null's Monte-Carlo draws (Σ w_k g_k², one Philox normal per weight and draw)
    // run on the device in f32 with a tree sum; the factors, statistic and eigenvalue weights stay
    // in f64 on the host, so the statistics are equal. A draw's total differs from the CPU's by
    // f32 rounding (~1e-6 relative), so it lands on the other side of the statistic only when
    // that close to it: expected flips ≪ 1 in 3000 draws; allow 2 (|Δp| ≤ 2/3000). 1 KiB bindings
    // split the draws into 12 batches of 256 with the same numbers.
    use ceteris::independence::{IndependenceTest, Null};
    let Some(gpu) = common::gpu() else { return };
    let small = gpu_engine(Some(1024));
    let n = 300;
    let z = common::normals(n, 31);
    let ex = common::normals(n, 32);
    let ey = common::normals(n, 33);
    let x: Vec<f64> = z.iter().zip(&ex).map(|(z, e)| z + 0.5 * e).collect();
    let y: Vec<f64> = z.iter().zip(&ey).map(|(z, e)| z.sin() + 0.5 * e).collect();
    // unconditional cases on independent columns, the conditional one on a fork (both nulls hold)
    let d = Dataset::new()
        .with_column("u", ex)
        .unwrap()
        .with_column("v", ey)
        .unwrap()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("z", z)
        .unwrap();
    let draws = 3000;
    let cases: [(IndependenceTest, [&str; 2], &[&str]); 3] = [
        (IndependenceTest::hsic(), ["u", "v"], &[]),
        (IndependenceTest::kci(), ["u", "v"], &[]),
        (IndependenceTest::kci(), ["x", "y"], &["z"]),
    ];
    for (test, [a, b], zs) in cases {
        let test = test.null(Null::Spectral(draws)).seed(5);
        let cpu = test.run(&Engine::cpu(), &d, &[a], &[b], zs).unwrap();
        for engine in [gpu, &small] {
            let g = test.run(engine, &d, &[a], &[b], zs).unwrap();
            assert!(g.backend.contains("spectral draws"), "{}", g.backend);
            assert_eq!(g.statistic, cpu.statistic, "{zs:?}");
            assert!(
                (g.p_value - cpu.p_value).abs() <= 2.0 / draws as f64,
                "{zs:?}: {} vs {}",
                g.p_value,
                cpu.p_value
            );
            eprintln!("{zs:?}: p {} (gpu) vs {} (cpu)", g.p_value, cpu.p_value);
        }
    }
}

#[test]
fn chisq_and_gsq_counts_on_device_equal_the_cpu() {
    // The device counts the contingency tables with integer atomics (exact), so statistics,
    // degrees of freedom and p-values equal the CPU's to the bit, at every level of a PC search;
    // codes that do not fit one binding are a `limits` GPU error (which `Engine::auto` reruns on
    // the CPU).
    use ceteris::discovery::Pc;
    use ceteris::independence::{IndependenceTest, Tester};
    let Some(gpu) = common::gpu() else { return };
    let n = 3000;
    let a: Vec<f64> = (0..n).map(|i| ((i * 7 / 3) % 3) as f64).collect();
    let b: Vec<f64> = (0..n).map(|i| ((i * 11 / 5) % 4) as f64).collect();
    let c: Vec<f64> = (0..n)
        .map(|i| {
            if i % 9 == 0 {
                (i / 9 % 3) as f64
            } else {
                ((a[i] + b[i]) / 2.0).floor()
            }
        })
        .collect();
    let d: Vec<f64> = (0..n)
        .map(|i| if i % 7 == 0 { 1.0 } else { c[i] % 2.0 })
        .collect();
    let data = Dataset::new()
        .with_column("a", a)
        .unwrap()
        .with_column("b", b)
        .unwrap()
        .with_column("c", c)
        .unwrap()
        .with_column("d", d)
        .unwrap();
    let q = |x: &str, y: &str, z: &[&str]| {
        (
            vec![x.to_string()],
            vec![y.to_string()],
            z.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    let queries = vec![
        q("a", "b", &[]),
        q("a", "c", &[]),
        q("a", "b", &["c"]),
        q("a", "d", &["c"]),
        q("b", "d", &["a", "c"]),
        q("a", "b", &["c", "d"]),
    ];
    for test in [IndependenceTest::chisq(), IndependenceTest::gsq()] {
        let cpu = Tester::new(&Engine::cpu(), &data, test.clone()).batch(&queries);
        let dev = Tester::new(gpu, &data, test.clone()).batch(&queries);
        let small = gpu_engine(Some(256));
        let limited = Tester::new(&small, &data, test.clone()).batch(&queries);
        for ((c, g), s) in cpu.iter().zip(&dev).zip(&limited) {
            let (c, g) = (c.as_ref().unwrap(), g.as_ref().unwrap());
            assert!(g.backend.starts_with("gpu"), "{}", g.backend);
            assert_eq!(
                (c.statistic, c.p_value, &c.null),
                (g.statistic, g.p_value, &g.null)
            );
            let e = s.as_ref().unwrap_err().to_string();
            assert!(e.contains("limits") && e.contains("codes"), "{e}");
        }
        let cols = ["a", "b", "c", "d"];
        let on = |e: &Engine| Pc::new(test.clone()).run(e, &data, &cols).unwrap();
        let (rc, rg) = (on(&Engine::cpu()), on(gpu));
        assert_eq!(rc.marks(), rg.marks());
        assert_eq!(rc.tests_run, rg.tests_run);
    }
}
