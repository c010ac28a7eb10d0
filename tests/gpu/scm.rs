//! SCM sweeps, effects and joint samples (`Scm::sample`) on the device, against the CPU's.
//!
//! Tolerance: the device evaluates every structural equation in f32 with the same noise words as
//! the CPU's f64 (integer Philox words are identical; `open_unit` is exact in f32), so a sample's
//! outcome differs from the CPU's by the accumulated f32 rounding of its equations: a few ulps
//! (~6e-8 relative) per operation, about 30 operations per node on the longest path here (terms
//! with transcendental functions, WGSL's log/exp/sin/cos within a few ulps after range reduction),
//! amplified at most ~3× by cube/exp, i.e. |δ| ≲ 1e-5 · (|y| + sd). The mean then differs by at
//! most that much; the variance by about 2 · sd · |δ|. The device sums are centred on a pilot
//! mean and reduced by trees of 256 in f32, then in f64 on the host: relative error ~1e-7 per tree
//! on terms of size ~sd, below the sampling noise by far. So we require
//! |Δmean| ≤ 2e-5 · (|mean| + sd) and |Δvariance| ≤ 1e-4 · variance, plus, for an outcome with a
//! logistic parent, one jump of the logistic node's coefficient per flip (at most 2 flips) divided
//! by the sample count: a 0/1 draw flips only when the uniform lies within f32 rounding (~3e-7) of
//! the threshold, about 3e-7 of samples.

use super::*;
use ceteris::scm::{Func, Intervention, Node, Noise, Scm, Sweep, Term};

fn unary(func: Func, parent: &str, weight: f64, inner_scale: f64, inner_shift: f64) -> Term {
    Term::Unary {
        func,
        parent: parent.into(),
        weight,
        inner_scale,
        inner_shift,
    }
}

/// Every node type, every function and every noise law; pairs of normal nodes that share one
/// Box–Muller transform and normal nodes paired with a non-normal one.
fn sweep_model() -> Scm {
    Scm::new(vec![
        Node::linear("Z", 0.5, &[], Noise::Normal { scale: 1.0 }),
        Node::linear("W", 0.0, &[("Z", 0.4)], Noise::Normal { scale: 0.7 }),
        Node::linear(
            "U",
            0.0,
            &[],
            Noise::Uniform {
                low: -1.0,
                high: 2.0,
            },
        ),
        Node::linear("L", 0.0, &[("W", -0.3)], Noise::Laplace { scale: 0.5 }),
        Node::logistic(
            "T",
            0.2,
            &[("Z", 0.8)],
            vec![unary(Func::Tanh, "U", 0.5, 1.0, 0.0)],
        ),
        Node::additive(
            "A",
            0.1,
            &[("W", 0.5)],
            vec![
                unary(Func::Identity, "L", 0.3, 1.0, 0.0),
                unary(Func::Tanh, "Z", 1.0, 1.5, 0.2),
                unary(Func::Square, "U", 0.5, 1.0, -0.5),
                unary(Func::Cube, "L", 0.2, 0.5, 0.0),
                unary(Func::Sin, "Z", 0.7, 2.0, 0.0),
                unary(Func::Cos, "U", -0.4, 3.0, 1.0),
                unary(Func::Exp, "Z", 0.3, 0.3, 0.0),
                unary(Func::Sigmoid, "L", 1.2, 2.0, 0.0),
                unary(Func::Relu, "W", 0.9, 1.0, 0.1),
                unary(Func::Abs, "U", -0.6, 1.0, -0.5),
                unary(Func::Softplus, "Z", 0.5, 1.0, 0.0),
                Term::Product {
                    parents: vec!["Z".into(), "U".into()],
                    weight: 0.25,
                },
            ],
            Noise::Normal { scale: 0.3 },
        ),
        Node::additive(
            "Y",
            -0.5,
            &[("A", 1.0), ("T", 2.0)],
            vec![
                Term::Product {
                    parents: vec!["T".into(), "Z".into()],
                    weight: 0.5,
                },
                unary(Func::Tanh, "A", 0.5, 1.0, 0.0),
            ],
            Noise::Laplace { scale: 0.2 },
        ),
        Node::linear("V", 1.0, &[("Y", 0.5)], Noise::Normal { scale: 0.4 }),
        Node::linear(
            "S",
            0.0,
            &[("V", 1.0), ("U", 0.2)],
            Noise::Normal { scale: 0.2 },
        ),
    ])
    .unwrap()
}

