#!/usr/bin/env python3
"""Generate tests/reference/independence_reference.json (KCI reference values).

Made with: Python 3.11.7, numpy 2.4.6, scipy 1.17.1, causal-learn 0.1.4.8,
hyppo 0.5.2. The versions that made the checked-in JSON are in its
"generated_by" object.

Regenerate from the crate root with:

    python3 tests/reference/make_independence_reference.py

The output is deterministic: each case draws its data from
numpy.random.default_rng(seed) with a fixed seed. Every value is rounded to
10 significant digits *before* any test runs, so the JSON holds exactly the
inputs that produced the reference values. No case uses causal-learn's random
subsample (the median rule only subsamples above n = 1000, and median cases
here have n <= 600). The script takes about 1-2 minutes on 2 cores.

What is recorded, per case:

* "statistic", "p_value": the return of causal-learn's
  KCI_UInd(kernelX='Gaussian', kernelY='Gaussian', est_width=W, approx=True)
  .compute_pvalue(x, y), or KCI_CInd(kernelX/Y/Z='Gaussian', est_width=W,
  approx=True).compute_pvalue(x, y, z). x, y and z are n x d arrays.
  p_value is causal-learn's `1 - stats.gamma.cdf(stat, k, 0, theta)`. It
  therefore becomes exactly 0 once the cdf rounds to 1. "p_value_sf" (an extra
  key) is scipy.stats.gamma.sf with the same parameters, accurate in the tail.
* "k_appr", "theta_appr": the gamma shape and scale. They come from the
  object's own get_kappa, called on the matrices that compute_pvalue uses
  (Kxc, Kyc for UInd; get_uuprod(KxR, KyR) for CInd).
* "kernel_theta": {"x", "y", "z"}. These are the GaussianKernel.width
  attributes that causal-learn actually used. The kernel is
  k(a, b) = exp(-0.5 * theta * ||a - b||^2). The values are read by wrapping
  GaussianKernel.kernel, so they are not derived. For CInd, "x" is the kernel
  on the concatenation [zscore(x), 0.5 * zscore(z)]. "z" is null for UInd.

Every case is also recomputed with a separate numpy replication
(`replicate_uind`, `replicate_cind` below). It uses no causal-learn code. The
script asserts that the statistic, k, theta, p and all the thetas agree with
causal-learn to 1e-10 relative. For CInd the replication computes the gamma
parameters without forming causal-learn's n x (#eig_x * #eig_y) matrix uu.
Let Px = sum_i wx_i vx_i vx_i^T over the eigenpairs of KxR that are kept
(wx_i > 1e-5 * max wx), and define Py the same way. Let M = Px o Py
(elementwise). Then trace(uu_prod) = trace(M) and
trace(uu_prod^2) = sum(M^2).
"""

import json
import os
import platform
import sys
import time

import numpy as np
import scipy
import scipy.stats

import causallearn
from causallearn.utils.KCI import GaussianKernel as gk_module
from causallearn.utils.KCI.KCI import KCI_CInd, KCI_UInd

try:
    from importlib.metadata import version as _pkg_version
except ImportError:  # pragma: no cover
    _pkg_version = None

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "independence_reference.json")
RTOL = 1e-10

EPSILON = 1e-3          # KCI_CInd.epsilon_x / epsilon_y
EIG_THRESH = 1e-5       # KCI_CInd.thresh (relative eigenvalue cut in get_uuprod)


def pkg_version(name, module=None):
    try:
        return _pkg_version(name)
    except Exception:
        return getattr(module, "__version__", None)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

def r10(a):
    """Round every entry to 10 significant digits (as stored in the JSON)."""
    a = np.asarray(a, dtype=float)
    flat = np.array([float("%.10g" % v) for v in a.ravel()])
    return flat.reshape(a.shape)


def col(v):
    return np.asarray(v, dtype=float).reshape(-1, 1)


