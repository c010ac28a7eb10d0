//! Discrete conditional-independence tests: Pearson's chi-square (`chisq`) and the G-test
//! (`gsq`), as causal-learn 0.1.4.8's `Chisq_or_Gsq`.
//!
//! Conventions mirrored, case by case:
//! * each column is coded by its sorted distinct values (`np.unique(..., return_inverse=True)`):
//!   numbers as they are, text labels by the codes the CSV reader gave them; the cardinality of a
//!   column is its number of distinct values over the whole data set;
//! * the test of `X ⫫ Y | S` counts the `(s, x, y)` cells of every **observed** stratum `s` of
//!   the conditioning columns (zero-count strata are dropped); a stratum's expected counts are
//!   `E = n_sx · n_sy / n_s` (integer product, then one f64 division);
//! * chisq is `Σ (O − E)² / E` and gsq `2 Σ O ln(O / E)` over every cell, a zero `E` replaced by 1
//!   in the division and a zero ratio by 1 in the logarithm (so empty cells add 0);
//! * the degrees of freedom are `Σ_s (|X| − 1 − zero rows of s)(|Y| − 1 − zero columns of s)`, a
//!   zero row being a value of X absent from stratum `s` (so `Σ_s (x values seen in s − 1)(y
//!   values seen in s − 1)`); with 0 degrees of freedom the p-value is 1, else the χ² upper
//!   tail (statrs's regularised incomplete gamma).
//!
//! Errors: a column with one value only, or with more than [`MAX_LEVELS`] distinct values (most
//! likely a continuous column), each naming the column.
//!
//! Batches ([`super::Tester::batch`]): every column of the batch is coded once (cached per
//! tester; a PC search shares one tester across its levels), with one bitset of rows per value,
//! then the contingency tables of all tests are counted in parallel on rayon, one test per task.
//! Tables of at most 1024 cells are counted by bitsets (a stratum's rows are the AND of its
//! values' sets, a cell the popcount of that AND the X and Y sets: `cells × n / 64` word
//! operations); larger ones in one pass over the rows of the (u16) code columns into a dense
//! `strata × |X| × |Y|` array (at most 2²⁰ cells; strata compressed to the observed ones when
//! their product exceeds the row count), else as sorted cell keys.
//!
//! On a GPU engine the batch's code columns are uploaded once and every dense table (at most 2²⁰
//! cells, at most 8 conditioning columns) is counted on the device, one workgroup per test, with
//! integer atomics (`shaders/counts.wgsl`); the counts are exact, so statistics and p-values equal
//! the CPU's to the bit (tested on lavapipe). Wider tables are counted on the CPU; statistics and
//! p-values are always f64 on the host, and `backend` says where the counts ran.

use super::cache::{memo, Cache};
use super::{IndependenceTest, TestKind, TestResult};
use crate::data::Dataset;
use crate::error::{Error, Result};
use rayon::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::sync::Arc;
use std::time::Instant;

/// Most distinct values a column of a `chisq`/`gsq` test may take.
pub const MAX_LEVELS: usize = 1000;

/// Largest dense contingency table (cells) of one test; larger ones are counted sparsely.
const DENSE_CELLS: usize = 1 << 20;

/// Largest table (cells) counted by bitsets; larger ones by a pass over the rows.
const BITSET_CELLS: usize = 1024;

/// A column coded `0..card` by its sorted distinct values, with one bitset of rows per value.
pub(super) struct Codes {
    pub codes: Vec<u16>,
    pub card: usize,
    /// `card` bitsets of `words` words: bit `r` of set `v` is whether row `r` has code `v`.
    pub bits: Vec<u64>,
    pub words: usize,
}

impl Codes {
    fn new(codes: Vec<u16>, card: usize) -> Codes {
        let words = codes.len().div_ceil(64);
        let mut bits = vec![0u64; card * words];
        for (r, &v) in codes.iter().enumerate() {
            bits[v as usize * words + r / 64] |= 1 << (r % 64);
        }
        Codes {
            codes,
            card,
            bits,
            words,
        }
    }

    fn set(&self, v: usize) -> &[u64] {
        &self.bits[v * self.words..(v + 1) * self.words]
    }
}

