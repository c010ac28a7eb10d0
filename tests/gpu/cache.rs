//! The device cache: a Tester's per-variable arrays (RCoT/RCIT sets and Z bases, KCI factors and
//! Z bases) are uploaded once per engine and reused by later batches and by every sub-batch; the
//! numbers are the same bits as without the cache.

use super::*;

type Bits = Vec<Option<(u64, u64)>>;

fn bits(results: &[ceteris::Result<ceteris::independence::TestResult>]) -> Bits {
    results
        .iter()
        .map(|r| {
            r.as_ref().ok().map(|r| {
                assert!(r.backend.starts_with("gpu"), "{}", r.backend);
                (r.statistic.to_bits(), r.p_value.to_bits())
            })
        })
        .collect()
}

fn cache_cases() -> Vec<(
    ceteris::independence::IndependenceTest,
    Dataset,
    Vec<ceteris::independence::Query>,
)> {
    use ceteris::independence::IndependenceTest;
    let v = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let kci_queries = vec![
        (v(&["x"]), v(&["y"]), v(&[])),
        (v(&["b"]), v(&["c"]), v(&[])),
        (v(&["x"]), v(&["u"]), v(&["a"])),
        (v(&["x"]), v(&["y"]), v(&["a"])),
        (v(&["b"]), v(&["u"]), v(&["c"])),
        (v(&["b"]), v(&["y"]), v(&["a", "c"])),
    ];
    vec![
        (IndependenceTest::rcit(), rff_data(500), rff_queries()),
        (IndependenceTest::kci(), rff_data(150), kci_queries),
    ]
}

#[test]
fn device_cache_serves_later_batches_without_uploads() {
    use ceteris::independence::Tester;
    let Some(gpu) = common::gpu() else { return };
    for (test, d, queries) in cache_cases() {
        let mut uploaded = Vec::new();
        // whole, and in sub-batches of 256 KiB bindings
        for binding in [None, Some(256 << 10)] {
            let engine = gpu_engine(binding);
            let tester = Tester::new(&engine, &d, test.clone());
            let first = bits(&tester.batch(&queries));
            let s1 = engine.gpu_cache_stats().unwrap();
            let second = bits(&tester.batch(&queries));
            let s2 = engine.gpu_cache_stats().unwrap();
            eprintln!("{} {binding:?}: {s1:?} then {s2:?}", test.name());
            assert!(first.iter().all(Option::is_some), "{first:?}");
            assert_eq!(first, second, "{}", test.name());
            // a fresh tester on another engine: the same bits
            let fresh = bits(&Tester::new(gpu, &d, test.clone()).batch(&queries));
            assert_eq!(first, fresh, "{}", test.name());
            // each array uploaded once in the first batch (none found twice), none in the second
            assert!(s1.uploads > 0 && s1.hits == 0, "{s1:?}");
            assert_eq!(s1.entries as u64, s1.uploads);
            assert_eq!(
                (s2.uploads, s2.uploaded_bytes),
                (s1.uploads, s1.uploaded_bytes)
            );
            assert_eq!(s2.hits, s1.uploads);
            uploaded.push(s1.uploaded_bytes);
        }
        // the same arrays whatever the sub-batching
        assert_eq!(uploaded[0], uploaded[1], "{}", test.name());
    }
}

#[test]
fn device_cache_never_reuses_a_freed_array() {
    use ceteris::independence::Tester;
    if common::gpu().is_none() {
        return;
    }
    for (test, d, queries) in cache_cases() {
        // the same names and shapes, other numbers
        let names = ["a", "b", "c", "x", "y", "u"];
        let mut other = Dataset::new();
        for (i, name) in names.iter().enumerate() {
            let from = d.column(names[(i + 1) % names.len()]).unwrap();
            other = other
                .with_column(name, from.iter().rev().copied().collect())
                .unwrap();
        }
        let engine = gpu_engine(None);
        let first = bits(&Tester::new(&engine, &d, test.clone()).batch(&queries));
        let s1 = engine.gpu_cache_stats().unwrap();
        // the first tester and its arrays are gone; a new one on other data
        let second = bits(&Tester::new(&engine, &other, test.clone()).batch(&queries));
        let s2 = engine.gpu_cache_stats().unwrap();
        let expected = bits(&Tester::new(&gpu_engine(None), &other, test.clone()).batch(&queries));
        eprintln!("{}: {s1:?} then {s2:?}", test.name());
        assert_eq!(second, expected, "{}", test.name());
        assert_ne!(first, second);
        assert_eq!(s2.uploads, 2 * s1.uploads, "{s2:?}");
        assert_eq!(s2.hits, s1.hits, "{s2:?}");
        // the first tester's entries were dropped when the second job began
        assert_eq!(s2.entries, s1.entries, "{s2:?}");
    }
}