fn sweep_settings() -> Vec<Vec<Intervention>> {
    vec![
        vec![],
        vec![Intervention::atomic("Z", 0.5)],
        vec![Intervention::atomic("Z", -1.5)],
        vec![Intervention::atomic("T", 1.0)],
        vec![Intervention::atomic("T", 0.0)],
        vec![Intervention::shift("A", 1.0)],
        vec![
            Intervention::shift("Z", -0.5),
            Intervention::atomic("U", 0.3),
        ],
        vec![
            Intervention::atomic("W", 2.0),
            Intervention::shift("L", 0.25),
        ],
    ]
}

/// Asserts the documented tolerance (module comment above) between two sweep results; `jump` is
/// the outcome's change when its logistic parent flips (0 when it has none).
fn assert_sweeps_close(c: &ceteris::scm::SweepResult, g: &ceteris::scm::SweepResult, jump: f64) {
    let n = c.samples as f64;
    let (mut worst_mean, mut worst_var) = (0.0f64, 0.0f64);
    for (s, (a, b)) in c.points.iter().zip(&g.points).enumerate() {
        let sd = a.variance.sqrt();
        worst_mean = worst_mean.max((a.mean - b.mean).abs() / (a.mean.abs() + sd));
        worst_var = worst_var.max((a.variance - b.variance).abs() / a.variance);
        let tol = 2e-5 * (a.mean.abs() + sd) + 2.0 * jump / n;
        assert!(
            (a.mean - b.mean).abs() <= tol,
            "{} setting {s}: mean cpu {} gpu {} (tol {tol})",
            c.outcome,
            a.mean,
            b.mean
        );
        let vtol = 1e-4 * a.variance + 2.0 * jump * (jump + 2.0 * sd) / n;
        assert!(
            (a.variance - b.variance).abs() <= vtol,
            "{} setting {s}: variance cpu {} gpu {} (tol {vtol})",
            c.outcome,
            a.variance,
            b.variance
        );
        for (q, v) in &a.quantiles {
            let w = b.quantiles[q];
            assert!(
                (v - w).abs() <= tol.max(2e-5 * v.abs()),
                "{} setting {s}: quantile {q} cpu {v} gpu {w}",
                c.outcome
            );
        }
    }
    eprintln!(
        "{}: largest mean deviation {worst_mean:.1e} of |mean| + sd, variance {worst_var:.1e} \
         relative",
        c.outcome
    );
}

#[test]
fn scm_sweep_on_device_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    for (outcome, jump) in [("Y", 2.5), ("A", 0.0), ("S", 1.25), ("L", 0.0)] {
        for crn in [false, true] {
            let sweep = Sweep::new(outcome, sweep_settings())
                .samples(20_000)
                .seed(11)
                .common_random_numbers(crn);
            let c = sweep.run(&Engine::cpu(), &scm).unwrap();
            let g = sweep.run(gpu, &scm).unwrap();
            assert!(g.backend.starts_with("gpu"), "{}", g.backend);
            assert_sweeps_close(&c, &g, jump);
        }
    }
}

