//! Standardised columns and the kernel-width helpers (median pairwise distances, hyppo's median,
//! the median rule's θ), and row-major reshaping.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::simd::multiversion;

pub(super) fn std_columns(
    data: &Dataset,
    names: &[&str],
    role: &str,
) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    // returns (row-major standardised, raw columns)
    if names.is_empty() {
        return Err(Error::param(role, format!("no {role} columns given")));
    }
    let n = data.n_rows();
    let d = names.len();
    let mut raw = Vec::with_capacity(d);
    let mut rows = vec![0.0; n * d];
    for (j, name) in names.iter().enumerate() {
        let c = data.finite_column(name)?;
        let m = c.iter().sum::<f64>() / n as f64;
        let sd = (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
        if sd.is_nan() || sd <= 0.0 || c.iter().all(|&v| v == c[0]) {
            return Err(Error::ConstantColumn(name.to_string()));
        }
        for i in 0..n {
            rows[i * d + j] = (c[i] - m) / sd;
        }
        raw.push(c.to_vec());
    }
    Ok((rows, raw))
}

/// Median of the non-zero pairwise Euclidean distances among the first `max_rows` rows of
/// row-major `rows` (`n × d`); None when every pair coincides. numpy's median over the symmetric
/// distance matrix (each pair twice) is the same number. One column takes the sorted route of
/// [`median_distance_1d`] (the same bits, about 5× faster at 500 rows).
pub(crate) fn median_distance(rows: &[f64], d: usize, max_rows: usize) -> Option<f64> {
    let n = (rows.len() / d).min(max_rows);
    if d == 1 {
        if let Some(median) = median_distance_1d(&rows[..n]) {
            return median;
        }
    }
    median_all_pairs(rows, d, n)
}

/// [`median_distance`] over the first `n` rows from all their squared distances.
fn median_all_pairs(rows: &[f64], d: usize, n: usize) -> Option<f64> {
    // squared distances, columns apart so the loop over partners vectorises; the median is taken
    // among the squares (the root is monotone) and only the chosen ones are rooted
    let cols: Vec<Vec<f64>> = (0..d)
        .map(|k| (0..n).map(|i| rows[i * d + k]).collect())
        .collect();
    let sq = squared_distances(&cols, n);
    // the zeros (coinciding rows) sort first: the non-zero median is past them
    let zeros = sq.iter().filter(|&&s| s == 0.0).count();
    let m = sq.len() - zeros;
    if m == 0 {
        return None;
    }
    let (below, upper) = order_pair(&sq, zeros + m / 2);
    Some(if m % 2 == 1 {
        upper.sqrt()
    } else {
        // m ≥ 2, so the (k − 1)-th is past the zeros too
        0.5 * (below.sqrt() + upper.sqrt())
    })
}