def cases():
    """Yield (name, kind, width, seed, description, x, y, z). z is None for uind."""
    N = lambda rng, n, d=1: rng.standard_normal((n, d))

    # ---------------- unconditional, empirical width ----------------
    rng = np.random.default_rng(101)
    n = 150
    yield ("uind_indep_n150", "uind", "empirical", 101,
           "x, y iid N(0,1), independent", N(rng, n), N(rng, n), None)

    rng = np.random.default_rng(102)
    n = 150
    x = N(rng, n)
    yield ("uind_linear_weak_n150", "uind", "empirical", 102,
           "y = 0.1 x + N(0,1)", x, 0.1 * x + N(rng, n), None)

    rng = np.random.default_rng(103)
    n = 600
    x = N(rng, n)
    yield ("uind_linear_n600", "uind", "empirical", 103,
           "y = 0.12 x + N(0,1)", x, 0.12 * x + N(rng, n), None)

    rng = np.random.default_rng(104)
    n = 600
    x = N(rng, n)
    yield ("uind_sin_n600", "uind", "empirical", 104,
           "y = sin(2x) + 0.5 N(0,1)", x, np.sin(2 * x) + 0.5 * N(rng, n), None)

    rng = np.random.default_rng(105)
    n = 150
    x = N(rng, n)
    yield ("uind_square_n150", "uind", "empirical", 105,
           "y = 0.3 x^2 + N(0,1)", x, 0.3 * x ** 2 + N(rng, n), None)

    rng = np.random.default_rng(106)
    n = 150
    x = N(rng, n, 2)
    e = N(rng, n, 2)
    y = np.column_stack([0.25 * x[:, 0] * x[:, 1] + e[:, 0], e[:, 1]])
    yield ("uind_multi_2x2_n150", "uind", "empirical", 106,
           "x 2 cols N(0,1); y1 = 0.25 x1 x2 + e1, y2 = e2", x, y, None)

    rng = np.random.default_rng(107)
    n = 1500
    yield ("uind_indep_n1500", "uind", "empirical", 107,
           "x ~ N(0,1), y ~ Exp(1) (skewed), independent",
           N(rng, n), col(rng.exponential(1.0, n)), None)

    rng = np.random.default_rng(108)
    n = 1500
    x = N(rng, n)
    yield ("uind_square_weak_n1500", "uind", "empirical", 108,
           "y = 0.1 x^2 + N(0,1)", x, 0.1 * x ** 2 + N(rng, n), None)

    # ---------------- unconditional, median width ----------------
    rng = np.random.default_rng(111)
    n = 150
    yield ("uind_median_indep_n150", "uind", "median", 111,
           "x ~ 3 N(0,1) (not unit scale), y ~ N(0,1), independent",
           3.0 * N(rng, n), N(rng, n), None)

    rng = np.random.default_rng(112)
    n = 600
    x = N(rng, n)
    yield ("uind_median_sin_n600", "uind", "median", 112,
           "y = 0.3 sin(3x) + N(0,1)", x, 0.3 * np.sin(3 * x) + N(rng, n), None)

    rng = np.random.default_rng(113)
    n = 600
    x = N(rng, n, 2)
    e = N(rng, n, 2)
    y = np.column_stack([0.1 * (x[:, 0] + x[:, 1]) + e[:, 0], 2.0 * e[:, 1]])
    yield ("uind_median_multi_2x2_n600", "uind", "median", 113,
           "x 2 cols; y1 = 0.1 (x1 + x2) + e1, y2 = 2 e2", x, y, None)

    rng = np.random.default_rng(114)
    n = 150
    x = col(rng.integers(0, 4, n))
    yield ("uind_median_ties_n150", "uind", "median", 114,
           "x integer in {0,1,2,3} (many zero distances, excluded from the "
           "median), y = 0.15 x + N(0,1)", x, 0.15 * x + N(rng, n), None)

    # ---------------- conditional, empirical width ----------------
    rng = np.random.default_rng(201)
    n = 150
    z = N(rng, n)
    yield ("cind_fork_tanh_z1_n150", "cind", "empirical", 201,
           "fork: x = tanh(2z) + 0.4 e1, y = tanh(z) + 0.4 e2 (independent given z)",
           np.tanh(2 * z) + 0.4 * N(rng, n), np.tanh(z) + 0.4 * N(rng, n), z)

    rng = np.random.default_rng(202)
    n = 150
    x = N(rng, n)
    y = N(rng, n)
    z = x + y + 0.5 * N(rng, n)
    yield ("cind_collider_z1_n150", "cind", "empirical", 202,
           "collider: z = x + y + 0.5 e (dependent given z)", x, y, z)

    rng = np.random.default_rng(203)
    n = 600
    x = N(rng, n)
    z = x + 0.5 * N(rng, n)
    y = z + 0.5 * N(rng, n)
    yield ("cind_chain_lin_z1_n600", "cind", "empirical", 203,
           "chain: z = x + 0.5 e1, y = z + 0.5 e2 (independent given z)", x, y, z)

    rng = np.random.default_rng(204)
    n = 600
    z = N(rng, n)
    x = np.sin(z) + 0.5 * N(rng, n)
    y = np.sin(z) + 0.15 * x + 0.5 * N(rng, n)
    yield ("cind_confounded_sin_z1_n600", "cind", "empirical", 204,
           "z -> x, z -> y, x -> y: x = sin z + 0.5 e1, y = sin z + 0.15 x + 0.5 e2 "
           "(dependent given z)", x, y, z)

    rng = np.random.default_rng(205)
    n = 600
    z = N(rng, n, 2)
    x = np.tanh(z[:, [0]]) + 0.5 * z[:, [1]] + 0.5 * N(rng, n)
    y = np.sin(z[:, [0]]) - 0.5 * z[:, [1]] + 0.5 * N(rng, n)
    yield ("cind_fork_z2_n600", "cind", "empirical", 205,
           "fork, |Z|=2: x = tanh z1 + 0.5 z2 + 0.5 e1, y = sin z1 - 0.5 z2 + 0.5 e2",
           x, y, z)

    rng = np.random.default_rng(206)
    n = 150
    x = N(rng, n)
    z = np.column_stack([x[:, 0] + 0.5 * rng.standard_normal(n),
                         np.tanh(x[:, 0]) + 0.5 * rng.standard_normal(n),
                         rng.standard_normal(n)])
    y = 0.5 * z[:, [0]] + np.tanh(z[:, [1]]) + 0.5 * N(rng, n)
    yield ("cind_chain_z3_n150", "cind", "empirical", 206,
           "chain, |Z|=3: z1 = x + 0.5 e, z2 = tanh x + 0.5 e, z3 noise; "
           "y = 0.5 z1 + tanh z2 + 0.5 e (independent given z)", x, y, z)

    rng = np.random.default_rng(207)
    n = 150
    z = N(rng, n, 3)
    x = z[:, [0]] + z[:, [1]] + 0.6 * N(rng, n)
    y = z[:, [1]] - z[:, [2]] + 0.3 * x + 0.6 * N(rng, n)
    yield ("cind_confounded_lin_z3_n150", "cind", "empirical", 207,
           "linear, |Z|=3: x = z1 + z2 + 0.6 e1, y = z2 - z3 + 0.3 x + 0.6 e2 "
           "(dependent given z)", x, y, z)

    rng = np.random.default_rng(208)
    n = 1500
    z = N(rng, n)
    x = np.sin(z) + 0.5 * N(rng, n)
    y = np.tanh(2 * z) + 0.5 * N(rng, n)
    yield ("cind_fork_sin_z1_n1500", "cind", "empirical", 208,
           "fork: x = sin z + 0.5 e1, y = tanh(2z) + 0.5 e2 (independent given z)",
           x, y, z)

    rng = np.random.default_rng(209)
    n = 1500
    x = N(rng, n)
    y = N(rng, n)
    z = np.column_stack([np.tanh(x[:, 0] + y[:, 0]) + 0.5 * rng.standard_normal(n),
                         rng.standard_normal(n)])
    yield ("cind_collider_z2_n1500", "cind", "empirical", 209,
           "collider, |Z|=2: z1 = tanh(x + y) + 0.5 e, z2 noise (dependent given z)",
           x, y, z)

    # ---------------- conditional, median width ----------------
    rng = np.random.default_rng(211)
    n = 150
    z = N(rng, n)
    x = np.column_stack([z[:, 0] + 0.5 * rng.standard_normal(n),
                         rng.standard_normal(n)])
    y = z ** 2 + 0.5 * N(rng, n)
    yield ("cind_median_fork_x2_z1_n150", "cind", "median", 211,
           "fork, x 2 cols: x1 = z + 0.5 e, x2 noise; y = z^2 + 0.5 e "
           "(independent given z)", x, y, z)

    rng = np.random.default_rng(212)
    n = 600
    x = N(rng, n)
    y = N(rng, n)
    z = np.column_stack([x[:, 0] + y[:, 0] + rng.standard_normal(n),
                         rng.standard_normal(n)])
    yield ("cind_median_collider_z2_n600", "cind", "median", 212,
           "collider, |Z|=2: z1 = x + y + e, z2 noise (dependent given z)", x, y, z)