#[test]
fn scm_sweep_shared_noise_on_device_matches_each_setting_alone() {
    // Under common random numbers the device draws a sample's noise once for all the settings
    // of its workgroup and evaluates once the nodes no setting changes (the shared program);
    // a one-setting sweep with its own noise reads setting 0's noise too, through the
    // per-setting path. Same noise words, the same f32 operations per node, the same centring
    // pivot (the host pilot of setting 0's noise) and reduction tree, so the two agree within
    // the module tolerance (which bounds each against the CPU's f64) and, where the compiler
    // contracts both paths alike (lavapipe), exactly. 3000 samples = 12 workgroups and 8
    // settings: on a CPU adapter 6 settings per workgroup, so the second row of workgroups
    // holds a partial tile of 2.
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    let n = 3_000u32;
    let (mut exact, mut all) = (0, 0);
    for (outcome, jump) in [("Y", 2.5), ("A", 0.0), ("S", 1.25), ("L", 0.0), ("T", 1.0)] {
        for quantiles in [&[][..], &[0.1, 0.5, 0.9][..]] {
            let shared = Sweep::new(outcome, sweep_settings())
                .samples(n as u64)
                .seed(21)
                .quantiles(quantiles)
                .run(gpu, &scm)
                .unwrap();
            assert!(shared.backend.starts_with("gpu"), "{}", shared.backend);
            for (s, setting) in sweep_settings().into_iter().enumerate() {
                let alone = Sweep::new(outcome, vec![setting])
                    .samples(n as u64)
                    .seed(21)
                    .quantiles(quantiles)
                    .common_random_numbers(false)
                    .run(gpu, &scm)
                    .unwrap();
                assert!(alone.backend.starts_with("gpu"), "{}", alone.backend);
                let (a, b) = (&alone.points[0], &shared.points[s]);
                let sd = a.variance.sqrt();
                let tol = 2e-5 * (a.mean.abs() + sd) + 2.0 * jump / n as f64;
                assert!(
                    (a.mean - b.mean).abs() <= tol,
                    "{outcome} setting {s}: mean alone {} shared {}",
                    a.mean,
                    b.mean
                );
                let vtol = 1e-4 * a.variance + 2.0 * jump * (jump + 2.0 * sd) / n as f64;
                assert!(
                    (a.variance - b.variance).abs() <= vtol,
                    "{outcome} setting {s}: variance alone {} shared {}",
                    a.variance,
                    b.variance
                );
                for (q, v) in &a.quantiles {
                    let w = b.quantiles[q];
                    assert!(
                        (v - w).abs() <= tol.max(2e-5 * v.abs()),
                        "{outcome} setting {s}: quantile {q} alone {v} shared {w}"
                    );
                }
                all += 1;
                exact += (a.mean == b.mean
                    && a.variance == b.variance
                    && a.quantiles == b.quantiles) as usize;
            }
        }
    }
    eprintln!("shared noise: {exact} of {all} settings identical to the per-setting path");
}

#[test]
fn scm_effects_on_device_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    // the sweep tolerance applied to the paired differences: a logistic parent that flips in
    // f32 (Z's contrast leaves T random) moves one difference by up to 2.5
    for (alt, reference, outcome, jump) in [
        ("T", (1.0, 0.0), "Y", 0.0),
        ("Z", (0.5, -1.5), "Y", 2.5),
        ("Z", (0.5, -1.5), "S", 1.25),
    ] {
        let (a, r) = (
            [Intervention::atomic(alt, reference.0)],
            [Intervention::atomic(alt, reference.1)],
        );
        let n = 20_000u64;
        let c = scm.effect(&Engine::cpu(), &a, &r, outcome, n, 4).unwrap();
        let g = scm.effect(gpu, &a, &r, outcome, n, 4).unwrap();
        assert!(g.backend.starts_with("gpu"), "{}", g.backend);
        let sd = c.mc_error * (n as f64).sqrt();
        let tol = 2e-5 * (c.ace.abs() + sd) + 2.0 * jump / n as f64;
        assert!(
            (c.ace - g.ace).abs() <= tol,
            "{alt} {outcome}: ace cpu {} gpu {}",
            c.ace,
            g.ace
        );
        let (vc, vg) = (sd * sd, g.mc_error.powi(2) * n as f64);
        let vtol = 1e-4 * vc + 2.0 * jump * (jump + 2.0 * sd) / n as f64;
        assert!(
            (vc - vg).abs() <= vtol,
            "{alt} {outcome}: variance cpu {vc} gpu {vg}"
        );
    }
}

