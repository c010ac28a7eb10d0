#!/usr/bin/env python3
"""Generate tests/reference/hyppo_reference.json (hyppo's Hsic statistic and p-value).

Made with: Python 3.11.7, numpy 2.4.6, scipy 1.17.1, hyppo 0.5.2 (recorded in the JSON's
"generated_by").

Regenerate from the crate root with:

    python3 tests/reference/make_hyppo_reference.py

Deterministic: each case draws from numpy.random.default_rng(seed); values are rounded to 10
significant digits before hyppo runs. Recorded per case: `Hsic().test(x, y)` (defaults:
compute_kernel="gaussian", bias=False, auto=True), i.e. the unbiased distance correlation of
1 − K with Gaussian kernels K = exp(−γ‖a − b‖²), γ = 1 / (2 med²), med the median of the
off-diagonal pairwise distances of **x** (hyppo applies x's γ to y too), and the p-value
`chi2.sf(stat · n + 1, 1)` (hyppo's chi-square approximation, used for n > 20). Also "gamma",
and "stat_check": a separate numpy computation of the statistic from the U-centred inner
product formula (asserted to agree to 1e-10 relative). "log_p_value": `chi2.logsf(stat · n + 1, 1)`,
ln of the p-value, accurate where p is tiny (the tests compare −ln p below p = 1e-4).

`--log-p-only` adds "log_p_value" to the existing JSON from each case's stored statistic and n,
changing nothing else (it asserts that `chi2.sf(stat · n + 1, 1)` reproduces the stored p-value
to 1e-12 relative); hyppo is not needed for it. That is how the checked-in key was added (scipy
1.17.1, recorded as "scipy_log_p" in "generated_by").
"""
import json
import platform
import sys
from importlib.metadata import version

import numpy as np
import scipy
from scipy.stats import chi2


def sig(a):
    return np.array([float(f"{v:.10g}") for v in a.ravel()]).reshape(a.shape)


def med(a):
    d = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(-1))
    m = np.median(d[~np.eye(len(a), dtype=bool)])
    return m if m else 1.0


def kern(a, m):
    return np.exp(-((a[:, None, :] - a[None, :, :]) ** 2).sum(-1) / (2 * m * m))


def u(a, b):
    n = len(a)
    a = a.copy()
    b = b.copy()
    np.fill_diagonal(a, 0)
    np.fill_diagonal(b, 0)
    one = np.ones(n)
    return (np.sum(a * b) + (one @ a @ one) * (one @ b @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * (one @ a @ (b @ one)))


def case(name, seed, n, make):
    rng = np.random.default_rng(seed)
    x, y = make(rng, n)
    x, y = sig(x.reshape(n, -1)), sig(y.reshape(n, -1))
    from hyppo.independence import Hsic

    stat, p = Hsic().test(x, y)
    m = med(x)
    kx, ky = kern(x, m), kern(y, m)
    check = u(kx, ky) / np.sqrt(u(kx, kx) * u(ky, ky))
    assert abs(check - stat) <= 1e-10 * abs(stat) + 1e-14, (name, check, stat)
    return {"name": name, "seed": seed, "n": n, "x": x.T.tolist(), "y": y.T.tolist(),
            "statistic": float(stat), "p_value": float(p), "gamma": 1.0 / (2 * m * m),
            "stat_check": float(check), "log_p_value": log_p(stat, n)}


def log_p(stat, n):
    return float(chi2.logsf(stat * n + 1, 1))


def add_log_p():
    path = "tests/reference/hyppo_reference.json"
    with open(path) as f:
        doc = json.load(f)
    for c in doc["cases"]:
        p = chi2.sf(c["statistic"] * c["n"] + 1, 1)
        assert abs(p - c["p_value"]) <= 1e-12 * c["p_value"], (c["name"], p, c["p_value"])
        c["log_p_value"] = log_p(c["statistic"], c["n"])
    doc["generated_by"]["scipy_log_p"] = scipy.__version__
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))


def main():
    e = lambda rng, n, d=1: rng.standard_normal((n, d))
    cases = [
        case("independent_n100", 1, 100, lambda r, n: (e(r, n), e(r, n))),
        case("independent_n400", 2, 400, lambda r, n: (e(r, n), e(r, n))),
        case("linear_n200", 3, 200, lambda r, n: (lambda x: (x, 0.3 * x + e(r, n)))(e(r, n))),
        case("sin_n300", 4, 300, lambda r, n: (lambda x: (x, np.sin(2 * x) + 0.5 * e(r, n)))(e(r, n))),
        case("quadratic_n300", 5, 300, lambda r, n: (lambda x: (x, x * x + e(r, n)))(e(r, n))),
        case("scaled_y_n250", 6, 250, lambda r, n: (lambda x: (x, 5.0 * np.tanh(x) + 3.0 * e(r, n)))(e(r, n))),
        case("multivariate_n600", 7, 600,
             lambda r, n: (lambda x: (x, np.column_stack([x[:, 0] * x[:, 1], e(r, n)[:, 0]])
                                      + 0.5 * e(r, n, 2)))(e(r, n, 2))),
    ]
    out = {"generated_by": {"python": platform.python_version(), "numpy": np.__version__,
                            "scipy": scipy.__version__, "hyppo": version("hyppo")},
           "cases": cases}
    with open("tests/reference/hyppo_reference.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))
    for c in cases:
        print(c["name"], c["statistic"], c["p_value"])


if __name__ == "__main__":
    add_log_p() if "--log-p-only" in sys.argv else main()
