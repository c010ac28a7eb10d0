//! One `Engine` shared by several threads, as an analysis app embeds it (issue 19, item 6): four
//! threads run bootstraps (gathers on huge-page tables, quantiles), kernel tests (through the
//! device's resident-array cache on a GPU engine) and SCM sweeps at once on one CPU engine and on
//! one GPU engine, and every result equals the serial run's bit for bit.

mod common;
use ceteris::independence::{IndependenceTest, Null};
use ceteris::scm::{Intervention, Scm, Sweep};
use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Scheme, Statistic};

fn data() -> Dataset {
    let n = 1000;
    let z = common::normals(n, 1);
    let u = common::normals(n, 2);
    let x: Vec<f64> = z.iter().zip(&u).map(|(a, b)| a + 0.5 * b).collect();
    let y: Vec<f64> = x.iter().zip(&u).map(|(a, b)| a.sin() + 0.3 * b).collect();
    let g: Vec<f64> = (0..n).map(|i| (i / 10) as f64).collect();
    Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("z", z)
        .unwrap()
        .with_column("g", g)
        .unwrap()
}

/// One job's outputs, as bits, so that equality is exact.
fn job(engine: &Engine, data: &Dataset, k: usize) -> Vec<u64> {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    match k % 4 {
        0 => {
            let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
                .scheme(Scheme::Cluster { column: "g".into() })
                .resamples(200)
                .seed(k as u64)
                .keep_replicates(true)
                .methods(&[IntervalMethod::Percentile, IntervalMethod::Bca])
                .run(engine, data)
                .unwrap();
            bits(&r.replicates.unwrap())
        }
        1 => {
            let r = Bootstrap::new(Statistic::Quantile {
                column: "y".into(),
                q: 0.3,
            })
            .resamples(200)
            .seed(k as u64)
            .keep_replicates(true)
            .run(engine, data)
            .unwrap();
            bits(&r.replicates.unwrap())
        }
        2 => {
            let r = IndependenceTest::kci()
                .run(engine, data, &["x"], &["y"], &["z"])
                .unwrap();
            let h = IndependenceTest::hsic()
                .null(Null::Permutation(50))
                .seed(k as u64)
                .run(engine, data, &["x"], &["z"], &[])
                .unwrap();
            bits(&[r.statistic, r.p_value, h.statistic, h.p_value])
        }
        _ => {
            let scm = Scm::random_linear(12, 3);
            let settings = (0..4)
                .map(|i| vec![Intervention::atomic("n0", i as f64)])
                .collect();
            let r = Sweep::new("n11", settings)
                .samples(2000)
                .run(engine, &scm)
                .unwrap();
            let v: Vec<f64> = r.points.iter().flat_map(|p| [p.mean, p.mc_error]).collect();
            bits(&v)
        }
    }
}

fn shared_engine_matches_serial(engine: &Engine) {
    let data = data();
    let serial: Vec<Vec<u64>> = (0..8).map(|k| job(engine, &data, k)).collect();
    let threads: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (engine, data) = (engine, &data);
                // thread t runs jobs t and t + 4, so every kind of job runs on two threads at once
                s.spawn(move || [job(engine, data, t), job(engine, data, t + 4)])
            })
            .collect();
        let mut out = vec![Vec::new(); 8];
        for (t, h) in handles.into_iter().enumerate() {
            let [a, b] = h.join().expect("no thread panicked");
            out[t] = a;
            out[t + 4] = b;
        }
        out
    });
    for (k, (a, b)) in serial.iter().zip(&threads).enumerate() {
        assert_eq!(
            a, b,
            "job {k} differs between the serial and the concurrent run"
        );
    }
}

#[test]
fn one_cpu_engine_shared_by_four_threads() {
    shared_engine_matches_serial(&Engine::cpu());
}

#[test]
fn one_gpu_engine_shared_by_four_threads() {
    let Some(gpu) = common::gpu() else { return };
    shared_engine_matches_serial(gpu);
}