#[test]
fn scm_sweep_quantiles_on_device_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    let sweep = Sweep::new("Y", sweep_settings())
        .samples(5_000)
        .seed(3)
        .quantiles(&[0.05, 0.5, 0.95]);
    let c = sweep.run(&Engine::cpu(), &scm).unwrap();
    let g = sweep.run(gpu, &scm).unwrap();
    assert!(g.backend.starts_with("gpu"), "{}", g.backend);
    assert_eq!(g.points[0].quantiles.len(), 3);
    assert_sweeps_close(&c, &g, 2.5);
}

#[test]
fn scm_logistic_draws_on_device_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    // T's mean times n counts its ones: the device draws the same 0/1 values except where the
    // uniform lies within f32 rounding of sigmoid(eta) (expected ~3e-7 of samples: 0 here)
    let sweep = Sweep::new("T", sweep_settings()).samples(50_000).seed(5);
    let c = sweep.run(&Engine::cpu(), &scm).unwrap();
    let g = sweep.run(gpu, &scm).unwrap();
    for (a, b) in c.points.iter().zip(&g.points) {
        let (ones_c, ones_g) = (a.mean * 50_000.0, b.mean * 50_000.0);
        assert!(
            (ones_c - ones_g).abs() <= 1.0 + 1e-6,
            "{ones_c} vs {ones_g}"
        );
    }
}

#[test]
fn scm_sweep_chunked_on_device_gives_the_same_numbers() {
    if common::gpu().is_none() {
        return;
    }
    let scm = sweep_model();
    // 1 KiB bindings: 85 workgroups of partial sums per dispatch, so 50 000 samples (196
    // workgroups) take three dispatches per setting and one setting per dispatch
    let small = gpu_engine(Some(1024));
    let sweep = Sweep::new("Y", sweep_settings()[..3].to_vec())
        .samples(50_000)
        .seed(9);
    let big = sweep.run(common::gpu().unwrap(), &scm).unwrap();
    let chunked = sweep.run(&small, &scm).unwrap();
    for (a, b) in big.points.iter().zip(&chunked.points) {
        assert_eq!((a.mean, a.variance), (b.mean, b.variance));
    }
    // samples read back for quantiles: one workgroup of 256 samples per dispatch
    let sweep = sweep.samples(3_000).quantiles(&[0.1, 0.9]);
    let big = sweep.run(common::gpu().unwrap(), &scm).unwrap();
    let chunked = sweep.run(&small, &scm).unwrap();
    for (a, b) in big.points.iter().zip(&chunked.points) {
        assert_eq!((a.mean, a.variance), (b.mean, b.variance));
        assert_eq!(a.quantiles, b.quantiles);
    }
    // effects: the pair's two plans fill one dispatch row, three dispatches of samples
    let (a, r) = (
        [Intervention::atomic("Z", 0.5)],
        [Intervention::atomic("Z", -1.5)],
    );
    let big = scm
        .effect(common::gpu().unwrap(), &a, &r, "Y", 50_000, 9)
        .unwrap();
    let chunked = scm.effect(&small, &a, &r, "Y", 50_000, 9).unwrap();
    assert_eq!((big.ace, big.mc_error), (chunked.ace, chunked.mc_error));
}

/// `Y = exp(X) + noise`: under `do(X = 100)` the outcome overflows f32 but not f64.
fn exp_model() -> Scm {
    Scm::new(vec![
        Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "Y",
            0.0,
            &[],
            vec![unary(Func::Exp, "X", 1.0, 1.0, 0.0)],
            Noise::Normal { scale: 1.0 },
        ),
    ])
    .unwrap()
}

#[test]
fn scm_sweep_f32_overflow_falls_back_to_cpu() {
    if common::gpu().is_none() {
        return;
    }
    let scm = exp_model();
    let sweep = Sweep::new(
        "Y",
        vec![
            vec![Intervention::atomic("X", 0.0)],
            vec![Intervention::atomic("X", 100.0)],
        ],
    )
    .samples(1000);
    assert_limits(sweep.run(common::gpu().unwrap(), &scm), "setting 1");
    let auto_like = fallback_gpu(None);
    let r = sweep.run(&auto_like, &scm).unwrap();
    assert!(
        r.backend.starts_with("cpu") && r.backend.contains("fallback"),
        "{}",
        r.backend
    );
    let c = sweep.run(&Engine::cpu(), &scm).unwrap();
    assert_eq!(r.points[1].mean, c.points[1].mean);
}

