//! Low-rank factors of Gaussian Gram matrices by pivoted incomplete Cholesky.
//!
//! A Gaussian Gram matrix of a few standardised columns is numerically low-rank. The factor `L`
//! (n × r) satisfies `K − L Lᵀ ⪰ 0` with `trace(K − L Lᵀ) ≤ tol`, and is built from `n·r` kernel
//! evaluations in O(n r²) time: the n × n matrix is never formed. Every identity of the KCI/HSIC
//! statistics is then evaluated on factors (see `kci.rs`).

/// Row-major points (`n × d`).
pub(crate) struct Points<'a> {
    pub data: &'a [f64],
    pub d: usize,
}

impl Points<'_> {
    pub fn n(&self) -> usize {
        self.data.len() / self.d
    }

    #[inline]
    fn sqdist(&self, i: usize, j: usize) -> f64 {
        let (a, b) = (
            &self.data[i * self.d..(i + 1) * self.d],
            &self.data[j * self.d..(j + 1) * self.d],
        );
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }
}

/// Column-major factor: `cols[m][i] = L[i, m]`.
pub(crate) struct Factor {
    pub n: usize,
    pub cols: Vec<Vec<f64>>,
}

impl Factor {
    pub fn rank(&self) -> usize {
        self.cols.len()
    }

    /// Centres every column (the factor of `H K H`, `H = I − 11ᵀ/n`).
    pub fn centre(&mut self) {
        for c in &mut self.cols {
            let m = c.iter().sum::<f64>() / self.n as f64;
            c.iter_mut().for_each(|v| *v -= m);
        }
    }

    /// As a faer matrix (n × r).
    pub fn to_mat(&self) -> faer::Mat<f64> {
        faer::Mat::from_fn(self.n, self.rank(), |i, j| self.cols[j][i])
    }
}

/// Pivoted incomplete Cholesky of the Gaussian Gram matrix `exp(−θ/2 ‖a − b‖²)` of `points`,
/// stopped when the residual trace is at most `tol` (or the rank reaches `n`).
pub(crate) fn gaussian_factor(points: &Points, theta: f64, tol: f64) -> Factor {
    let n = points.n();
    let mut resid = vec![1.0f64; n]; // diagonal of the residual (unit kernel diagonal)
    let mut cols: Vec<Vec<f64>> = Vec::new();
    let mut pivots: Vec<usize> = Vec::new();
    loop {
        let trace: f64 = resid.iter().sum();
        if trace <= tol || cols.len() == n {
            break;
        }
        let (p, &dp) = resid
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .expect("n > 0");
        if dp <= 0.0 {
            break;
        }
        let s = dp.sqrt();
        let mut col: Vec<f64> = (0..n)
            .map(|i| (-0.5 * theta * points.sqdist(i, p)).exp())
            .collect();
        for prev in &cols {
            let lp = prev[p];
            if lp != 0.0 {
                for (c, &l) in col.iter_mut().zip(prev) {
                    *c -= l * lp;
                }
            }
        }
        for (i, c) in col.iter_mut().enumerate() {
            *c /= s;
            resid[i] = (resid[i] - *c * *c).max(0.0);
        }
        // exact zeros at the pivots already chosen (guards against round-off re-selection)
        resid[p] = 0.0;
        for &q in &pivots {
            resid[q] = 0.0;
        }
        pivots.push(p);
        cols.push(col);
    }
    Factor { n, cols }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_reproduces_the_gram_matrix() {
        let xs: Vec<f64> = (0..60)
            .map(|i| ((i * 37 % 61) as f64 / 20.0).sin() * 2.0)
            .collect();
        let pts = Points { data: &xs, d: 1 };
        let f = gaussian_factor(&pts, 2.0, 1e-12);
        assert!(f.rank() < 60, "rank {}", f.rank());
        for i in 0..60 {
            for j in 0..60 {
                let k = (-0.5 * 2.0 * (xs[i] - xs[j]).powi(2)).exp();
                let l: f64 = f.cols.iter().map(|c| c[i] * c[j]).sum();
                assert!((k - l).abs() < 1e-10, "{i} {j}: {k} vs {l}");
            }
        }
    }
}
