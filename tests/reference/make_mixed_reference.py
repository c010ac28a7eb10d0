#!/usr/bin/env python3
"""Reference values for the degenerate-Gaussian likelihood-ratio test (`dg`, mixed data).

Andrews, Ramsey & Cooper (2019), "Learning high-dimensional DAGs with mixed data-types": every
discrete column with k levels enters as k − 1 indicator columns (levels in sorted order, the first
dropped), continuous columns as they are, and X ⫫ Y | Z is the Gaussian likelihood-ratio test on
those columns, LR = n [ln det Σ_XZ + ln det Σ_YZ − ln det Σ_XYZ − ln det Σ_Z] (maximum-likelihood
covariances), χ²(dim X · dim Y) under the null.

Two independent computations per case, which must agree (asserted) before the file is written:
* statsmodels (when X is one continuous column): OLS of X on [1, Z] and on [1, Y, Z] (embedded),
  `full.compare_lr_test(restricted)` -> (LR, p, df);
* numpy closed form: `np.linalg.slogdet` of `np.cov(..., bias=True)` submatrices, p from
  `scipy.stats.chi2.sf`.

Run from the crate root: `python3 tests/reference/make_mixed_reference.py` (deterministic,
`numpy.random.default_rng(20261206)`); writes tests/reference/mixed_reference.json, read by
tests/mixed.rs. Made with Python 3.11.7, numpy 2.4.6, scipy 1.17.1, statsmodels 0.15.0 (recorded in
the JSON).
"""
import json
import os
import sys

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy.stats import chi2

HERE = os.path.dirname(os.path.abspath(__file__))


def embed(col):
    col = np.asarray(col)
    if col.dtype.kind in "US":
        levels = np.unique(col)
        return np.column_stack([(col == lv).astype(float) for lv in levels[1:]])
    return col.astype(float)[:, None]


def emb(cols, data):
    if not cols:
        return np.zeros((len(next(iter(data.values()))), 0))
    return np.hstack([embed(data[c]) for c in cols])


def logdet(m):
    if m.shape[1] == 0:
        return 0.0
    s = np.cov(m, rowvar=False, bias=True)
    s = np.atleast_2d(s)
    sign, ld = np.linalg.slogdet(s)
    assert sign > 0
    return ld


def closed_form(data, x, y, z):
    ex, ey, ez = emb(x, data), emb(y, data), emb(z, data)
    n = ex.shape[0]
    lr = n * (logdet(np.hstack([ex, ez])) + logdet(np.hstack([ey, ez]))
              - logdet(np.hstack([ex, ey, ez])) - logdet(ez))
    df = ex.shape[1] * ey.shape[1]
    return max(lr, 0.0), df, chi2.sf(max(lr, 0.0), df)


def by_statsmodels(data, x, y, z):
    ex, ey, ez = emb(x, data), emb(y, data), emb(z, data)
    assert ex.shape[1] == 1
    n = ex.shape[0]
    restricted = sm.OLS(ex[:, 0], np.hstack([np.ones((n, 1)), ez])).fit()
    full = sm.OLS(ex[:, 0], np.hstack([np.ones((n, 1)), ey, ez])).fit()
    lr, p, df = full.compare_lr_test(restricted)
    return lr, int(df), p


def main():
    rng = np.random.default_rng(20261206)
    n = 300
    z1 = rng.normal(size=n)
    zd = rng.choice(np.array(["p", "q", "r"]), size=n, p=[0.5, 0.3, 0.2])
    g = np.where(z1 + rng.normal(size=n) > 0.5, "hi", np.where(z1 > -0.4, "mid", "lo"))
    x = 0.7 * z1 + 0.4 * (zd == "q") + rng.normal(size=n)
    y = 0.5 * (g == "hi") - 0.3 * z1 + rng.normal(size=n)
    w = rng.normal(size=n)
    h = rng.choice(np.array(["u", "v"]), size=n)
    k = np.where(rng.random(n) < 0.3 + 0.3 * (zd == "p"), "k1", np.where(rng.random(n) < 0.5, "k2", "k3"))
    data = {"z1": z1, "zd": zd, "g": g, "x": x, "y": y, "w": w, "h": h, "k": k}
    queries = [
        (["x"], ["g"], []),
        (["x"], ["g"], ["z1"]),
        (["x"], ["g"], ["z1", "zd"]),
        (["y"], ["g"], ["z1"]),
        (["w"], ["k"], ["zd", "z1"]),
        (["x"], ["y", "h"], ["zd"]),
        (["g"], ["k"], []),
        (["g"], ["k"], ["zd"]),
        (["g", "h"], ["k"], ["zd", "z1"]),
        (["x", "w"], ["y", "g"], ["z1"]),
        (["x"], ["w"], []),
    ]
    cases = []
    for qx, qy, qz in queries:
        lr, df, p = closed_form(data, qx, qy, qz)
        case = {"x": qx, "y": qy, "z": qz, "statistic": lr, "df": df, "p_value": p}
        if len(qx) == 1 and data[qx[0]].dtype.kind == "f":
            lr2, df2, p2 = by_statsmodels(data, qx, qy, qz)
            assert df2 == df and abs(lr2 - lr) <= 1e-9 * max(1.0, lr), (qx, qy, qz, lr, lr2)
            assert abs(p2 - p) <= 1e-9 * max(p, 1e-300) + 1e-15, (p, p2)
            case["statsmodels"] = True
        cases.append(case)
    out = {
        "generated_by": {"script": "tests/reference/make_mixed_reference.py",
                         "python": sys.version.split()[0], "numpy": np.__version__,
                         "scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
        "columns": {c: (v.tolist() if v.dtype.kind == "f" else [str(s) for s in v])
                    for c, v in data.items()},
        "discrete": [c for c, v in data.items() if v.dtype.kind != "f"],
        "cases": cases,
    }
    with open(os.path.join(HERE, "mixed_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["x"], c["y"], c["z"], round(c["statistic"], 6), c["df"], c["p_value"],
              "statsmodels" if c.get("statsmodels") else "")


if __name__ == "__main__":
    main()
