//! Monte-Carlo sweeps, joint samples and effects: reproducibility, closed-form moments,
//! intervention sets read from JSON, progress, overflow reported instead of NaN, the documented
//! noise contract, paired differences, and further nodes summarised from the same samples.

use super::*;

#[test]
fn sweeps_are_reproducible() {
    let m = Scm::from_json(MODEL).unwrap();
    let s = Sweep::new("Y", vec![vec![Intervention::atomic("X", 0.5)]])
        .samples(1000)
        .seed(9);
    let a = s.run(&Engine::cpu(), &m).unwrap();
    let b = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| s.run(&Engine::cpu(), &m).unwrap());
    assert_eq!(a.points[0].mean, b.points[0].mean);
}

#[test]
fn samples_have_the_closed_form_moments_and_match_the_sweep() {
    let m = Scm::from_json(MODEL).unwrap();
    let n = 40_000usize;
    let d = m.sample(&Engine::cpu(), &[], n, 5).unwrap().data;
    assert_eq!(d.names(), ["Z", "X", "Y"]);
    assert_eq!(d.n_rows(), n);
    let (x, y) = (d.column("X").unwrap(), d.column("Y").unwrap());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mx, my) = (mean(x), mean(y));
    let e = m.exact(&[], "Y").unwrap(); // mean 1, variance 5.25
    within(my, e.mean, (e.variance / n as f64).sqrt(), "E[Y]");
    within(mx, 0.0, (1.25 / n as f64).sqrt(), "E[X]");
    // observational slope Cov(X, Y) / Var(X) = 1.75 / 1.25 = 1.4, residual variance
    // 5.25 − 1.75² / 1.25 = 2.8; its standard error is sqrt(2.8 / (n Var X))
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    within(sxy / sxx, 1.4, (2.8 / (n as f64 * 1.25)).sqrt(), "slope");
    // interventional data: X is the constant, Y has the interventional law
    let set = [Intervention::atomic("X", 1.0)];
    let d = m.sample(&Engine::cpu(), &set, n, 5).unwrap().data;
    assert!(d.column("X").unwrap().iter().all(|&v| v == 1.0));
    let ey = m.exact(&set, "Y").unwrap();
    within(
        mean(d.column("Y").unwrap()),
        ey.mean,
        (ey.variance / n as f64).sqrt(),
        "E[Y | do(X = 1)]",
    );
    // sample i is the sweep's sample i: the same mean up to the order of summation (the sweep
    // merges chunks of 4096 samples)
    let r = Sweep::new("Y", vec![set.to_vec()])
        .samples(n as u64)
        .seed(5)
        .run(&Engine::cpu(), &m)
        .unwrap();
    assert!((r.points[0].mean - mean(d.column("Y").unwrap())).abs() < 1e-14);
    // and independent of the thread count
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| m.sample(&Engine::cpu(), &set, n, 5).unwrap().data);
    assert_eq!(one.column("Y").unwrap(), d.column("Y").unwrap());
    assert!(
        matches!(m.sample(&Engine::cpu(), &[], 0, 1), Err(Error::InvalidParameter { name, .. }) if name == "samples")
    );
    model_err(
        m.sample(&Engine::cpu(), &[Intervention::shift("Q", 1.0)], 10, 1),
        "node",
        "unknown node `Q`",
    );
}