/// The dense `strata × cx × cy` table by bitsets: each stratum's rows as the AND of its
/// conditioning values' sets, each cell a popcount (strata in mixed-radix order).
fn bit_table(x: &Codes, y: &Codes, z: &[&Codes], w: usize) -> Vec<u32> {
    let words = x.words;
    let (cx, cy) = (x.card, y.card);
    let mut masks: Vec<u64> = vec![u64::MAX; words];
    for c in z {
        let k = masks.len() / words;
        let mut next = vec![0u64; k * c.card * words];
        for s in 0..k {
            let m = &masks[s * words..(s + 1) * words];
            for v in 0..c.card {
                let out = &mut next[(s * c.card + v) * words..(s * c.card + v + 1) * words];
                for ((o, a), b) in out.iter_mut().zip(m).zip(c.set(v)) {
                    *o = a & b;
                }
            }
        }
        masks = next;
    }
    let mut t = vec![0u32; w * cx * cy];
    let mut mi = vec![0u64; words];
    for s in 0..w {
        let m = &masks[s * words..(s + 1) * words];
        if m.iter().all(|&v| v == 0) {
            continue;
        }
        for i in 0..cx {
            let mut any = 0;
            for ((o, a), b) in mi.iter_mut().zip(m).zip(x.set(i)) {
                *o = a & b;
                any |= *o;
            }
            if any == 0 {
                continue;
            }
            for j in 0..cy {
                t[(s * cx + i) * cy + j] = and_count(&mi, y.set(j));
            }
        }
    }
    t
}

/// Codes of a column by its sorted distinct values, with the one-level and [`MAX_LEVELS`] checks.
pub(super) fn code_column(data: &Dataset, name: &str) -> Result<Codes> {
    let c = data.finite_column(name)?;
    // small non-negative integers (codes, counts): the distinct values by presence, else sorted
    let small = c
        .iter()
        .all(|&v| (0.0..=65535.0).contains(&v) && v.fract() == 0.0);
    let u: Vec<f64> = if small {
        let mut seen = vec![false; 65536];
        for &v in c {
            seen[v as usize] = true;
        }
        (0..65536).filter(|&i| seen[i]).map(|i| i as f64).collect()
    } else {
        let mut u = c.to_vec();
        u.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        u.dedup();
        u
    };
    if u.len() < 2 {
        return Err(Error::param(
            "data",
            format!(
                "column `{name}` takes one value only; chisq/gsq need at least two levels per column"
            ),
        ));
    }
    if u.len() > MAX_LEVELS {
        return Err(Error::param(
            "data",
            format!(
                "column `{name}` has {} distinct values, more than the cap of {MAX_LEVELS} levels \
                 for chisq/gsq (independence::MAX_LEVELS); is it continuous? use fisherz or kci",
                u.len()
            ),
        ));
    }
    let codes = if small {
        let mut rank = vec![0u16; 65536];
        for (k, &v) in u.iter().enumerate() {
            rank[v as usize] = k as u16;
        }
        c.iter().map(|&v| rank[v as usize]).collect()
    } else {
        c.iter()
            .map(|v| {
                u.binary_search_by(|p| p.partial_cmp(v).expect("finite"))
                    .expect("value present") as u16
            })
            .collect()
    };
    Ok(Codes::new(codes, u.len()))
}