# --------------------------------------------------------------------------
# causal-learn, with the Gaussian widths it used recorded
# --------------------------------------------------------------------------

_WIDTH_LOG = []
_orig_kernel = gk_module.GaussianKernel.kernel


def _logging_kernel(self, X, Y=None):
    _WIDTH_LOG.append(float(self.width))
    return _orig_kernel(self, X, Y)


gk_module.GaussianKernel.kernel = _logging_kernel


def run_causallearn(kind, width, x, y, z):
    # compute_pvalue and the parts it calls are deterministic here (no subsampling)
    if kind == "uind":
        t = KCI_UInd(kernelX="Gaussian", kernelY="Gaussian", est_width=width, approx=True)
        _WIDTH_LOG.clear()
        p, stat = t.compute_pvalue(x.copy(), y.copy())
        thetas = list(_WIDTH_LOG)
        assert len(thetas) == 2, thetas
        # the same pipeline again, to read the gamma parameters
        Kx, Ky = t.kernel_matrix(x.copy(), y.copy())
        stat2, Kxc, Kyc = t.HSIC_V_statistic(Kx, Ky)
        k, th = t.get_kappa(Kxc, Kyc)
        kt = {"x": thetas[0], "y": thetas[1], "z": None}
    else:
        t = KCI_CInd(kernelX="Gaussian", kernelY="Gaussian", kernelZ="Gaussian",
                     est_width=width, approx=True)
        assert t.epsilon_x == EPSILON and t.epsilon_y == EPSILON and t.thresh == EIG_THRESH
        _WIDTH_LOG.clear()
        p, stat = t.compute_pvalue(x.copy(), y.copy(), z.copy())
        thetas = list(_WIDTH_LOG)
        assert len(thetas) == 3, thetas
        Kx, Ky, Kzx, Kzy = t.kernel_matrix(x.copy(), y.copy(), z.copy())
        stat2, KxR, KyR = t.KCI_V_statistic(Kx, Ky, Kzx, Kzy)
        uu_prod, _ = t.get_uuprod(KxR, KyR)
        k, th = t.get_kappa(uu_prod)
        kt = {"x": thetas[0], "y": thetas[1], "z": thetas[2]}
    assert stat2 == stat, (stat2, stat)
    p_check = 1 - scipy.stats.gamma.cdf(stat, k, 0, th)
    assert p_check == p, (p_check, p)
    p_sf = scipy.stats.gamma.sf(stat, k, 0, th)
    return dict(statistic=float(stat), p_value=float(p), p_value_sf=float(p_sf),
                k_appr=float(k), theta_appr=float(th), kernel_theta=kt)


