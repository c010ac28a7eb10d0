//! Hooks of the reference tests against causal-learn: RCoT/RCIT/RIT with given random features
//! ([`rff_reference`]) and the σ rule of the features ([`rff_sigma`]).

use super::columns::{hstack, std_columns};
use super::rff::{self, Approx, Features};
use crate::data::Dataset;
use crate::error::Result;

/// RCoT/RCIT/RIT with given random features on raw columns (standardised here; with `rcit`, Z
/// is appended to Y), and the σ rule: the hook of the reference tests against causal-learn, whose
/// features come from numpy's generator.
///
/// ```
/// use ceteris::independence::{rff_reference, Approx, Features};
/// let x: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
/// let y: Vec<f64> = (0..50).map(|i| (i as f64 * 0.11).cos()).collect();
/// let f = |s: f64| Features { w: (0..5).map(|k| s * (k as f64 - 2.5)).collect(), b: vec![0.1, 0.7, 1.3, 2.9, 4.1] };
/// let (stat, p) = rff_reference(&[x], &[y], &[], false, &f(1.0), &f(0.5), None, Approx::Hbe).unwrap();
/// assert!(stat >= 0.0 && (0.0..=1.0).contains(&p));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn rff_reference(
    x: &[Vec<f64>],
    y: &[Vec<f64>],
    z: &[Vec<f64>],
    rcit: bool,
    fx: &Features,
    fy: &Features,
    fz: Option<&Features>,
    approx: Approx,
) -> Result<(f64, f64)> {
    let mut data = Dataset::new();
    let mut add = |prefix: &str, cols: &[Vec<f64>]| -> Result<Vec<String>> {
        cols.iter()
            .enumerate()
            .map(|(i, c)| {
                let name = format!("{prefix}{i}");
                data.push_column(&name, c.clone())?;
                Ok(name)
            })
            .collect()
    };
    let (xn, yn, zn) = (add("x", x)?, add("y", y)?, add("z", z)?);
    fn r(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let (xs, _) = std_columns(&data, &r(&xn), "x")?;
    let (ys, _) = std_columns(&data, &r(&yn), "y")?;
    let zs = if zn.is_empty() {
        None
    } else {
        Some(std_columns(&data, &r(&zn), "z")?.0)
    };
    let (dx, dz) = (x.len(), z.len());
    let (yrows, dy) = match (&zs, rcit) {
        (Some(zs), true) => (hstack(&ys, y.len(), zs, dz, 1.0), y.len() + dz),
        _ => (ys, y.len()),
    };
    let zpart = match (zs.as_deref(), fz) {
        (Some(zs), Some(fz)) => Some(rff::z_part(zs, dz, fz, &Default::default())?),
        _ => None,
    };
    rff::test(&xs, dx, &yrows, dy, zpart.as_ref(), fx, fy, approx)
}

/// σ of the RCIT/RCoT features for standardised columns (median of non-zero pairwise distances
/// among the first ≤ 500 rows); reference-test hook.
///
/// ```
/// let s = ceteris::independence::rff_sigma(&[vec![0.0, 1.0, 3.0]]).unwrap();
/// assert!(s > 0.0);
/// ```
pub fn rff_sigma(cols: &[Vec<f64>]) -> Result<f64> {
    let mut data = Dataset::new();
    let mut names = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let nm = format!("c{i}");
        data.push_column(&nm, c.clone())?;
        names.push(nm);
    }
    let r: Vec<&str> = names.iter().map(String::as_str).collect();
    let (rows, _) = std_columns(&data, &r, "columns")?;
    Ok(rff::median_sigma(&rows, cols.len()))
}
