//! Small numeric helpers that more than one capability uses (a leaf: imports nothing of the
//! crate).

/// Type-7 quantile of sorted values (R's default and numpy's `linear`): with `h = (n − 1) p`,
/// `v[⌊h⌋] + (h − ⌊h⌋)(v[⌊h⌋ + 1] − v[⌊h⌋])`; `p` is clamped to `[0, 1]`. `v` must be non-empty.
pub(crate) fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}
