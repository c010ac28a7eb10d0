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
    fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
}

/// A positive semi-definite kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum KernelFn {
    /// `exp(−θ/2 ‖u − v‖²)`.
    Gaussian { theta: f64 },
    /// `exp(−‖u − v‖ / σ)`.
    Laplace { sigma: f64 },
    /// `u·v`.
    Linear,
    /// `(c + u·v)^degree`.
    Polynomial { degree: u32, c: f64 },
}

impl KernelFn {
    #[inline]
    fn eval(&self, a: &[f64], b: &[f64]) -> f64 {
        match *self {
            KernelFn::Gaussian { theta } => {
                let s: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                (-0.5 * theta * s).exp()
            }
            KernelFn::Laplace { sigma } => {
                let s: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                (-s.sqrt() / sigma).exp()
            }
            KernelFn::Linear => a.iter().zip(b).map(|(x, y)| x * y).sum(),
            KernelFn::Polynomial { degree, c } => {
                let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
                (c + dot).powi(degree as i32)
            }
        }
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

/// Pivoted incomplete Cholesky of the Gram matrix of `points` under `kernel`, stopped when the
/// residual trace is at most `tol` (relative to the kernel's trace) or the rank reaches `n`.
pub(crate) fn factor(points: &Points, kernel: KernelFn, tol: f64) -> Factor {
    let n = points.n();
    // diagonal of the residual
    let mut resid: Vec<f64> = (0..n)
        .map(|i| kernel.eval(points.row(i), points.row(i)))
        .collect();
    let tol = tol * resid.iter().sum::<f64>() / n as f64;
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
        let rp = points.row(p);
        let mut col: Vec<f64> = (0..n).map(|i| kernel.eval(points.row(i), rp)).collect();
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
        let f = factor(&pts, KernelFn::Gaussian { theta: 2.0 }, 1e-12);
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
