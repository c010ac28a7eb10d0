//! Tail probabilities of a positively weighted sum of χ²₁ variables `Q = Σ λ_i χ²_{1,i}`, by
//! moment matching, as in the R/Python package momentchi2 (used by RCIT/RCoT):
//! * Satterthwaite–Welch (`sw`): a gamma with Q's mean and variance;
//! * Hall–Buckley–Eagleson (`hbe`): a χ²_ν matched on three cumulants;
//! * Lindsay–Pilla–Basak (`lpb4`): a mixture of `p = 4` gammas with a common shape, matching the
//!   first 2p moments (Lindsay, Pilla & Basak 2000; Bodenham & Adams 2016).
//!
//! Each returns the upper tail `P(Q > x)`.

use faer::linalg::solvers::Solve;
use faer::Mat;
use statrs::distribution::{ContinuousCDF, Gamma};

fn gamma_sf(x: f64, shape: f64, scale: f64) -> f64 {
    match Gamma::new(shape, 1.0 / scale) {
        Ok(g) => g.sf(x),
        Err(_) => f64::NAN,
    }
}

fn gamma_cdf(x: f64, shape: f64, scale: f64) -> f64 {
    match Gamma::new(shape, 1.0 / scale) {
        Ok(g) => g.cdf(x),
        Err(_) => f64::NAN,
    }
}

/// Satterthwaite–Welch: `Gamma(shape = (Σλ)² / (2Σλ²), scale = 2Σλ² / Σλ)`.
pub(crate) fn sw(lambda: &[f64], x: f64) -> f64 {
    let s1: f64 = lambda.iter().sum();
    let s2: f64 = lambda.iter().map(|l| l * l).sum();
    let u = s2 / (s1 * s1);
    gamma_sf(x, 0.5 / u, 2.0 * u * s1)
}

/// Hall–Buckley–Eagleson.
pub(crate) fn hbe(lambda: &[f64], x: f64) -> f64 {
    let k1: f64 = lambda.iter().sum();
    let k2: f64 = 2.0 * lambda.iter().map(|l| l * l).sum::<f64>();
    let k3: f64 = 8.0 * lambda.iter().map(|l| l * l * l).sum::<f64>();
    let nu = 8.0 * k2.powi(3) / (k3 * k3);
    let t = (2.0 * nu / k2).sqrt() * (x - k1) + nu;
    gamma_sf(t, nu / 2.0, 2.0)
}

/// The first `2p` raw moments of Q, from its cumulants `κ_i = 2^{i−1} (i−1)! Σ λ^i`.
fn moments(lambda: &[f64], p: usize) -> Vec<f64> {
    let mut kappa = Vec::with_capacity(2 * p);
    let mut fact = 1.0; // (i−1)!
    for i in 1..=2 * p {
        if i > 1 {
            fact *= (i - 1) as f64;
        }
        let s: f64 = lambda.iter().map(|l| l.powi(i as i32)).sum();
        kappa.push(2f64.powi(i as i32 - 1) * fact * s);
    }
    let mut m = kappa.clone();
    for n in 1..m.len() {
        // m_n = κ_n + Σ_{j=1}^{n−1} C(n−1, j−1) κ_j m_{n−j}  (1-based n = index + 1)
        let nn = n + 1;
        let mut add = 0.0;
        for j in 1..nn {
            add += binom(nn - 1, j - 1) * kappa[j - 1] * m[nn - j - 1];
        }
        m[n] += add;
    }
    m
}

fn binom(n: usize, k: usize) -> f64 {
    let mut r = 1.0;
    for i in 0..k {
        r = r * (n - i) as f64 / (i + 1) as f64;
    }
    r
}

/// The (N+1)×(N+1) moment matrix `Δ_N(x)` with entries `m_{i+j} / Π_{k≤i+j} c_k(x)`.
fn delta(x: f64, m: &[f64], n: usize) -> Mat<f64> {
    let mv: Vec<f64> = std::iter::once(1.0)
        .chain(m[..2 * n].iter().copied())
        .collect();
    // c = [1, 1, 1 + x, 1 + 2x, …, 1 + (2N − 1)x]; weights 1 / cumprod(c)
    let mut w = Vec::with_capacity(2 * n + 1);
    let mut prod = 1.0;
    for k in 0..=2 * n {
        let c = if k == 0 {
            1.0
        } else {
            1.0 + (k - 1) as f64 * x
        };
        prod *= c;
        w.push(1.0 / prod);
    }
    Mat::from_fn(n + 1, n + 1, |i, j| mv[i + j] * w[i + j])
}