# --------------------------------------------------------------------------
# independent replication (no causal-learn code)
# --------------------------------------------------------------------------

def zscore(a):
    a = np.asarray(a, dtype=float)
    sd = a.std(axis=0, ddof=1)
    out = (a - a.mean(axis=0)) / np.where(sd > 0, sd, np.nan)
    out[np.isnan(out)] = 0.0
    return out


def sqdist(a):
    d = np.zeros((a.shape[0], a.shape[0]))
    for j in range(a.shape[1]):
        diff = a[:, j][:, None] - a[:, j][None, :]
        d += diff * diff
    return d


def gauss(a, theta):
    return np.exp(-0.5 * theta * sqdist(a))


def center(k):
    rm = k.mean(axis=0)
    return k - rm[None, :] - rm[:, None] + k.mean()


def median_theta(a):
    """theta = 1 / (2 * median^2), median over the positive pairwise distances, i<j."""
    iu = np.triu_indices(a.shape[0], 1)
    d = np.sqrt(sqdist(a)[iu])
    med = np.median(d[d > 0])
    return 1.0 / (2.0 * med * med)


def uind_empirical_theta(n, d):
    w = 0.8 if n < 200 else (0.5 if n < 1200 else 0.3)
    return d / (w * w)


def cind_empirical_theta(n, dz):
    w = 1.2 if n < 200 else (0.7 if n < 1200 else 0.4)
    return 1.0 / (w * w) / dz


