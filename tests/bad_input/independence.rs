//! Issue 14 at the library level for the independence tests: options a test would ignore, the
//! Fisher-z test's own minimum rows, and the memory of exact kernel factors, each an
//! `Error::InvalidParameter` (or `TooFewRows`) naming the parameter.

use super::*;
use ceteris::independence::{IndependenceTest, Kernel, Width};

fn xy(n: usize) -> Dataset {
    Dataset::new()
        .with_column("a", (0..n).map(|i| (i as f64 * 0.37).sin()).collect())
        .unwrap()
        .with_column("b", (0..n).map(|i| (i as f64 * 0.11).cos()).collect())
        .unwrap()
        .with_column("c", (0..n).map(|i| ((i * 7) % 5) as f64).collect())
        .unwrap()
}

fn test_err(t: IndependenceTest, d: &Dataset, z: &[&str]) -> Error {
    t.run(&Engine::cpu(), d, &["a"], &["b"], z).unwrap_err()
}

#[test]
fn kernel_and_width_a_test_would_ignore_are_refused() {
    let d = xy(40);
    for t in [
        IndependenceTest::fisher_z().kernel(Kernel::Linear),
        IndependenceTest::rcot().kernel(Kernel::Laplace),
        IndependenceTest::rcit().kernel(Kernel::Polynomial(2)),
    ] {
        let e = test_err(t, &d, &[]);
        assert_param(&e, "kernel");
        assert!(e.to_string().contains("ignore"), "{e}");
    }
    for t in [
        IndependenceTest::fisher_z().width(Width::Median),
        IndependenceTest::rcot().width(Width::Fixed(1.0)),
        IndependenceTest::kci()
            .kernel(Kernel::Linear)
            .width(Width::Median),
    ] {
        let e = test_err(t, &d, &[]);
        assert_param(&e, "width");
        assert!(e.to_string().contains("ignore"), "{e}");
    }
    // the Fisher-z refusal does not call it a kernel test
    let e = test_err(
        IndependenceTest::fisher_z().kernel(Kernel::Laplace),
        &d,
        &[],
    );
    assert!(
        e.to_string().contains("Fisher-z") && !e.to_string().contains("kernel test"),
        "{e}"
    );
    // hsic-u (median width by default) names its own kernel rule
    let e = test_err(IndependenceTest::hsic_u().kernel(Kernel::Linear), &d, &[]);
    assert_param(&e, "kernel");
}

#[test]
fn fisher_z_minimum_rows_are_its_own() {
    // 5 rows: a Fisher-z test with one conditioning column needs 5, a kernel test 10
    let d = xy(5);
    let r = IndependenceTest::fisher_z()
        .run(&Engine::cpu(), &d, &["a"], &["b"], &["c"])
        .unwrap();
    assert_eq!(r.n, 5);
    match IndependenceTest::fisher_z()
        .run(&Engine::cpu(), &xy(4), &["a"], &["b"], &["c"])
        .unwrap_err()
    {
        Error::TooFewRows { what, need, got } => {
            assert!(
                what.contains("Fisher-z") && !what.contains("kernel"),
                "{what}"
            );
            assert_eq!((need, got), (5, 4));
        }
        e => panic!("{e}"),
    }
    match test_err(IndependenceTest::kci(), &d, &[]) {
        Error::TooFewRows { what, need, .. } => {
            assert!(what.contains("kernel independence test (kci)"), "{what}");
            assert_eq!(need, 10);
        }
        e => panic!("{e}"),
    }
}

/// Exact factors (`tolerance(0.0)`) of 200 000 rows are three 200 000² matrices, about 900 GiB:
/// refused before anything is built, naming `tolerance`, the need, what is available and the fix.
#[test]
fn exact_kernel_factors_beyond_memory_are_refused() {
    let d = xy(200_000);
    for t in [IndependenceTest::kci(), IndependenceTest::hsic()] {
        let e = test_err(t.tolerance(0.0), &d, &[]);
        assert_param(&e, "tolerance");
        let m = e.to_string();
        assert!(m.contains("200000 × 200000") && m.contains("GiB"), "{m}");
        assert!(
            m.contains("available") && m.contains("positive tolerance"),
            "{m}"
        );
    }
}