/// A root of `f` in `[a, b]` by bisection to machine precision (`f(a)`, `f(b)` of opposite signs).
fn bisect(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> Option<f64> {
    let (mut fa, fb) = (f(a), f(b));
    if !(fa.is_finite() && fb.is_finite()) || fa * fb > 0.0 {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (a + b);
        if mid <= a || mid >= b {
            break;
        }
        let fm = f(mid);
        if fm == 0.0 {
            return Some(mid);
        }
        if (fm < 0.0) == (fa < 0.0) {
            a = mid;
            fa = fm;
        } else {
            b = mid;
        }
    }
    Some(0.5 * (a + b))
}

/// Lindsay–Pilla–Basak with 4 support points; `None` when the moment system is degenerate (fewer
/// than 4 weights, no root, non-finite output): callers then use [`hbe`], as RCIT does.
pub(crate) fn lpb4(lambda: &[f64], x: f64) -> Option<f64> {
    let p = 4;
    if lambda.len() < p {
        return None;
    }
    let m = moments(lambda, p);
    let mut lt = m[1] / (m[0] * m[0]) - 1.0;
    for i in 2..=p {
        lt = bisect(|t| delta(t, &m, i).determinant(), 0.0, lt)?;
    }
    let mp = delta(lt, &m, p);
    let n = p + 1;
    // coefficients of the polynomial det(M_p with its last column replaced by e_i)
    let coef: Vec<f64> = (0..n)
        .map(|i| {
            let mut mm = mp.clone();
            for r in 0..n {
                mm[(r, n - 1)] = if r == i { 1.0 } else { 0.0 };
            }
            mm.determinant()
        })
        .collect();
    // real parts of the roots of Σ coef_i μ^i, from the companion matrix
    let lead = coef[p];
    if lead == 0.0 || !lead.is_finite() {
        return None;
    }
    let comp = Mat::from_fn(p, p, |i, j| {
        if i == 0 {
            -coef[p - 1 - j] / lead
        } else if i == j + 1 {
            1.0
        } else {
            0.0
        }
    });
    let roots: Vec<f64> = comp.eigenvalues().ok()?.iter().map(|c| c.re).collect();
    // Vandermonde system V π = b, V[i][j] = μ_j^i, b = first column of M_p without its last entry
    let vdm = Mat::from_fn(p, p, |i, j| roots[j].powi(i as i32));
    let b = Mat::from_fn(p, 1, |i, _| mp[(i, 0)]);
    let pi = vdm.partial_piv_lu().solve(&b);
    let alpha = 1.0 / lt;
    let cdf: f64 = (0..p)
        .map(|i| pi[(i, 0)] * gamma_cdf(x, alpha, roots[i] / alpha))
        .sum();
    let sf = 1.0 - cdf;
    sf.is_finite().then_some(sf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Johnson, Kotz & Balakrishnan (1994), Table 18.6, as quoted by momentchi2: for
    /// Q = 1.5χ² + 1.5χ² + 0.5χ² + 0.5χ², P(Q ≤ 10.203) = 0.95 and P(Q ≤ 0.627) = 0.05;
    /// momentchi2's lpb4 gives 0.9500092 and 0.05001144.
    #[test]
    fn known_quantiles() {
        let l = [1.5, 1.5, 0.5, 0.5];
        let hi = 1.0 - lpb4(&l, 10.203).unwrap();
        let lo = 1.0 - lpb4(&l, 0.627).unwrap();
        assert!((hi - 0.9500092).abs() < 1e-6, "{hi}");
        assert!((lo - 0.05001144).abs() < 1e-7, "{lo}");
        assert!((1.0 - hbe(&l, 10.203) - 0.95).abs() < 5e-3);
        assert!((1.0 - sw(&l, 10.203) - 0.95).abs() < 1e-2);
    }
}