/// [`median_distance`] of one column (`v`, the rows used), from its sorted values instead of all
/// `n(n − 1)/2` squared differences; none when the bracket misses (the caller then squares
/// every pair), `Some(None)` when every pair coincides. The same number: sorted ascending, the
/// square `(a_j − a_i)²` (`i < j`) rounds as it does in either order (IEEE subtraction is
/// antisymmetric), never decreases along a row (`j` up) and never increases down a column
/// (`i` up), rounding being monotone. So the pairs whose squares fall in a range are, row by row,
/// one run of `j` whose ends only move right as `i` grows: counting or gathering them takes
/// O(n) steps plus the number gathered. The bracket around the wanted rank comes from a sample
/// of the squares (the pairs of every `n/64`-th sorted value), as in [`order_pair`].
fn median_distance_1d(v: &[f64]) -> Option<Option<f64>> {
    let mut a = v.to_vec();
    a.sort_unstable_by(f64::total_cmp);
    let n = a.len();
    let sq = |i: usize, j: usize| (a[j] - a[i]) * (a[j] - a[i]);
    // Σ_i (run of j > i with squares < lo, then ≤ hi): the count below lo and its largest
    // square, and the squares in [lo, hi]
    let gather = |lo: f64, hi: f64| {
        let (mut jl, mut jh, mut under, mut below, mut mid) =
            (0, 0, 0usize, f64::NEG_INFINITY, Vec::new());
        for i in 0..n {
            jl = jl.max(i + 1);
            while jl < n && sq(i, jl) < lo {
                jl += 1;
            }
            jh = jh.max(jl);
            while jh < n && sq(i, jh) <= hi {
                jh += 1;
            }
            if jl > i + 1 {
                under += jl - i - 1;
                below = below.max(sq(i, jl - 1));
            }
            mid.extend((jl..jh).map(|j| sq(i, j)));
        }
        (under, below, mid)
    };
    let total = n * n.saturating_sub(1) / 2;
    // the zeros: the squares below the least positive double (none gathered above −∞)
    let zeros = gather(f64::from_bits(1), f64::NEG_INFINITY).0;
    let m = total - zeros;
    if m == 0 {
        return Some(None);
    }
    let k = zeros + m / 2;
    let step = (n / 64).max(1);
    let b: Vec<f64> = a.iter().step_by(step).copied().collect();
    let mut sample: Vec<f64> = (0..b.len())
        .flat_map(|i| (i + 1..b.len()).map(move |j| (i, j)))
        .map(|(i, j)| (b[j] - b[i]) * (b[j] - b[i]))
        .collect();
    let at = k * sample.len() / total;
    let (lo, hi) = sample_bracket(&mut sample, at);
    let (under, below_lo, mut mid) = gather(lo, hi);
    if k < under || k >= under + mid.len() {
        return None;
    }
    let j = k - under;
    let (lower, &mut upper, _) = mid.select_nth_unstable_by(j, f64::total_cmp);
    let below = if j > 0 {
        lower.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    } else {
        below_lo
    };
    Some(Some(if m % 2 == 1 {
        upper.sqrt()
    } else {
        0.5 * (below.sqrt() + upper.sqrt())
    }))
}

multiversion! {
    /// The squared distances `Σ_c (c_i − c_j)²` of the pairs `i < j < n`, row by row (AVX-512
    /// or AVX2 where present: the same scalar code, bit-identical, on wider lanes).
    fn squared_distances(cols: &[Vec<f64>], n: usize) -> Vec<f64> = squared_distances_generic;
    wide: "avx512f" if ["avx512f"];
    narrow: "avx2" if ["avx2"];
}

#[inline(always)]
fn squared_distances_generic(cols: &[Vec<f64>], n: usize) -> Vec<f64> {
    let mut sq = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    let Some((first, rest)) = cols.split_first() else {
        return sq;
    };
    for i in 0..n {
        // the first column's squares written (not zeros first, then added: 1 MB of memset per
        // 500 rows), the others added in the same order as before
        let at = sq.len();
        let ci = first[i];
        sq.extend(first[i + 1..n].iter().map(|&cj| (ci - cj) * (ci - cj)));
        let out = &mut sq[at..];
        for c in rest {
            let ci = c[i];
            for (o, &cj) in out.iter_mut().zip(&c[i + 1..]) {
                *o += (ci - cj) * (ci - cj);
            }
        }
    }
    sq
}

/// The sample's order statistics 64 ranks either side of `at` (−∞ / +∞ past its ends): the
/// bracket of [`order_pair`] and [`median_distance_1d`]. Two selections, not a sort (the same
/// values; a sort of the ~2500 sampled squares was ~10 % of an RCIT test at n = 2000).
fn sample_bracket(sample: &mut [f64], at: usize) -> (f64, f64) {
    let hi = match sample.get(at + 64) {
        Some(_) => *sample.select_nth_unstable_by(at + 64, f64::total_cmp).1,
        None => f64::INFINITY,
    };
    let lo = match at.checked_sub(64) {
        // after the first selection everything before at + 64 is at most hi: select there
        Some(i) => {
            let end = (at + 64).min(sample.len());
            *sample[..end].select_nth_unstable_by(i, f64::total_cmp).1
        }
        None => f64::NEG_INFINITY,
    };
    (lo, hi)
}