#[test]
fn scm_sweep_progress_on_device_reaches_total() {
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    let last = std::sync::atomic::AtomicU64::new(0);
    let tick = |done: u64, total: u64| {
        assert_eq!(total, 3 * 1000);
        last.fetch_max(done, std::sync::atomic::Ordering::Relaxed);
    };
    Sweep::new("Y", sweep_settings()[..3].to_vec())
        .samples(1000)
        .run_with_progress(gpu, &scm, Some(&tick))
        .unwrap();
    assert_eq!(last.into_inner(), 3000);
}

/// A 300-node linear model: `X0 → X1 → … → X(k−1)` with normal, uniform and Laplace noise in
/// turn, and with `wide` a last node `Y` that reads every `Xj` (so 300 values are live at once:
/// more value slots than the shader's private array, the `sweep-wide` variant).
fn long_model(wide: bool) -> Scm {
    let k = if wide { 299 } else { 300 };
    let names: Vec<String> = (0..k).map(|j| format!("X{j}")).collect();
    let noise = |j: usize| match j % 3 {
        0 => Noise::Normal { scale: 1.0 },
        1 => Noise::Uniform {
            low: -1.0,
            high: 1.5,
        },
        _ => Noise::Laplace { scale: 0.5 },
    };
    let mut nodes = vec![Node::linear(&names[0], 0.5, &[], noise(0))];
    for j in 1..k {
        nodes.push(Node::linear(
            &names[j],
            0.1,
            &[(&names[j - 1], 0.9)],
            noise(j),
        ));
    }
    if wide {
        let coef: Vec<(&str, f64)> = names
            .iter()
            .enumerate()
            .map(|(j, s)| (s.as_str(), if j % 2 == 0 { 0.05 } else { -0.03 }))
            .collect();
        nodes.push(Node::linear("Y", 1.0, &coef, Noise::Normal { scale: 0.5 }));
    }
    Scm::new(nodes).unwrap()
}