def replicate_uind(width, x, y):
    n = x.shape[0]
    if width == "median":
        # causal-learn takes the median on the RAW data, then applies the
        # kernel to the z-scored data
        tx, ty = median_theta(x), median_theta(y)
    else:
        tx, ty = uind_empirical_theta(n, x.shape[1]), uind_empirical_theta(n, y.shape[1])
    kxc = center(gauss(zscore(x), tx))
    kyc = center(gauss(zscore(y), ty))
    stat = np.sum(kxc * kyc)
    mean = np.trace(kxc) * np.trace(kyc) / n
    var = 2.0 * np.sum(kxc * kxc) * np.sum(kyc * kyc) / (n * n)
    k, th = mean * mean / var, var / mean
    return dict(statistic=stat, k_appr=k, theta_appr=th,
                p_value=1 - scipy.stats.gamma.cdf(stat, k, 0, th),
                kernel_theta={"x": tx, "y": ty, "z": None})


def replicate_cind(width, x, y, z, inverse="pinv"):
    n = x.shape[0]
    zx, zy, zz = zscore(x), zscore(y), zscore(z)
    xz = np.hstack([zx, 0.5 * zz])
    if width == "median":
        tx, ty, tz = median_theta(xz), median_theta(zy), median_theta(zz)
    else:
        tx = ty = tz = cind_empirical_theta(n, z.shape[1])
    kx = center(gauss(xz, tx))
    ky = center(gauss(zy, ty))
    kz = center(gauss(zz, tz))
    if inverse == "pinv":
        rz = EPSILON * np.linalg.pinv(kz + EPSILON * np.eye(n))
    else:  # eigh: R = eps (Kz + eps I)^-1 = U diag(eps / (lambda + eps)) U^T
        lam, u = np.linalg.eigh(0.5 * (kz + kz.T))
        rz = (u * (EPSILON / (lam + EPSILON))) @ u.T
    kxr = rz @ kx @ rz
    kyr = rz @ ky @ rz
    stat = np.sum(kxr * kyr)

    def proj(m):
        w, v = np.linalg.eigh(0.5 * (m + m.T))
        keep = w > w.max() * EIG_THRESH
        return (v[:, keep] * w[keep]) @ v[:, keep].T, int(keep.sum())

    px, nx = proj(kxr)
    py, ny = proj(kyr)
    m = px * py
    mean = np.trace(m)
    var = 2.0 * np.sum(m * m)
    k, th = mean * mean / var, var / mean
    return dict(statistic=stat, k_appr=k, theta_appr=th,
                p_value=1 - scipy.stats.gamma.cdf(stat, k, 0, th),
                kernel_theta={"x": tx, "y": ty, "z": tz}, n_eig=(nx, ny))


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


# --------------------------------------------------------------------------