/// The `(k − 1)`-th and `k`-th smallest (0-based; the first is −∞ when `k = 0`) of finite `v`,
/// `k < v.len()`. Two pivots that bracket rank `k` come from a sample of about 2000 values (64
/// sample ranks either side, many standard errors of a sample rank: [`sample_bracket`]); one
/// branch-free pass counts the values below the lower pivot and gathers those between the two,
/// and only those few are selected. When the bracket misses (it cannot be wrong, only miss) a
/// full selection on a copy answers. The same order statistics as a full selection, faster on
/// the 124 750 squared distances of 500 rows than quickselect's mispredicted partitions.
fn order_pair(v: &[f64], k: usize) -> (f64, f64) {
    let n = v.len();
    let full = || {
        let mut c = v.to_vec();
        let (lower, &mut kth, _) = c.select_nth_unstable_by(k, f64::total_cmp);
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below, kth)
    };
    if n < 8192 {
        return full();
    }
    let mut sample: Vec<f64> = v.iter().step_by(n / 2048).copied().collect();
    let at = k * sample.len() / n;
    let (lo, hi) = sample_bracket(&mut sample, at);
    // [lo, hi] with counts: `under` values below lo, `mid[..m]` the values in [lo, hi]
    // (written into uninitialised room: no zeroing pass over n values first)
    let mut mid: Vec<f64> = Vec::with_capacity(n);
    let (mut under, mut m) = (0usize, 0usize);
    {
        let room = mid.spare_capacity_mut();
        for &x in v {
            under += (x < lo) as usize;
            room[m].write(x);
            m += (x >= lo && x <= hi) as usize;
        }
    }
    // SAFETY: `room[..m]` were written (each kept value's slot before `m` moved past it).
    unsafe { mid.set_len(m) };
    if k < under || k >= under + m {
        return full();
    }
    let j = k - under;
    let (lower, &mut kth, _) = mid[..m].select_nth_unstable_by(j, f64::total_cmp);
    // everything gathered is at least everything below lo
    let below = if j > 0 {
        lower.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    } else {
        v.iter()
            .copied()
            .filter(|&x| x < lo)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    (below, kth)
}

/// hyppo's Gaussian bandwidth: the median of all off-diagonal pairwise distances of row-major
/// `rows` (zeros included), or 1 when that median is 0.
pub(super) fn hyppo_median(rows: &[f64], d: usize) -> Result<f64> {
    let n = rows.len() / d;
    if n > 10_000 {
        return Err(Error::param(
            "width",
            format!("hyppo's median width needs all {n}² pairwise distances; give a fixed --width"),
        ));
    }
    let mut dists = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let s: f64 = (0..d)
                .map(|k| (rows[i * d + k] - rows[j * d + k]).powi(2))
                .sum();
            dists.push(s.sqrt());
        }
    }
    let m = dists.len();
    let (_, &mut hi, _) = dists.select_nth_unstable_by(m / 2, f64::total_cmp);
    let med = if m % 2 == 1 {
        hi
    } else {
        let lo = dists[..m / 2]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lo + hi)
    };
    Ok(if med > 0.0 { med } else { 1.0 })
}

/// θ = 1 / (2 median²) of pairwise Euclidean distances over at most 1000 rows: all of them up to
/// 1000, otherwise every `⌈n / 1000⌉`-th row (deterministic, and spread over the whole data set
/// even when the rows are sorted, e.g. by time).
pub(super) fn median_theta(rows: &[f64], d: usize, what: &str) -> Result<f64> {
    let n = rows.len() / d;
    let step = n.div_ceil(1000).max(1);
    let picked: Vec<f64> = rows
        .chunks_exact(d)
        .step_by(step)
        .flatten()
        .copied()
        .collect();
    let med = median_distance(&picked, d, 1000)
        .ok_or_else(|| Error::param(what, "all rows are identical: the median width is zero"))?;
    let width = std::f64::consts::SQRT_2 * med;
    Ok(1.0 / (width * width))
}