#[test]
fn intervention_sets_from_json_run_in_file_order() {
    let m = Scm::from_json(MODEL).unwrap();
    let sets = Intervention::sets_from_json(
        r#"[[{"node": "X", "type": "atomic", "value": 1.0}],
            [{"node": "X", "type": "shift", "delta": 1.0}, {"node": "Z", "type": "atomic", "value": -1}],
            []]"#,
    )
    .unwrap();
    assert_eq!(
        sets,
        vec![
            vec![Intervention::atomic("X", 1.0)],
            vec![
                Intervention::shift("X", 1.0),
                Intervention::atomic("Z", -1.0)
            ],
            vec![],
        ]
    );
    let r = Sweep::new("Y", sets.clone())
        .samples(20_000)
        .run(&Engine::cpu(), &m)
        .unwrap();
    for (p, set) in r.points.iter().zip(&sets) {
        let e = m.exact(set, "Y").unwrap();
        within(p.mean, e.mean, p.mc_error, "mean");
    }
    assert_eq!(r.points[1].shifts["X"], 1.0);
    assert_eq!(r.points[1].interventions["Z"], -1.0);
    for (text, needle) in [
        ("{}", "list of intervention sets"),
        ("[]", "no intervention sets"),
        ("[1]", "set 0 is not a list"),
        (
            r#"[[], [{"node": "X", "type": "atomic"}]]"#,
            "set 1, entry 0",
        ),
        (r#"[[{"node": "X", "type": "hard", "value": 1}]]"#, "`type`"),
        (r#"[[{"type": "atomic", "value": 1}]]"#, "`node`"),
        (
            r#"[[{"node": "X", "type": "shift", "value": 1}]]"#,
            "not `value`",
        ),
        (
            r#"[[{"node": "X", "type": "shift", "delta": 1, "extra": 2}]]"#,
            "unknown key `extra`",
        ),
        ("[[", "not valid JSON"),
    ] {
        model_err(Intervention::sets_from_json(text), "interventions", needle);
    }
    // node errors name the setting
    let bad =
        Intervention::sets_from_json(r#"[[], [{"node": "Q", "type": "atomic", "value": 1}]]"#)
            .unwrap();
    model_err(
        Sweep::new("Y", bad).samples(10).run(&Engine::cpu(), &m),
        "node",
        "setting 1: unknown node `Q`",
    );
}

#[test]
fn progress_reaches_the_total_and_does_not_change_results() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let m = Scm::from_json(MODEL).unwrap();
    let sweep = Sweep::new(
        "Y",
        (0..5)
            .map(|i| vec![Intervention::atomic("X", i as f64)])
            .collect(),
    )
    .samples(10_000)
    .quantiles(&[0.5]);
    let (last, calls) = (AtomicU64::new(0), AtomicU64::new(0));
    let tick = |done: u64, total: u64| {
        assert_eq!(total, 50_000);
        assert!(done <= total);
        last.fetch_max(done, Ordering::Relaxed);
        calls.fetch_add(1, Ordering::Relaxed);
    };
    let a = sweep
        .run_with_progress(&Engine::cpu(), &m, Some(&tick))
        .unwrap();
    assert_eq!(last.into_inner(), 50_000);
    assert!(calls.into_inner() >= 5);
    let b = sweep.run(&Engine::cpu(), &m).unwrap();
    for (p, q) in a.points.iter().zip(&b.points) {
        assert_eq!((p.mean, p.variance), (q.mean, q.variance));
        assert_eq!(p.quantiles, q.quantiles);
    }
}

#[test]
fn sweeps_report_overflow_instead_of_nan() {
    let m = Scm::new(vec![
        Node::linear("A", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "B",
            0.0,
            &[],
            vec![unary(Func::Exp, "A", 1.0, 1.0)],
            Noise::Normal { scale: 1.0 },
        ),
    ])
    .unwrap();
    let r = Sweep::new("B", vec![vec![], vec![Intervention::atomic("A", 1000.0)]])
        .samples(100)
        .run(&Engine::cpu(), &m);
    model_err(r, "B", "setting 1");
    model_err(
        m.effect(
            &Engine::cpu(),
            &[Intervention::atomic("A", 1000.0)],
            &[],
            "B",
            100,
            0,
        ),
        "B",
        "not finite",
    );
}

/// Every sample of `Scm::sample` and the sweep against a scalar evaluation of the documented
/// noise contract written here with the standard library's `ln`, `sin_cos` and `exp`: the
/// vectorised sampler's polynomials are accurate to a few ulp, so values agree to 1e-12 of
/// their size (after a few nonlinear stages the differences stay below 1e-14 here).
#[test]
fn samples_follow_the_documented_noise_contract() {
    use ceteris::rng::{open_unit, Stream, STREAM_MONTE_CARLO};
    let product = Term::Product {
        parents: vec!["A".into(), "E".into()],
        weight: 0.9,
    };
    let m = Scm::new(vec![
        Node::linear("A", 0.2, &[], Noise::Normal { scale: 1.0 }),
        Node::linear("B", 0.0, &[("A", 0.7)], Noise::Normal { scale: 0.5 }),
        Node::linear(
            "C",
            0.0,
            &[("B", 0.3)],
            Noise::Uniform {
                low: -1.0,
                high: 2.0,
            },
        ),
        Node::additive(
            "D",
            0.0,
            &[("C", 0.2)],
            vec![Term::Unary {
                func: Func::Tanh,
                parent: "B".into(),
                weight: 1.5,
                inner_scale: 0.5,
                inner_shift: 0.1,
            }],
            Noise::Normal { scale: 2.0 },
        ),
        Node::logistic("E", -0.2, &[("D", 0.4)], vec![]),
        Node::additive(
            "F",
            0.0,
            &[("B", 1.1)],
            vec![product],
            Noise::Laplace { scale: 0.8 },
        ),
        Node::linear("G", 0.0, &[("F", 0.5)], Noise::Normal { scale: 1.0 }),
        Node::linear("H", 0.0, &[("G", 0.3)], Noise::Normal { scale: 1.5 }),
        Node::linear("I", 0.0, &[("H", -0.2)], Noise::Normal { scale: 0.1 }),
    ])
    .unwrap();
    let (n, seed) = (700, 9); // crosses the sampler's 256-sample blocks, not a multiple of 16
    let set = [Intervention::shift("C", 0.25)];
    let d = m.sample(&Engine::cpu(), &set, n, seed).unwrap().data;
    assert_eq!(d.names(), ["A", "B", "C", "D", "E", "F", "G", "H", "I"]);
    let s = Stream::new(seed, STREAM_MONTE_CARLO);
    let bm = |w0: u32, w1: u32| {
        let r = (-2.0 * open_unit(w0).ln()).sqrt();
        let (sn, cs) = (2.0 * std::f64::consts::PI * open_unit(w1)).sin_cos();
        (r * cs, r * sn)
    };
    for i in 0..n {
        // pairs (A, B), (C, D), (E, F), (G, H), (I); m = 9: ⌈9/4⌉ = 3 blocks for the shared
        // pairs 0 and 3 (words 0, 1 of block 0 and words 2, 3 of block 1), then block 3 + p for
        // the other pairs p
        let w: Vec<[u32; 4]> = (0..8).map(|b| s.block(i as u32, b)).collect();
        let (za, zb) = bm(w[0][0], w[0][1]); // a normal pair shares one transform
        let a = 0.2 + za;
        let b = 0.7 * a + 0.5 * zb;
        let c = 0.3 * b + (-1.0 + 3.0 * open_unit(w[4][0])) + 0.25;
        let dd = 0.2 * c + 1.5 * (0.5 * b + 0.1).tanh() + 2.0 * bm(w[4][2], w[4][3]).0;
        let e = (open_unit(w[5][0]) < 1.0 / (1.0 + (0.2 - 0.4 * dd).exp())) as u8 as f64;
        let u = open_unit(w[5][2]) - 0.5;
        let f = 1.1 * b + 0.9 * a * e - 0.8 * u.signum() * (1.0 - 2.0 * u.abs()).ln();
        let (zg, zh) = bm(w[1][2], w[1][3]);
        let g = 0.5 * f + zg;
        let h = 0.3 * g + 1.5 * zh;
        let ii = -0.2 * h + 0.1 * bm(w[7][0], w[7][1]).0;
        let want = [a, b, c, dd, e, f, g, h, ii];
        for (name, want) in ["A", "B", "C", "D", "E", "F", "G", "H", "I"]
            .into_iter()
            .zip(want)
        {
            let got = d.column(name).unwrap()[i];
            assert!(
                (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "sample {i} node {name}: {got} vs {want}"
            );
        }
    }
    // the sweep sees the same samples: its extreme quantiles are the extreme samples
    let r = Sweep::new("G", vec![set.to_vec()])
        .samples(n as u64)
        .seed(seed)
        .quantiles(&[0.0, 1.0])
        .run(&Engine::cpu(), &m)
        .unwrap();
    let col = d.column("G").unwrap();
    let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(r.points[0].quantiles["0"], lo);
    assert_eq!(r.points[0].quantiles["1"], hi);
}

/// Y = X·Z + N with Z ~ N(1, 1): under common noise the per-sample contrast of do(X = 1) against
/// do(X = 0) is Z itself, so the effect is the mean of the Z that `Scm::sample` draws with the
/// same seed (its setting-0 noise), and its standard error is Z's.
#[test]
fn effect_is_the_mean_of_the_paired_differences() {
    let m = Scm::new(vec![
        Node::linear("Z", 1.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear("X", 0.0, &[("Z", 0.5)], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "Y",
            0.0,
            &[],
            vec![Term::Product {
                parents: vec!["X".into(), "Z".into()],
                weight: 1.0,
            }],
            Noise::Normal { scale: 2.0 },
        ),
    ])
    .unwrap();
    let n = 9_000; // more than one chunk of 4096
    let e = m
        .effect(
            &Engine::cpu(),
            &[Intervention::atomic("X", 1.0)],
            &[Intervention::atomic("X", 0.0)],
            "Y",
            n as u64,
            21,
        )
        .unwrap();
    assert!(e.backend.starts_with("cpu"), "{}", e.backend);
    let z = m
        .sample(&Engine::cpu(), &[], n, 21)
        .unwrap()
        .data
        .column("Z")
        .unwrap()
        .to_vec();
    let mz = z.iter().sum::<f64>() / n as f64;
    let sz = (z.iter().map(|v| (v - mz).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
    assert!((e.ace - mz).abs() < 1e-12, "{} vs {mz}", e.ace);
    assert!((e.mc_error - sz / (n as f64).sqrt()).abs() < 1e-12);
    within(e.ace, 1.0, e.mc_error, "ACE");
}

/// `Sweep::nodes`: every further node's summaries match the closed form within 5 standard
/// errors, come from the same samples as the outcome (bit for bit what a sweep of that node
/// alone gives), and leave the outcome's summaries unchanged; bad requests are named.
#[test]
fn further_nodes_are_summarised_from_the_same_samples() {
    let m = Scm::from_json(MODEL).unwrap();
    let sets = vec![
        vec![Intervention::atomic("X", 1.0)],
        vec![Intervention::shift("X", 1.0)],
        vec![],
    ];
    let sweep = |outcome: &str, nodes: &[&str]| {
        Sweep::new(outcome, sets.clone())
            .nodes(nodes)
            .samples(20_000)
            .quantiles(&[0.5])
            .seed(5)
            .run(&Engine::cpu(), &m)
            .unwrap()
    };
    let both = sweep("Y", &["X", "Z"]);
    let alone = sweep("Y", &[]);
    let xs = sweep("X", &[]);
    for (s, set) in sets.iter().enumerate() {
        let p = &both.points[s];
        assert_eq!(p.mean.to_bits(), alone.points[s].mean.to_bits());
        assert_eq!(p.variance.to_bits(), alone.points[s].variance.to_bits());
        assert!(alone.points[s].nodes.is_empty());
        let x = &p.nodes["X"];
        assert_eq!(x.mean.to_bits(), xs.points[s].mean.to_bits(), "setting {s}");
        assert_eq!(x.quantiles["0.5"], xs.points[s].quantiles["0.5"]);
        for name in ["X", "Z"] {
            let e = m.exact(set, name).unwrap();
            let q = &p.nodes[name];
            within(q.mean, e.mean, q.mc_error.max(1e-12), name);
            if e.variance > 0.0 {
                let se_var = e.variance * (2.0f64 / (20_000.0 - 1.0)).sqrt();
                within(q.variance, e.variance, se_var, name);
            } else {
                assert_eq!(q.variance, 0.0, "{name} is set");
            }
        }
    }
    // JSON: `nodes` only when asked for
    let j = serde_json::to_value(&both).unwrap();
    assert!(j["points"][0]["nodes"]["Z"]["mean"].is_number());
    let j = serde_json::to_value(&alone).unwrap();
    assert!(j["points"][0].get("nodes").is_none());
    // bad requests
    let bad = |nodes: &[&str]| {
        Sweep::new("Y", sets.clone())
            .nodes(nodes)
            .run(&Engine::cpu(), &m)
            .unwrap_err()
            .to_string()
    };
    assert!(bad(&["W"]).contains("W"), "{}", bad(&["W"]));
    assert!(bad(&["Y"]).contains("twice"), "{}", bad(&["Y"]));
    assert!(bad(&["Z", "Z"]).contains("twice"));

    // the CLI: --nodes in JSON (sampled and exact) and CSV
    let dir = std::env::temp_dir().join(format!("ceteris-scm-nodes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.json");
    std::fs::write(&model, MODEL).unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args([
                "sweep",
                "--model",
                model.to_str().unwrap(),
                "--outcome",
                "Y",
            ])
            .args(["--do", "X=0,1", "--nodes", "Z,X"])
            // --exact samples nothing and refuses --samples
            .args(if extra.contains(&"--exact") {
                &[][..]
            } else {
                &["--samples", "5000"][..]
            })
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let j: serde_json::Value = serde_json::from_str(&run(&["--backend", "cpu"])).unwrap();
    let z = &j["points"][1]["nodes"]["Z"];
    assert!(z["mean"].as_f64().unwrap().abs() < 5.0 * z["mc_error"].as_f64().unwrap());
    assert_eq!(j["points"][1]["nodes"]["X"]["mean"], 1.0);
    let j: serde_json::Value = serde_json::from_str(&run(&["--exact"])).unwrap();
    assert_eq!(j["points"][1]["nodes"]["Z"]["variance"], 1.0);
    let csv = run(&["--backend", "cpu", "--format", "csv", "--quantiles", "0.5"]);
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "X,mean,variance,mc_error,q0.5,Z_mean,Z_variance,Z_mc_error,Z_q0.5,X_mean,X_variance,X_mc_error,X_q0.5"
    );
    assert_eq!(csv.lines().count(), 3);
}
