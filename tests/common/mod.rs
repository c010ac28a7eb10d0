#![allow(dead_code)]
use ceteris::{Dataset, Engine};
use std::sync::OnceLock;

/// The shared GPU engine, or None with a printed reason. With CETERIS_REQUIRE_GPU=1 a missing
/// adapter is a failure, not a skip.
pub fn gpu() -> Option<&'static Engine> {
    static GPU: OnceLock<Option<Engine>> = OnceLock::new();
    GPU.get_or_init(|| match Engine::gpu() {
        Ok(e) => {
            eprintln!("GPU tests on {}", e.describe());
            Some(e)
        }
        Err(e) => {
            if std::env::var("CETERIS_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("CETERIS_REQUIRE_GPU=1 but no GPU engine: {e}");
            }
            // written to the process's stderr directly, past the test harness's capture, so that
            // a run without an adapter says so instead of only listing the GPU tests as `ok`
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\nSKIPPED: no GPU adapter ({e}); every GPU test of this binary returns early and \
                 is listed as ok. Set CETERIS_REQUIRE_GPU=1 to make this a failure.\n"
            );
            None
        }
    })
    .as_ref()
}

/// Deterministic pseudo-random normal values (Philox + Box-Muller), independent of the code
/// under test's resampling streams (different stream tag).
pub fn normals(n: usize, seed: u64) -> Vec<f64> {
    let s = ceteris::rng::Stream::new(seed, 99);
    (0..n)
        .map(|i| {
            let w = s.block(i as u32, 7);
            let (u1, u2) = (ceteris::rng::open_unit(w[0]), ceteris::rng::open_unit(w[1]));
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

pub fn one(name: &str, v: Vec<f64>) -> Dataset {
    Dataset::new().with_column(name, v).unwrap()
}
