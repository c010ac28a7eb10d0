//! Unit tests of the private helpers: the cache's [`memo`], permutations and median widths.

use super::cache::memo;
use super::columns::median_theta;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Builders racing on one key all get the first stored value (one shared `Arc`), never a
/// value that a later insert replaced.
#[test]
fn memo_racers_share_the_first_stored_value() {
    let map: Mutex<HashMap<String, Arc<u32>>> = Mutex::new(HashMap::new());
    let barrier = std::sync::Barrier::new(4);
    let got: Vec<Arc<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u32)
            .map(|t| {
                let (map, barrier) = (&map, &barrier);
                s.spawn(move || {
                    memo(map, "k", || {
                        barrier.wait(); // every thread is building at once
                        Ok(Arc::new(t))
                    })
                    .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let stored = map.lock().unwrap()["k"].clone();
    assert!(got.iter().all(|a| Arc::ptr_eq(a, &stored)));
}

use super::*;

#[test]
fn permutations_are_permutations_and_reproducible() {
    let p = permutation(9, 4, 1000);
    let mut s = p.clone();
    s.sort_unstable();
    assert_eq!(s, (0..1000).collect::<Vec<u32>>());
    assert_eq!(p, permutation(9, 4, 1000));
    assert_ne!(p, permutation(9, 5, 1000));
}

#[test]
fn median_width_spreads_over_sorted_rows() {
    // x = 0, 1, …, 2999 (sorted): every third row is used, so the median pairwise distance
    // is that of the whole range (≈ 3000·(1 − 1/√2) ≈ 879), not of the first 1000 rows (≈ 293)
    let x: Vec<f64> = (0..3000).map(f64::from).collect();
    let theta = median_theta(&x, 1, "x").unwrap();
    let med = (1.0 / (2.0 * theta)).sqrt();
    assert!((med - 879.0).abs() < 5.0, "{med}");
    // up to 1000 rows, all rows: 0..999 gives ≈ 293
    let theta = median_theta(&x[..1000], 1, "x").unwrap();
    let med = (1.0 / (2.0 * theta)).sqrt();
    assert!((med - 293.0).abs() < 2.0, "{med}");
}