/// `(statistic, degrees of freedom)` of one test from its code columns (`z` may be empty).
pub(super) fn statistic(x: &Codes, y: &Codes, z: &[&Codes], gsq: bool) -> (f64, u64) {
    let n = x.codes.len();
    let (cx, cy) = (x.card, y.card);
    let radix = z
        .iter()
        .try_fold(1usize, |w, c| w.checked_mul(c.card))
        .filter(|&w| w.saturating_mul(cx * cy) <= DENSE_CELLS);
    if let Some(w) = radix {
        if w * cx * cy <= BITSET_CELLS {
            return finish_dense(&bit_table(x, y, z, w), w, cx, cy, gsq);
        }
        // one pass over the rows: the mixed-radix cell index of (S, x, y), counted densely
        let (xc, yc) = (&x.codes[..], &y.codes[..]);
        let cell = move |s: usize, r: usize| (s * cx + xc[r] as usize) * cy + yc[r] as usize;
        let cells = w * cx * cy;
        let t = match z {
            [] => histogram(n, cells, |r| cell(0, r)),
            [a] => histogram(n, cells, |r| cell(a.codes[r] as usize, r)),
            [a, b] => histogram(n, cells, |r| {
                cell(a.codes[r] as usize * b.card + b.codes[r] as usize, r)
            }),
            _ => histogram(n, cells, |r| {
                cell(z.iter().fold(0, |s, c| s * c.card + c.codes[r] as usize), r)
            }),
        };
        return finish_dense(&t, w, cx, cy, gsq);
    }
    // stratum of every row, dense in 0..w (the observed strata)
    let (strata, w) = strata(z, n);
    if w.saturating_mul(cx * cy) <= DENSE_CELLS {
        let mut t = vec![0u32; w * cx * cy];
        for r in 0..n {
            t[(strata[r] as usize * cx + x.codes[r] as usize) * cy + y.codes[r] as usize] += 1;
        }
        return finish_dense(&t, w, cx, cy, gsq);
    }
    // sparse: sorted cell keys, then per stratum its observed cells and margins
    let mut keys: Vec<u64> = (0..n)
        .map(|r| (strata[r] as u64 * cx as u64 + x.codes[r] as u64) * cy as u64 + y.codes[r] as u64)
        .collect();
    keys.sort_unstable();
    let mut cells: Vec<(u64, u64)> = Vec::new(); // (key, count)
    for k in keys {
        match cells.last_mut() {
            Some((last, c)) if *last == k => *c += 1,
            _ => cells.push((k, 1)),
        }
    }
    let per = (cx * cy) as u64;
    let (mut stat, mut df, mut total) = (0.0, 0u64, 0u64);
    let mut start = 0;
    let mut sx = std::collections::HashMap::new();
    let mut sy = std::collections::HashMap::new();
    while start < cells.len() {
        let s = cells[start].0 / per;
        let end = start + cells[start..].partition_point(|(k, _)| k / per == s);
        sx.clear();
        sy.clear();
        let mut ns = 0;
        for &(k, c) in &cells[start..end] {
            let r = k % per;
            *sx.entry(r / cy as u64).or_insert(0u64) += c;
            *sy.entry(r % cy as u64).or_insert(0u64) += c;
            ns += c;
        }
        for &(k, c) in &cells[start..end] {
            let r = k % per;
            let e = (sx[&(r / cy as u64)] * sy[&(r % cy as u64)]) as f64 / ns as f64;
            stat += if gsq {
                c as f64 * (c as f64 / e).ln()
            } else {
                c as f64 * c as f64 / e
            };
        }
        total += ns;
        df += (sx.len() as u64 - 1) * (sy.len() as u64 - 1);
        start = end;
    }
    // chisq over every cell: Σ O²/E − 2 Σ O + Σ E, and Σ E = Σ O = n over the observed strata
    let stat = if gsq { 2.0 * stat } else { stat - total as f64 };
    (stat, df)
}

/// Counts of the cell indices `idx(0..n)` (each below `cells`); small tables use four
/// interleaved copies, so that consecutive rows hitting one cell do not wait on each other.
fn histogram(n: usize, cells: usize, idx: impl Fn(usize) -> usize) -> Vec<u32> {
    if cells > 4096 {
        let mut t = vec![0u32; cells];
        for r in 0..n {
            t[idx(r)] += 1;
        }
        return t;
    }
    let mut t = vec![0u32; 4 * cells];
    let (t0, rest) = t.split_at_mut(cells);
    let (t1, rest) = rest.split_at_mut(cells);
    let (t2, t3) = rest.split_at_mut(cells);
    let quads = n / 4;
    for q in 0..quads {
        let r = 4 * q;
        t0[idx(r)] += 1;
        t1[idx(r + 1)] += 1;
        t2[idx(r + 2)] += 1;
        t3[idx(r + 3)] += 1;
    }
    for r in 4 * quads..n {
        t0[idx(r)] += 1;
    }
    for k in 0..cells {
        t0[k] += t1[k] + t2[k] + t3[k];
    }
    t.truncate(cells);
    t
}