def main():
    out_cases = []
    eigh_dev = []
    t_all = time.perf_counter()
    for name, kind, width, seed, desc, x, y, z in cases():
        x, y = r10(x), r10(y)
        z = r10(z) if z is not None else None
        n = x.shape[0]
        t0 = time.perf_counter()
        cl = run_causallearn(kind, width, x, y, z)
        secs = time.perf_counter() - t0

        rep = replicate_uind(width, x, y) if kind == "uind" else replicate_cind(width, x, y, z)
        for key in ("statistic", "k_appr", "theta_appr"):
            assert rel(rep[key], cl[key]) < RTOL, (name, key, rep[key], cl[key])
        for v in ("x", "y", "z"):
            if cl["kernel_theta"][v] is not None:
                assert rel(rep["kernel_theta"][v], cl["kernel_theta"][v]) < RTOL, (name, v)
        # the p-value: relative where it is not tiny, absolute otherwise
        assert abs(rep["p_value"] - cl["p_value"]) <= RTOL * max(cl["p_value"], 1e-6), (
            name, rep["p_value"], cl["p_value"])
        extra = ""
        if kind == "cind":
            alt = replicate_cind(width, x, y, z, inverse="eigh")
            d = max(rel(alt[k], cl[k]) for k in ("statistic", "k_appr", "theta_appr"))
            eigh_dev.append(d)
            extra = f" n_eig={rep['n_eig']} eigh-inverse maxrel={d:.1e}"
        print(f"{name:32s} n={n:5d} stat={cl['statistic']:.6g} p={cl['p_value']:.4g} "
              f"k={cl['k_appr']:.4g} th={cl['theta_appr']:.4g} ({secs:.1f}s){extra}",
              file=sys.stderr)

        case = {
            "name": name,
            "kind": kind,
            "n": int(n),
            "x": [x[:, j].tolist() for j in range(x.shape[1])],
            "y": [y[:, j].tolist() for j in range(y.shape[1])],
            "z": [] if z is None else [z[:, j].tolist() for j in range(z.shape[1])],
            "width": width,
            "statistic": cl["statistic"],
            "p_value": cl["p_value"],
            "k_appr": cl["k_appr"],
            "theta_appr": cl["theta_appr"],
            "kernel_theta": cl["kernel_theta"],
            "p_value_sf": cl["p_value_sf"],
            "seed": seed,
            "description": desc,
        }
        out_cases.append(case)

    doc = {
        "generated_by": {
            "script": "tests/reference/make_independence_reference.py",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "causal-learn": pkg_version("causal-learn", causallearn),
            "hyppo": pkg_version("hyppo"),
            "data_rounding": "10 significant digits, applied before testing",
            "replication_rtol": RTOL,
            "max_rel_dev_cind_eigh_inverse": max(eigh_dev) if eigh_dev else None,
        },
        "conventions": {
            "gaussian_kernel": "k(a,b) = exp(-0.5 * theta * ||a-b||^2); kernel_theta is theta",
            "standardize": "each column z-scored with ddof=1 (constant column -> 0) "
                           "before the kernel",
            "uind_empirical_theta": "d / w^2, w = 0.8 (n<200), 0.5 (n<1200), 0.3 "
                                    "(otherwise); d = columns of that variable",
            "uind_median_theta": "1 / (2 m^2), m = median of the positive pairwise "
                                 "Euclidean distances of the RAW (unstandardized) data",
            "uind_statistic": "sum(HKxH * HKyH) (no 1/n), H = I - 11'/n",
            "uind_gamma": "mean = tr(Kxc) tr(Kyc) / n; var = 2 sum(Kxc^2) sum(Kyc^2) / n^2; "
                          "k = mean^2/var; theta = var/mean",
            "cind_kernels": "Kx on [zscore(x), 0.5 zscore(z)]; Ky on zscore(y); Kz on "
                            "zscore(z); each centered with H",
            "cind_empirical_theta": "1 / (w^2 * dz) for all three kernels, w = 1.2 (n<200), "
                                    "0.7 (n<1200), 0.4 (otherwise); dz = columns of z",
            "cind_median_theta": "1 / (2 m^2), median of positive pairwise distances of the "
                                 "standardized data the kernel is applied to ([x, 0.5z] for x)",
            "cind_statistic": "Rz = eps (Kzc + eps I)^-1 (pinv), eps = 1e-3; KxR = Rz Kxc Rz; "
                              "KyR = Rz Kyc Rz; stat = sum(KxR * KyR)",
            "cind_gamma": "keep eigenpairs of KxR, KyR with w > 1e-5 max(w); Px = V diag(w) V'; "
                          "M = Px o Py; mean = tr(M); var = 2 sum(M^2); k = mean^2/var; "
                          "theta = var/mean",
            "p_value": "1 - gamma.cdf(stat, k, scale=theta) as causal-learn computes it "
                       "(exactly 0 in the far tail); p_value_sf = gamma.sf, same parameters",
        },
        "cases": out_cases,
    }
    # readable layout, but each data column on one line
    placeholders = {}
    for c in out_cases:
        for v in ("x", "y", "z"):
            cols = []
            for j, colv in enumerate(c[v]):
                key = f"@@{c['name']}/{v}/{j}@@"
                placeholders[key] = json.dumps(colv, separators=(",", ":"))
                cols.append(key)
            c[v] = cols
    text = json.dumps(doc, indent=1)
    for key, val in placeholders.items():
        text = text.replace(json.dumps(key), val)
    json.loads(text)  # sanity
    with open(OUT, "w") as f:
        f.write(text)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT) / 1e6:.2f} MB, {len(out_cases)} cases, "
          f"{time.perf_counter() - t_all:.0f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