#[test]
fn scm_sweep_of_300_nodes_on_device_matches_cpu_and_exact() {
    // More than 256 nodes: a 300-node chain (one value slot per thread, the private array) and
    // a 300-node model whose outcome reads every node (300 slots: the storage-buffer variant).
    // The sweep tolerance of the module comment above, and the closed form within 5 standard
    // errors.
    let Some(gpu) = common::gpu() else { return };
    for (wide, outcome) in [(false, "X299"), (true, "Y")] {
        let scm = long_model(wide);
        assert_eq!(scm.names().len(), 300);
        let settings = vec![
            vec![],
            vec![Intervention::atomic("X100", 2.0)],
            vec![
                Intervention::shift("X250", 1.0),
                Intervention::atomic("X3", -1.0),
            ],
        ];
        for quantiles in [&[][..], &[0.1, 0.5, 0.9][..]] {
            let sweep = Sweep::new(outcome, settings.clone())
                .samples(20_000)
                .seed(17)
                .quantiles(quantiles);
            let c = sweep.run(&Engine::cpu(), &scm).unwrap();
            let g = sweep.run(gpu, &scm).unwrap();
            assert!(g.backend.starts_with("gpu"), "{}", g.backend);
            assert_sweeps_close(&c, &g, 0.0);
            for (s, p) in g.points.iter().enumerate() {
                let e = scm.exact(&settings[s], outcome).unwrap();
                assert!(
                    (p.mean - e.mean).abs() <= 5.0 * p.mc_error,
                    "{outcome} setting {s}: {} vs exact {}",
                    p.mean,
                    e.mean
                );
                assert!(
                    (p.variance / e.variance - 1.0).abs() < 0.05,
                    "{outcome} setting {s}: {} vs exact {}",
                    p.variance,
                    e.variance
                );
            }
        }
        // paired effects (both plans per thread) on the same model; each sample's difference
        // carries the rounding of two evaluations of the outcome, so the tolerance scales with
        // the outcome's size (the paired differences are nearly constant here)
        let (a, r) = (
            [Intervention::atomic("X290", 2.0)],
            [Intervention::atomic("X290", 0.0)],
        );
        let c = scm
            .effect(&Engine::cpu(), &a, &r, outcome, 20_000, 3)
            .unwrap();
        let g = scm.effect(gpu, &a, &r, outcome, 20_000, 3).unwrap();
        assert!(g.backend.starts_with("gpu"), "{}", g.backend);
        let y = scm.exact(&[], outcome).unwrap();
        let tol = 4e-5 * (y.mean.abs() + y.variance.sqrt());
        assert!(
            (c.ace - g.ace).abs() <= tol,
            "{outcome}: ace cpu {} gpu {} (tol {tol})",
            c.ace,
            g.ace
        );
        let e = scm.exact(&a, outcome).unwrap().mean - scm.exact(&r, outcome).unwrap().mean;
        assert!(
            (c.ace - e).abs() <= 1e-9 + 5.0 * c.mc_error,
            "{} vs {e}",
            c.ace
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Joint samples (`Scm::sample`) on the device.
//
// Tolerance: the device draws the same noise words and evaluates every structural equation in
// f32, so a value differs from the CPU's f64 one by the rounding the sweep tolerance above
// accounts for: we require |gpu − cpu| ≤ 2e-5 · (|cpu| + sd) per value, sd the CPU column's
// standard deviation. A logistic node's 0/1 value flips only where its uniform lies within f32
// rounding of sigmoid(eta): the test recomputes, for each row where T differs, T's uniform (the
// contract: block ⌈m/4⌉ + ⌊j/2⌋, word 2 (j mod 2), T never shares a Box–Muller pair) and
// sigmoid(eta) from the CPU row in f64, accepts the flip only when they are within 1e-5, and
// leaves the row out of the elementwise comparison (T's descendants differ in it); at most 2
// such rows (expected: ~3e-7 of rows, none here).

/// Asserts the elementwise tolerance above between CPU and GPU samples of `scm` (`logistic`:
/// the index of T in `sweep_model`, whose flips are checked as described); the largest
/// deviation in units of `|cpu| + sd`.
fn assert_samples_close(
    scm: &Scm,
    c: &ceteris::Dataset,
    g: &ceteris::Dataset,
    seed: u64,
    logistic: Option<usize>,
) -> f64 {
    use ceteris::rng::{open_unit, Stream, STREAM_MONTE_CARLO};
    let names = scm.names();
    assert_eq!(g.names(), names);
    let m = names.len();
    let n = c.n_rows();
    assert_eq!(g.n_rows(), n);
    let mut skip = vec![false; n];
    if let Some(j) = logistic {
        let (tc, tg) = (c.column(names[j]).unwrap(), g.column(names[j]).unwrap());
        let (z, u) = (c.column("Z").unwrap(), c.column("U").unwrap());
        let stream = Stream::new(seed, STREAM_MONTE_CARLO);
        for i in (0..n).filter(|&i| tc[i] != tg[i]) {
            let eta = 0.2 + 0.8 * z[i] + 0.5 * u[i].tanh();
            let p = 1.0 / (1.0 + (-eta).exp());
            let w = stream.block(i as u32, (m.div_ceil(4) + j / 2) as u32)[2 * (j % 2)];
            let uni = open_unit(w);
            assert!(
                (uni - p).abs() < 1e-5,
                "row {i}: T flipped with uniform {uni} far from sigmoid(eta) = {p}"
            );
            skip[i] = true;
        }
        assert!(skip.iter().filter(|&&s| s).count() <= 2);
    }
    let mut worst = 0.0f64;
    for name in names {
        let (a, b) = (c.column(name).unwrap(), g.column(name).unwrap());
        let mean = a.iter().sum::<f64>() / n as f64;
        let sd = (a.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
        for i in (0..n).filter(|&i| !skip[i]) {
            let r = (a[i] - b[i]).abs() / (a[i].abs() + sd);
            assert!(
                r <= 2e-5,
                "{name} row {i}: cpu {} gpu {} ({r:e} of |cpu| + sd)",
                a[i],
                b[i]
            );
            worst = worst.max(r);
        }
    }
    worst
}

#[test]
fn scm_samples_on_device_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    let t = scm.names().iter().position(|&n| n == "T");
    for (set, seed) in [
        (vec![], 5u64),
        (
            vec![
                Intervention::shift("A", 1.0),
                Intervention::atomic("Z", 0.5),
            ],
            6,
        ),
        (vec![Intervention::atomic("T", 1.0)], 7),
    ] {
        let n = 20_000;
        let c = scm.sample(&Engine::cpu(), &set, n, seed).unwrap();
        let g = scm.sample(gpu, &set, n, seed).unwrap();
        assert!(c.backend.starts_with("cpu"), "{}", c.backend);
        assert!(g.backend.starts_with("gpu"), "{}", g.backend);
        let worst = assert_samples_close(&scm, &c.data, &g.data, seed, t);
        eprintln!("{set:?}: largest deviation {worst:e} of |cpu| + sd");
    }
    // the 300-node model whose last node reads every node: value slots in a storage buffer
    let wide = long_model(true);
    let c = wide.sample(&Engine::cpu(), &[], 3_000, 8).unwrap();
    let g = wide.sample(gpu, &[], 3_000, 8).unwrap();
    let worst = assert_samples_close(&wide, &c.data, &g.data, 8, None);
    eprintln!("300 nodes: largest deviation {worst:e} of |cpu| + sd");
    // sample i of the device is sample i of a device sweep (the same noise, setting 0)
    let r = Sweep::new("Y", vec![vec![]])
        .samples(3_000)
        .seed(8)
        .quantiles(&[0.0, 1.0])
        .run(gpu, &wide)
        .unwrap();
    let y = g.data.column("Y").unwrap();
    assert_eq!(
        r.points[0].quantiles["0"],
        y.iter().copied().fold(f64::MAX, f64::min)
    );
    assert_eq!(
        r.points[0].quantiles["1"],
        y.iter().copied().fold(f64::MIN, f64::max)
    );
}

#[test]
fn scm_samples_chunked_on_device_give_the_same_values() {
    if common::gpu().is_none() {
        return;
    }
    let gpu = common::gpu().unwrap();
    // 1 KiB bindings: 256 words hold 28 samples of the 9 nodes, so 1000 samples take 36
    // chunks (one submit each); the same shader on the same noise gives the same bits
    let small = gpu_engine(Some(1024));
    let scm = sweep_model();
    let set = [Intervention::shift("L", 0.5)];
    let big = scm.sample(gpu, &set, 1000, 4).unwrap();
    let chunked = scm.sample(&small, &set, 1000, 4).unwrap();
    assert!(chunked.backend.starts_with("gpu"), "{}", chunked.backend);
    for name in scm.names() {
        assert_eq!(
            big.data.column(name).unwrap(),
            chunked.data.column(name).unwrap(),
            "{name}"
        );
    }
    // the 300-node model in 1 MiB bindings: 768 samples per chunk (their value slots fill
    // the binding), 2000 samples in three chunks
    let mid = gpu_engine(Some(1 << 20));
    let wide = long_model(true);
    let big = wide.sample(gpu, &[], 2000, 2).unwrap();
    let chunked = wide.sample(&mid, &[], 2000, 2).unwrap();
    for name in ["X0", "X150", "X298", "Y"] {
        assert_eq!(
            big.data.column(name).unwrap(),
            chunked.data.column(name).unwrap(),
            "{name}"
        );
    }
    // a single sample of the 300 nodes needs more than 1 KiB: a limits error, not a panic
    assert_limits(wide.sample(&small, &[], 10, 2), "");
}

#[test]
fn scm_samples_f32_overflow_falls_back_to_cpu() {
    if common::gpu().is_none() {
        return;
    }
    let scm = exp_model();
    let set = [Intervention::atomic("X", 100.0)];
    assert_limits(scm.sample(common::gpu().unwrap(), &set, 100, 1), "`Y`");
    let auto_like = fallback_gpu(None);
    let r = scm.sample(&auto_like, &set, 100, 1).unwrap();
    assert!(
        r.backend.starts_with("cpu") && r.backend.contains("fallback"),
        "{}",
        r.backend
    );
    let c = scm.sample(&Engine::cpu(), &set, 100, 1).unwrap();
    assert_eq!(r.data.column("Y").unwrap(), c.data.column("Y").unwrap());
    // values that overflow f64 too: the device's limits error, then the CPU's NonFinite
    let set = [Intervention::atomic("X", 1000.0)];
    assert!(matches!(
        scm.sample(&auto_like, &set, 100, 1),
        Err(ceteris::Error::NonFinite { column, row: 0 }) if column == "Y"
    ));
}

#[test]
fn scm_sweep_further_nodes_on_device() {
    // `Sweep::nodes` runs one device job per node: each further node's summaries are exactly
    // those of a device sweep of that node alone (itself checked against the CPU above), and the
    // outcome's are unchanged.
    let Some(gpu) = common::gpu() else { return };
    let scm = sweep_model();
    let run = |outcome: &str, nodes: &[&str]| {
        let r = Sweep::new(outcome, sweep_settings())
            .nodes(nodes)
            .samples(4_000)
            .seed(2)
            .run(gpu, &scm)
            .unwrap();
        assert!(r.backend.starts_with("gpu"), "{}", r.backend);
        r
    };
    let all = run("Y", &["A", "S"]);
    let (y, a, s) = (run("Y", &[]), run("A", &[]), run("S", &[]));
    for (k, p) in all.points.iter().enumerate() {
        assert_eq!(p.mean.to_bits(), y.points[k].mean.to_bits());
        assert_eq!(p.nodes["A"].mean.to_bits(), a.points[k].mean.to_bits());
        assert_eq!(
            p.nodes["S"].variance.to_bits(),
            s.points[k].variance.to_bits()
        );
    }
}

#[test]
fn scm_sweep_of_2000_nodes_on_device_matches_cpu() {
    // More than 1820 nodes: the node records exceed the 64 KiB uniform buffer, so the `-large`
    // variants (records in a storage buffer) run: a 2000-node chain Xj = 0.1 + 0.9 X(j−1) + N
    // (one value slot), and the same chain with a last node reading every 4th node (501 slots:
    // the wide variant). The module comment's sweep tolerance.
    let Some(gpu) = common::gpu() else { return };
    for wide in [false, true] {
        let k = 2000;
        let names: Vec<String> = (0..k).map(|j| format!("X{j}")).collect();
        let normal = Noise::Normal { scale: 1.0 };
        let mut nodes = vec![Node::linear(&names[0], 0.5, &[], normal.clone())];
        for j in 1..k {
            nodes.push(Node::linear(
                &names[j],
                0.1,
                &[(&names[j - 1], 0.9)],
                normal.clone(),
            ));
        }
        if wide {
            let coef: Vec<(&str, f64)> = names
                .iter()
                .step_by(4)
                .map(|s| (s.as_str(), 0.05))
                .collect();
            nodes.push(Node::linear("Y", 1.0, &coef, normal.clone()));
        }
        let scm = Scm::new(nodes).unwrap();
        let outcome = if wide { "Y" } else { "X1999" };
        let sweep = Sweep::new(
            outcome,
            vec![vec![Intervention::atomic("X1990", 2.0)], vec![]],
        )
        .samples(600)
        .seed(3);
        let c = sweep.run(&Engine::cpu(), &scm).unwrap();
        let g = sweep.run(gpu, &scm).unwrap();
        assert!(!g.backend.contains("fallback"), "{}", g.backend);
        assert_sweeps_close(&c, &g, 0.0);
    }
}
