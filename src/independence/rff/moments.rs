//! What the null of one RCoT/RCIT test needs from the data ([`Moments`]), on the CPU: the
//! n-row products by row blocks, the residuals in register tiles.

use super::ZPart;
use crate::simd::multiversion;
use faer::linalg::matmul::triangular::BlockStructure;
use faer::Mat;
use rayon::prelude::*;

/// What the null of one test needs from the data: `Cxy|z` (`px × py`, ddof = 1) and the
/// covariance (divisor n) of the residual products (`px·py × px·py`, product `(i, j)` at
/// `i·py + j`). Both backends return this; the p-value is then computed in f64 on the host.
pub(crate) struct Moments {
    pub cxy: Mat<f64>,
    pub cov: Mat<f64>,
}

/// [`Moments`] of standardised feature matrices `mx`, `my` (f64, the CPU path).
///
/// The residuals are `f − F_z ((Czz + 1e-10 I)⁻¹ Cz·)`: the ridge coefficients first
/// (nf_z × (px + py)), so the n-row products are n × nf_z × (px + py), not the n × nf_z × nf_z of
/// `F_z (Czz + 1e-10 I)⁻¹` (n × q × (px + py) where the Z part holds `F_z = U A` with `q`
/// basis columns: `Czm = Aᵀ (UᵀM)`, residuals `f − U (A coef)`); X and Y share each pass over
/// the basis. `Cxy|z` keeps RCIT's order of
/// the small products. Every n-row product runs by row blocks ([`ROWS`]); the residuals, their
/// products and the products' covariance are made block by block while the block is in cache
/// (no n-row temporaries: at n = 10⁵ those were 44 MB of fresh, page-faulted memory per test).
pub(crate) fn moments(mx: &Mat<f64>, my: &Mat<f64>, z: Option<&ZPart>) -> Moments {
    let n = mx.nrows();
    let nn = n as f64;
    let (px, py) = (mx.ncols(), my.ncols());
    // rows lo..lo + len of X's and Y's features side by side (column-major `len × (px + py)`),
    // so each pass over the n × nf_z Z features serves both; copied, not zeroed first
    let side_by_side = |lo: usize, len: usize| -> Vec<f64> {
        let mut m = Vec::with_capacity(len * (px + py));
        for c in 0..px {
            m.extend_from_slice(&mx.col_as_slice(c)[lo..lo + len]);
        }
        for c in 0..py {
            m.extend_from_slice(&my.col_as_slice(c)[lo..lo + len]);
        }
        m
    };
    let (cxy, coef) = match z {
        Some(zp @ ZPart { icz, .. }) => {
            // (UᵀM)ᵀ = Mᵀ U: faer then packs the ten-column side, not the Z basis (6.4 ms
            // against 9.6 ms at n = 10⁵, one thread, for U = F_z); then F_zᵀ M = Aᵀ (UᵀM)
            let um = by_blocks(n, px + py, zp.u().ncols(), |lo, len, out| {
                faer::linalg::matmul::matmul(
                    out,
                    faer::Accum::Replace,
                    faer::MatRef::from_column_major_slice(&side_by_side(lo, len), len, px + py)
                        .transpose(),
                    zp.u().subrows(lo, len),
                    1.0,
                    faer::Par::Seq,
                )
            })
            .transpose()
            .to_owned();
            let czm = zp.features_t(um) * (1.0 / (nn - 1.0));
            let (czx, czy) = (czm.subcols(0, px), czm.subcols(px, py));
            // the ridge coefficients, then in U's basis: F_z coef = U (A coef)
            let coef = zp.to_basis(icz * &czm);
            let cxy =
                cross(mx.as_ref(), my.as_ref()) * (1.0 / (nn - 1.0)) - czx.transpose() * icz * czy;
            (cxy, Some(coef))
        }
        None => (cross(mx.as_ref(), my.as_ref()) * (1.0 / (nn - 1.0)), None),
    };
    // per block: residuals, their products ((i, j) in row-major order of Cxy|z), and the lower
    // half of the products' Gram
    let q = px * py;
    let mut cov = by_blocks(n, q, q, |lo, len, out| {
        let mut r = side_by_side(lo, len);
        if let (Some(zp), Some(coef)) = (z, &coef) {
            let mut cols: Vec<&mut [f64]> = r.chunks_mut(len).collect();
            residual_block(&zp.u, n, lo, coef, &mut cols);
        }
        // the products column by column, written once (no zeroing first)
        let mut prod = Vec::with_capacity(len * q);
        for i in 0..px {
            for j in 0..py {
                let (a, b) = (
                    &r[i * len..(i + 1) * len],
                    &r[(px + j) * len..(px + j + 1) * len],
                );
                prod.extend(a.iter().zip(b).map(|(u, v)| u * v));
            }
        }
        lower_gram(faer::MatRef::from_column_major_slice(&prod, len, q), out)
    });
    mirror_lower(&mut cov);
    Moments {
        cxy,
        cov: cov * (1.0 / nn),
    }
}