/// Row-wise concatenation `[a, scale · b]` of row-major `n × da` and `n × db` matrices.
pub(super) fn hstack(a: &[f64], da: usize, b: &[f64], db: usize, scale: f64) -> Vec<f64> {
    a.chunks_exact(da)
        .zip(b.chunks_exact(db))
        .flat_map(|(ra, rb)| ra.iter().copied().chain(rb.iter().map(|v| scale * v)))
        .collect()
}

pub(super) fn row_major(cols: &[Vec<f64>]) -> Vec<f64> {
    let (n, d) = (cols[0].len(), cols.len());
    let mut rows = vec![0.0; n * d];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..n {
            rows[i * d + j] = c[i];
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{open_unit, Stream};

    /// The sampled selection against a full sort, at ranks over the whole range, on data with
    /// zeros, ties, values spread over many exponents and values crowded together.
    #[test]
    fn order_pair_matches_a_sort() {
        let s = Stream::new(11, 5);
        for (case, n) in [
            (0u32, 1usize),
            (1, 2),
            (2, 57),
            (3, 1000),
            (4, 3001),
            (5, 9000),
            (6, 20011),
        ] {
            let v: Vec<f64> = (0..n as u32)
                .map(|i| {
                    let w = s.block(case, i);
                    match w[2] % 5 {
                        0 => 0.0,
                        1 => 2.5,
                        2 => 1.0 + 1e-9 * open_unit(w[0]),
                        _ => 10f64.powf(-6.0 + 12.0 * open_unit(w[0])),
                    }
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            for k in (0..n).step_by(1 + n / 1500) {
                let (below, kth) = order_pair(&v, k);
                assert_eq!(kth, sorted[k], "case {case} k {k}");
                let want = if k == 0 {
                    f64::NEG_INFINITY
                } else {
                    sorted[k - 1]
                };
                assert_eq!(below, want, "case {case} k {k}");
            }
        }
    }

    /// The one-column median from the sorted values against all the squared differences, bit
    /// for bit: Gaussian data, ties, a constant column, values crowded within 1e-13 (where
    /// rounding makes differences coincide), and sizes from none to 1000 rows. The sorted route
    /// must answer (not fall back) for every case here.
    #[test]
    fn one_column_median_matches_all_pairs() {
        let s = Stream::new(12, 5);
        for (case, n) in [
            (0u32, 0usize),
            (1, 1),
            (2, 2),
            (3, 3),
            (4, 40),
            (5, 500),
            (6, 1000),
        ] {
            for kind in 0..4u32 {
                let v: Vec<f64> = (0..n as u32)
                    .map(|i| {
                        let w = s.block(case * 4 + kind, i);
                        match kind {
                            0 => crate::rng::normal(w[0], w[1]),
                            1 => (7.0 * open_unit(w[0])).floor(),
                            2 => 3.25,
                            _ => 1.0 + 1e-13 * open_unit(w[0]),
                        }
                    })
                    .collect();
                let fast = median_distance_1d(&v);
                assert!(
                    fast.is_some(),
                    "case {case} kind {kind}: the bracket missed"
                );
                assert_eq!(
                    median_distance(&v, 1, usize::MAX).map(f64::to_bits),
                    median_all_pairs(&v, 1, n).map(f64::to_bits),
                    "case {case} kind {kind}"
                );
                assert_eq!(
                    fast.unwrap().map(f64::to_bits),
                    median_all_pairs(&v, 1, n).map(f64::to_bits)
                );
            }
        }
    }
}