/// `Σ popcount(a & b)`: with the CPU's popcount instruction when it has one (AVX-512's
/// vector popcount, else POPCNT), detected at run time; the same sum in every case.
fn and_count(a: &[u64], b: &[u64]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: both features are present (checked just above).
            return unsafe { popcount::and_count_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: POPCNT is present (checked just above).
            return unsafe { popcount::and_count_popcnt(a, b) };
        }
    }
    and_count_plain(a, b)
}

#[inline(always)]
fn and_count_plain(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

#[cfg(target_arch = "x86_64")]
mod popcount {
    /// [`super::and_count`] compiled for AVX-512 VPOPCNTDQ (the loop vectorises).
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(super) unsafe fn and_count_avx512(a: &[u64], b: &[u64]) -> u32 {
        super::and_count_plain(a, b)
    }

    /// [`super::and_count`] compiled for POPCNT.
    #[target_feature(enable = "popcnt")]
    pub(super) unsafe fn and_count_popcnt(a: &[u64], b: &[u64]) -> u32 {
        super::and_count_plain(a, b)
    }
}

/// `(statistic, degrees of freedom)` from a dense `w × cx × cy` table (zero-count strata
/// skipped).
fn finish_dense(t: &[u32], w: usize, cx: usize, cy: usize, gsq: bool) -> (f64, u64) {
    let mut stat = 0.0;
    let mut df = 0u64;
    let mut sx = vec![0u64; cx];
    let mut sy = vec![0u64; cy];
    for s in 0..w {
        let cells = &t[s * cx * cy..(s + 1) * cx * cy];
        sx.iter_mut().for_each(|v| *v = 0);
        sy.iter_mut().for_each(|v| *v = 0);
        for i in 0..cx {
            for j in 0..cy {
                let c = cells[i * cy + j] as u64;
                sx[i] += c;
                sy[j] += c;
            }
        }
        let ns: u64 = sx.iter().sum();
        if ns == 0 {
            continue; // a zero-count stratum
        }
        for i in 0..cx {
            for j in 0..cy {
                stat += cell(cells[i * cy + j] as u64, sx[i] * sy[j], ns, gsq);
            }
        }
        let rows = sx.iter().filter(|&&v| v > 0).count() as u64;
        let cols = sy.iter().filter(|&&v| v > 0).count() as u64;
        df += (rows - 1) * (cols - 1);
    }
    (if gsq { 2.0 * stat } else { stat }, df)
}

/// One cell's term: chisq `(O − E)² / E`, gsq `O ln(O / E)` (E = `sxy / ns`; a zero E divides by
/// 1 and a zero ratio logs as 1, as causal-learn).
fn cell(c: u64, sxy: u64, ns: u64, gsq: bool) -> f64 {
    let e = sxy as f64 / ns as f64;
    let d = if e == 0.0 { 1.0 } else { e };
    let c = c as f64;
    if gsq {
        let r = c / d;
        c * if r == 0.0 { 0.0 } else { r.ln() }
    } else {
        (c - e) * (c - e) / d
    }
}

/// Dense stratum ids `0..w` of every row: the mixed-radix index of the conditioning codes,
/// compressed to the observed strata (in index order) when the product exceeds the rows.
fn strata(z: &[&Codes], n: usize) -> (Vec<u32>, usize) {
    let mut ids = vec![0u64; n];
    let mut w: u64 = 1;
    for c in z {
        let card = c.card as u64;
        if w.saturating_mul(card) > n as u64 {
            // compress the strata seen so far to their observed values first
            let (dense, k) = compress(&ids);
            ids = dense;
            w = k;
        }
        for (id, &v) in ids.iter_mut().zip(&c.codes) {
            *id = *id * card + v as u64;
        }
        w *= card;
    }
    if w > n as u64 {
        let (dense, k) = compress(&ids);
        return (dense.into_iter().map(|v| v as u32).collect(), k as usize);
    }
    (ids.into_iter().map(|v| v as u32).collect(), w as usize)
}

/// Ranks of `ids` among their distinct values.
fn compress(ids: &[u64]) -> (Vec<u64>, u64) {
    let mut u = ids.to_vec();
    u.sort_unstable();
    u.dedup();
    let dense = ids
        .iter()
        .map(|v| u.binary_search(v).expect("present") as u64)
        .collect();
    (dense, u.len() as u64)
}

/// The p-value of a statistic with `df` degrees of freedom (1 when `df` is 0, as causal-learn).
pub(super) fn p_value(stat: f64, df: u64) -> f64 {
    if df == 0 {
        return 1.0;
    }
    ChiSquared::new(df as f64)
        .expect("positive degrees of freedom")
        .sf(stat.max(0.0))
}

impl IndependenceTest {
    /// Pearson's chi-square test of conditional independence of discrete columns, as
    /// causal-learn's `chisq` (one X and one Y column; see the module docs of `discrete.rs` for
    /// the degrees of freedom and empty cells). Columns may hold any numbers or text labels (read
    /// with [`crate::data::CsvOptions::labels`]); each needs 2 to [`MAX_LEVELS`] distinct
    /// values. Kernel, width and null options do not apply.
    ///
    /// ```
    /// use ceteris::{Dataset, Engine, independence::IndependenceTest};
    /// let x: Vec<f64> = (0..400).map(|i| (i % 3) as f64).collect();
    /// let y: Vec<f64> = (0..400).map(|i| ((i % 3) + (i / 7) % 2) as f64).collect();
    /// let data = Dataset::new().with_column("x", x).unwrap().with_column("y", y).unwrap();
    /// let r = IndependenceTest::chisq().run(&Engine::cpu(), &data, &["x"], &["y"], &[]).unwrap();
    /// assert!(r.p_value < 1e-10);
    /// ```
    pub fn chisq() -> Self {
        IndependenceTest {
            kind: TestKind::Chisq,
            ..Self::kci()
        }
    }

    /// The G-test (likelihood-ratio `2 Σ O ln(O/E)`), as causal-learn's `gsq`; otherwise as
    /// [`IndependenceTest::chisq`].
    ///
    /// ```
    /// use ceteris::{Dataset, Engine, independence::IndependenceTest};
    /// let x: Vec<f64> = (0..400).map(|i| (i % 2) as f64).collect();
    /// let y: Vec<f64> = (0..400).map(|i| ((i / 2) % 2) as f64).collect();
    /// let data = Dataset::new().with_column("x", x).unwrap().with_column("y", y).unwrap();
    /// let r = IndependenceTest::gsq().run(&Engine::cpu(), &data, &["x"], &["y"], &[]).unwrap();
    /// assert!(r.p_value > 0.5); // x and y are balanced and unrelated
    /// ```
    pub fn gsq() -> Self {
        IndependenceTest {
            kind: TestKind::Gsq,
            ..Self::kci()
        }
    }

    /// chisq/gsq tests of a batch of checked queries: columns coded once (cached), then every
    /// test's table counted and finished in parallel on the CPU (whatever the engine).
    pub(super) fn discrete_batch(
        &self,
        engine: &crate::Engine,
        data: &Dataset,
        queries: &[(&[&str], &[&str], &[&str])],
        cache: &Cache,
    ) -> Vec<Result<TestResult>> {
        let start = Instant::now();
        let n = data.n_rows();
        let gsq = self.kind == TestKind::Gsq;
        let get = |c: &str| memo(&cache.codes, c, || Ok(Arc::new(code_column(data, c)?)));
        #[cfg(feature = "gpu")]
        if engine.kind() == crate::BackendKind::Gpu {
            return self.discrete_device(engine, queries, &get, n, start);
        }
        let backend = engine.cpu_name();
        queries
            .par_iter()
            .map(|&(x, y, z)| {
                let cx = get(x[0])?;
                let cy = get(y[0])?;
                let cz = z.iter().map(|c| get(c)).collect::<Result<Vec<_>>>()?;
                let zr: Vec<&Codes> = cz.iter().map(|c| c.as_ref()).collect();
                let (stat, df) = statistic(&cx, &cy, &zr, gsq);
                Ok(self.result(
                    (x, y, z),
                    (stat, p_value(stat, df)),
                    n,
                    format!("chi2:{df}"),
                    backend.clone(),
                    start,
                ))
            })
            .collect()
    }
}

#[cfg(feature = "gpu")]
impl IndependenceTest {
    /// chisq/gsq on a GPU engine: the columns' codes uploaded once per batch, every dense table
    /// (at most 2²⁰ cells and 8 conditioning columns) counted on the device with integer atomics
    /// (exact, so the same tables as the CPU's), the rest on the CPU; statistics and p-values in
    /// f64 on the host.
    fn discrete_device(
        &self,
        engine: &crate::Engine,
        queries: &[(&[&str], &[&str], &[&str])],
        get: &(dyn Fn(&str) -> Result<Arc<Codes>> + Sync),
        n: usize,
        start: Instant,
    ) -> Vec<Result<TestResult>> {
        use crate::engine::run_on;
        use std::collections::HashMap;
        let gsq = self.kind == TestKind::Gsq;
        let mut cols: Vec<Arc<Codes>> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut out: Vec<Option<Result<TestResult>>> = (0..queries.len()).map(|_| None).collect();
        let mut device: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        let mut device_q = Vec::new();
        for (q, &(x, y, z)) in queries.iter().enumerate() {
            let mut index = |c: &str| -> Result<usize> {
                if let Some(&i) = at.get(c) {
                    return Ok(i);
                }
                let codes = get(c)?;
                cols.push(codes);
                Ok(*at.entry(c.to_string()).or_insert(cols.len() - 1))
            };
            let ids = (|| -> Result<(usize, usize, Vec<usize>)> {
                let xi = index(x[0])?;
                let yi = index(y[0])?;
                let zi = z.iter().map(|c| index(c)).collect::<Result<Vec<_>>>()?;
                Ok((xi, yi, zi))
            })();
            match ids {
                Err(e) => out[q] = Some(Err(e)),
                Ok(t) => {
                    let cells =
                        t.2.iter()
                            .try_fold(cols[t.0].card * cols[t.1].card, |w, &c| {
                                w.checked_mul(cols[c].card)
                            });
                    if t.2.len() <= super::gpu::COUNT_MAXZ
                        && cells.is_some_and(|c| c <= DENSE_CELLS)
                    {
                        device.push(t);
                        device_q.push(q);
                    } else {
                        // too wide for a dense table: the CPU's sparse count
                        let zr: Vec<&Codes> = t.2.iter().map(|&c| cols[c].as_ref()).collect();
                        let (stat, df) = statistic(&cols[t.0], &cols[t.1], &zr, gsq);
                        out[q] = Some(Ok(self.result(
                            queries[q],
                            (stat, p_value(stat, df)),
                            n,
                            format!("chi2:{df}"),
                            engine.cpu_name(),
                            start,
                        )));
                    }
                }
            }
        }
        let cards: Vec<usize> = cols.iter().map(|c| c.card).collect();
        let cpu_tables = || -> Result<Vec<Vec<u32>>> {
            Ok(device
                .par_iter()
                .map(|(x, y, z)| {
                    let (cx, cy) = (cards[*x], cards[*y]);
                    let w: usize = z.iter().map(|&c| cards[c]).product();
                    histogram(n, w * cx * cy, |r| {
                        let s = z
                            .iter()
                            .fold(0, |s, &c| s * cards[c] + cols[c].codes[r] as usize);
                        (s * cx + cols[*x].codes[r] as usize) * cy + cols[*y].codes[r] as usize
                    })
                })
                .collect())
        };
        let flat = || -> Vec<u32> {
            cols.iter()
                .flat_map(|c| c.codes.iter().map(|&v| v as u32))
                .collect()
        };
        let ran = run_on!(engine, cpu: cpu_tables(), gpu: |ctx| {
            super::gpu::contingency_tables(ctx, n, &flat(), &cards, &device)
        });
        match ran {
            Err(e) => {
                let msg = e.to_string();
                for &q in &device_q {
                    out[q] = Some(Err(match &e {
                        Error::Gpu { kind, message } => Error::Gpu {
                            kind,
                            message: message.clone(),
                        },
                        _ => Error::param("test", msg.clone()),
                    }));
                }
            }
            Ok((tables, ran)) => {
                let backend = ran.label("contingency counts; statistics in f64 on the CPU");
                for ((&q, t), (x, y, z)) in device_q.iter().zip(&tables).zip(&device) {
                    let w: usize = z.iter().map(|&c| cards[c]).product();
                    let (stat, df) = finish_dense(t, w, cards[*x], cards[*y], gsq);
                    out[q] = Some(Ok(self.result(
                        queries[q],
                        (stat, p_value(stat, df)),
                        n,
                        format!("chi2:{df}"),
                        backend.clone(),
                        start,
                    )));
                }
            }
        }
        out.into_iter()
            .map(|r| r.expect("every query answered"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(v: &[u16], card: usize) -> Codes {
        Codes::new(v.to_vec(), card)
    }

    /// A 2×2 table [[3, 1], [1, 3]]: chisq = 2, df 1; gsq = 2·(6 ln 1.5 + 2 ln 0.5).
    #[test]
    fn two_by_two_closed_form() {
        let x = codes(&[0, 0, 0, 0, 1, 1, 1, 1], 2);
        let y = codes(&[0, 0, 0, 1, 1, 1, 1, 0], 2);
        let (c, df) = statistic(&x, &y, &[], false);
        assert!((c - 2.0).abs() < 1e-14 && df == 1);
        let (g, _) = statistic(&x, &y, &[], true);
        let want = 2.0 * (6.0 * 1.5f64.ln() + 2.0 * 0.5f64.ln());
        assert!((g - want).abs() < 1e-14);
    }

    /// Bitset and row-pass counting agree (the row pass forced by a wide column).
    #[test]
    fn bitsets_equal_row_counts() {
        let n = 777;
        let x = codes(&(0..n).map(|i| (i * 7 % 3) as u16).collect::<Vec<_>>(), 3);
        let y = codes(
            &(0..n)
                .map(|i| ((i * 5 + i / 13) % 4) as u16)
                .collect::<Vec<_>>(),
            4,
        );
        let z = codes(&(0..n).map(|i| ((i / 3) % 2) as u16).collect::<Vec<_>>(), 2);
        let z2 = codes(&(0..n).map(|i| ((i / 7) % 3) as u16).collect::<Vec<_>>(), 3);
        for zs in [vec![], vec![&z], vec![&z, &z2]] {
            let w: usize = zs.iter().map(|c| c.card).product();
            let bits = bit_table(&x, &y, &zs, w);
            let mut rows = vec![0u32; w * 12];
            for r in 0..n {
                let s = zs.iter().fold(0, |s, c| s * c.card + c.codes[r] as usize);
                rows[(s * 3 + x.codes[r] as usize) * 4 + y.codes[r] as usize] += 1;
            }
            assert_eq!(bits, rows);
        }
    }

    /// Dense and sparse counting agree (the sparse path forced by a large stratum count).
    #[test]
    fn sparse_equals_dense() {
        let n = 500;
        let x = codes(&(0..n).map(|i| (i * 7 % 5) as u16).collect::<Vec<_>>(), 5);
        let y = codes(
            &(0..n)
                .map(|i| ((i * 3 + i / 11) % 4) as u16)
                .collect::<Vec<_>>(),
            4,
        );
        let z = codes(&(0..n).map(|i| (i % 3) as u16).collect::<Vec<_>>(), 3);
        for gsq in [false, true] {
            let dense = statistic(&x, &y, &[&z], gsq);
            // 1000 levels per column make 1000·1000·… cells: the sparse path
            let big = |c: &Codes| Codes::new(c.codes.clone(), 1000);
            let (bx, by) = (big(&x), big(&y));
            let sparse = statistic(&bx, &by, &[&z], gsq);
            assert_eq!(dense.1, sparse.1);
            assert!(
                (dense.0 - sparse.0).abs() < 1e-9 * dense.0,
                "{dense:?} {sparse:?}"
            );
        }
    }
}