/// Rows per register tile of [`residual_block`].
const TILE: usize = 8;

/// Asks for the cache line of `f[i]` ahead of its use (a hint: nothing where `i` is out of range
/// or off x86-64). The residual kernel reads 100 columns a tile at a time, 100 interleaved
/// streams that the hardware prefetchers do not follow.
#[inline(always)]
fn prefetch(f: &[f64], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = f.get(i) {
        // SAFETY: a prefetch has no architectural effect; the pointer is in bounds anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                v as *const f64 as *const i8,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (f, i);
}

multiversion! {
    /// `r[c][t] −= Σ_k f[k·n + lo + t] · coef[(k, c)]` over the block's rows:
    /// [`residual_block_body`] on AVX-512 or AVX2 + FMA lanes where present (the same bits either
    /// way).
    fn residual_block(f: &[f64], n: usize, lo: usize, coef: &Mat<f64>, r: &mut [&mut [f64]]) = residual_block_body;
    wide: "avx512f,avx2,fma" if ["avx512f", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

/// The residuals `R − F coef` of one block of rows (`F` column-major with `n` rows, the block's
/// column `k` at `k·n + lo`; `R`'s columns `r`; `coef` `nf × p`), by [`residual_tiles`] in
/// groups of five output columns (four when there are at most four).
#[inline(always)]
fn residual_block_body(f: &[f64], n: usize, lo: usize, coef: &Mat<f64>, r: &mut [&mut [f64]]) {
    if r.len() <= 4 {
        residual_tiles::<4>(f, n, lo, coef, r)
    } else {
        residual_tiles::<5>(f, n, lo, coef, r)
    }
}

/// [`residual_block_body`] with `G` output columns per group: [`TILE`] rows × `G` outputs at a
/// time, their `TILE·G` sums in registers (ten 4-lane vectors for `G = 5`) over all `nf` columns
/// of `F`, so each `F` vector loaded feeds `G` fused multiply-adds and nothing is packed first.
/// Five, not four: RCoT's 5 + 5 outputs are then two groups with nothing padded (9.1 against
/// 11.3 ms at n = 10⁵, one thread). Each output's sum runs over `k` in order whatever `G`, so
/// the grouping does not change the bits.
#[inline(always)]
fn residual_tiles<const G: usize>(
    f: &[f64],
    n: usize,
    lo: usize,
    coef: &Mat<f64>,
    r: &mut [&mut [f64]],
) {
    let p = r.len();
    let nf = coef.nrows();
    let len = r[0].len();
    let full = len / TILE * TILE;
    let groups = p.div_ceil(G);
    // the coefficients by groups of four output columns, row-major, padded with zeros
    let w: Vec<[f64; G]> = (0..groups)
        .flat_map(|g| {
            (0..nf).map(move |k| {
                std::array::from_fn(|j| {
                    if G * g + j < p {
                        coef[(k, G * g + j)]
                    } else {
                        0.0
                    }
                })
            })
        })
        .collect();
    // a tile of rows at a time, every group over it while its F values are in L1
    for t in (0..full).step_by(TILE) {
        for g in 0..groups {
            let mut acc = [[0.0f64; TILE]; G];
            for (k, wk) in w[g * nf..(g + 1) * nf].iter().enumerate() {
                if g == 0 {
                    prefetch(f, k * n + lo + t + 4 * TILE);
                }
                let fk: &[f64; TILE] = f[k * n + lo + t..k * n + lo + t + TILE]
                    .try_into()
                    .expect("a tile");
                for (a, &wj) in acc.iter_mut().zip(wk) {
                    for (al, &u) in a.iter_mut().zip(fk) {
                        *al = u.mul_add(wj, *al);
                    }
                }
            }
            for (j, a) in acc.iter().enumerate().take(p - G * g) {
                for (rv, av) in r[G * g + j][t..t + TILE].iter_mut().zip(a) {
                    *rv -= av;
                }
            }
        }
    }
    for t in full..len {
        for g in 0..groups {
            let mut acc = [0.0f64; G];
            for (k, wk) in w[g * nf..(g + 1) * nf].iter().enumerate() {
                let u = f[k * n + lo + t];
                for (a, &wj) in acc.iter_mut().zip(wk) {
                    *a = u.mul_add(wj, *a);
                }
            }
            for (j, a) in acc.iter().enumerate().take(p - G * g) {
                r[G * g + j][t] -= a;
            }
        }
    }
}

/// Rows per block of the n-row products: the blocks run in parallel (rayon), each product
/// sequential, and the partial sums are added in block order, so the result does not depend on
/// the thread count. (faer's own parallel product splits the small output instead, which stalls
/// on a loaded machine.) 1024 rows of the 100 Z features are 800 KB, so a block stays in a
/// core's L2 (4096 did not), and n = 2000 already splits over two threads.
const ROWS: usize = 1024;

/// `aᵀ b` over the rows of `a` and `b` (blocks of [`ROWS`] rows).
fn cross(a: faer::MatRef<'_, f64>, b: faer::MatRef<'_, f64>) -> Mat<f64> {
    by_blocks(a.nrows(), a.ncols(), b.ncols(), |lo, len, out| {
        faer::linalg::matmul::matmul(
            out,
            faer::Accum::Replace,
            a.subrows(lo, len).transpose(),
            b.subrows(lo, len),
            1.0,
            faer::Par::Seq,
        )
    })
}

/// `aᵀ a`: per block of rows the lower half by faer's triangular product (half the work of a
/// full one), the blocks summed, then mirrored.
pub(super) fn gram(a: faer::MatRef<'_, f64>) -> Mat<f64> {
    let p = a.ncols();
    let mut g = by_blocks(a.nrows(), p, p, |lo, len, out| {
        lower_gram(a.subrows(lo, len), out)
    });
    mirror_lower(&mut g);
    g
}

/// The lower half of `rowsᵀ rows` into `out` (faer's triangular product, sequential).
fn lower_gram(rows: faer::MatRef<'_, f64>, out: faer::MatMut<'_, f64>) {
    faer::linalg::matmul::triangular::matmul(
        out,
        BlockStructure::TriangularLower,
        faer::Accum::Replace,
        rows.transpose(),
        BlockStructure::Rectangular,
        rows,
        BlockStructure::Rectangular,
        1.0,
        faer::Par::Seq,
    )
}

/// Copies the lower half of a square matrix onto its upper half.
pub(super) fn mirror_lower(g: &mut Mat<f64>) {
    for j in 0..g.ncols() {
        for i in 0..j {
            g[(i, j)] = g[(j, i)];
        }
    }
}

/// Σ over blocks of [`ROWS`] of `n` rows of `block(first row, rows, out)` (each a `p × q`
/// product written into a zeroed `out`), blocks in parallel, summed in block order.
fn by_blocks(
    n: usize,
    p: usize,
    q: usize,
    block: impl Fn(usize, usize, faer::MatMut<'_, f64>) + Sync,
) -> Mat<f64> {
    let parts: Vec<Mat<f64>> = (0..n.div_ceil(ROWS))
        .into_par_iter()
        .map(|c| {
            let mut out = Mat::<f64>::zeros(p, q);
            block(c * ROWS, ROWS.min(n - c * ROWS), out.as_mut());
            out
        })
        .collect();
    let mut total = Mat::<f64>::zeros(p, q);
    for part in &parts {
        total += part;
    }
    total
}
