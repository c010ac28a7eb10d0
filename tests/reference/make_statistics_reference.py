#!/usr/bin/env python3
"""Generate tests/reference/statistics_reference.json: every built-in statistic of
`ceteris bootstrap` (estimate and analytic standard error) from independent implementations, and
Monte-Carlo references for the studentized (bootstrap-t) interval.

Made with: Python 3.11.7, numpy 2.4.6, scipy 1.17.1, statsmodels 0.15.0 (recorded in the JSON's
"generated_by"). Run from the crate root:

    tests/reference/.venv/bin/python tests/reference/make_statistics_reference.py

Deterministic (numpy.random.default_rng with fixed seeds; data rounded to 10 significant digits
before anything is computed; two runs give byte-identical files); about 10 s.

Part 1, "datasets": two data sets (n = 80, seed 1; n = 237, seed 2) with columns x, w, a, b, t,
y, e, mu0, mu1, x1, x2, and for each statistic its estimate and, where ceteris has one
(`SumKind::finish`), its analytic standard error, computed by:
  mean          np.mean;                         se scipy.stats.sem (ddof = 1)
  var / std     np.var / np.std (ddof = 1);      se of var: sqrt((m4 - m2^2)/n) with
                scipy.stats.moment (central moments, divisor n); se of std: se_var / (2 sd)
  median, quantile:Q  np.quantile (method="linear", type 7);  no se
  weighted-mean np.average(x, weights=w);        se statsmodels WLS(x ~ 1, weights=w) HC0 bse
                (= sqrt(sum w^2 (x - m)^2) / sum w)
  diff-means    mean(y|t=1) - mean(y|t=0);       se Welch: diff / scipy ttest_ind(equal_var=False)
  ratio-means   mean(a)/mean(b);                 se delta method from np.cov (ddof = 1):
                sqrt((Saa - 2 r Sab + r^2 Sbb)/n) / |mean(b)|
  corr          np.corrcoef (checked against scipy.stats.pearsonr);  no se
  ols:NAME      statsmodels OLS(y ~ 1 + x1 + x2) params and (classical) bse, intercept included
  ipw           mean of t y/e - (1-t) y/(1-e);   se scipy.stats.sem of those terms
  hajek         statsmodels WLS(y ~ 1 + t, weights t/e + (1-t)/(1-e)) slope, se its HC0 bse
                (the two-group sandwich; asserted equal to the per-arm formula of ceteris'
                SumKind::Hajek to 1e-12)
  aipw          mean of mu1 - mu0 + t(y-mu1)/e - (1-t)(y-mu0)/(1-e);  se scipy.stats.sem

Part 2, "studentized_mc": the bootstrap-t interval [est - se q(1 - a/2), est - se q(a/2)], q the
type-7 quantiles of t* = (est* - est)/se* over B = 1999 iid resamples (numpy), se the analytic
standard error above, level 0.95, for the mean of a lognormal sample (n = 40) and the x1
coefficient of an OLS fit with heteroskedastic noise (n = 60), each run with S = 40 seeds. Stored:
the mean and sd (ddof = 1) across seeds of each endpoint, and the sd the quantile formula
predicts, se * sqrt(p(1-p)/B) / f(q) with f the density of t* at its p-quantile (a Gaussian KDE of
the pooled t*); the script asserts that the empirical and predicted sds agree within a factor 1.5.
"r_boot" holds the same for R's boot / boot.ci(type = "stud") (Debian's r-cran-boot 1.3.28.1 on
R 4.2.2; tests/reference/boot_studentized.R, set.seed(1000 + s), the statistic returning the
estimate and its variance): R draws its own resamples and takes the ((B + 1) p)-th order statistic
of t* (norm.inter: an integer position at B = 1999), where ceteris and numpy interpolate type 7 at
(B - 1) p; the two differ by under one spacing of the order statistics, stored as
"*_spacing" = se / (B f(q)).
"""
import json
import os
import platform
import subprocess
import tempfile
from importlib.metadata import version

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import stats


def sig(a):
    return np.array([float(f"{v:.10g}") for v in np.ravel(a)]).reshape(np.shape(a))


def dataset(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0.0, 0.6, n)
    w = rng.uniform(0.2, 3.0, n)
    a = 2.0 + rng.normal(0.0, 1.0, n)
    b = 5.0 + 0.5 * a + rng.normal(0.0, 1.0, n)
    x1 = rng.normal(0.0, 1.0, n)
    x2 = rng.uniform(-1.0, 1.0, n) + 0.3 * x1
    e = 1.0 / (1.0 + np.exp(-(-0.2 + 0.8 * x1 - 0.5 * x2)))
    t = (rng.uniform(size=n) < e).astype(float)
    y = 1.0 + 2.0 * t + 1.5 * x1 - x2 + rng.normal(0.0, 1.0 + 0.5 * np.abs(x1), n)
    mu0 = 1.0 + 1.4 * x1 - 0.9 * x2
    mu1 = 3.1 + 1.6 * x1 - 1.1 * x2
    cols = dict(x=x, w=w, a=a, b=b, t=t, y=y, e=e, mu0=mu0, mu1=mu1, x1=x1, x2=x2)
    return {k: sig(v) for k, v in cols.items()}


def statistics(c):
    n = len(c["x"])
    out = []

    def add(spec, est, se, **roles):
        out.append({"statistic": spec, **roles, "estimate": float(est),
                    "analytic_std_error": None if se is None else float(se)})

    x = c["x"]
    add("mean", np.mean(x), stats.sem(x), column="x")
    m2, m4 = stats.moment(x, 2), stats.moment(x, 4)
    se_var = np.sqrt((m4 - m2 * m2) / n)
    sd = np.std(x, ddof=1)
    add("var", np.var(x, ddof=1), se_var, column="x")
    add("std", sd, se_var / (2 * sd), column="x")
    add("median", np.quantile(x, 0.5, method="linear"), None, column="x")
    for q in (0.1, 0.25, 0.9):
        add(f"quantile:{q}", np.quantile(x, q, method="linear"), None, column="x")
    wls = sm.WLS(x, np.ones(n), weights=c["w"]).fit(cov_type="HC0")
    assert abs(wls.params[0] - np.average(x, weights=c["w"])) <= 1e-12 * abs(wls.params[0])
    add("weighted-mean", np.average(x, weights=c["w"]), wls.bse[0], column="x", weights="w")

    t, y, e = c["t"], c["y"], c["e"]
    y1, y0 = y[t == 1], y[t == 0]
    diff = y1.mean() - y0.mean()
    welch = stats.ttest_ind(y1, y0, equal_var=False)
    add("diff-means", diff, diff / welch.statistic, treatment="t", outcome="y")

    A, B = c["a"], c["b"]
    r = A.mean() / B.mean()
    S = np.cov(A, B)  # ddof = 1
    add("ratio-means", r, np.sqrt((S[0, 0] - 2 * r * S[0, 1] + r * r * S[1, 1]) / n) / abs(B.mean()),
        columns=["a", "b"])

    rho = np.corrcoef(c["x1"], y)[0, 1]
    assert abs(rho - stats.pearsonr(c["x1"], y).statistic) <= 1e-13
    add("corr", rho, None, columns=["x1", "y"])

    X = sm.add_constant(np.column_stack([c["x1"], c["x2"]]))
    ols = sm.OLS(y, X).fit()
    for k, name in enumerate(["intercept", "x1", "x2"]):
        add(f"ols:{name}", ols.params[k], ols.bse[k], outcome="y", covariates=["x1", "x2"])

    psi = t * y / e - (1 - t) * y / (1 - e)
    add("ipw", psi.mean(), stats.sem(psi), treatment="t", outcome="y", propensity="e")

    hw = t / e + (1 - t) / (1 - e)
    hj = sm.WLS(y, sm.add_constant(t), weights=hw).fit(cov_type="HC0")
    # the per-arm formula of ceteris (SumKind::Hajek): sum a^2 (y - mu)^2 / (sum a)^2 per arm
    a1, a0 = t / e, (1 - t) / (1 - e)
    m1, m0 = (a1 * y).sum() / a1.sum(), (a0 * y).sum() / a0.sum()
    arm_se = np.sqrt((a1 ** 2 * (y - m1) ** 2).sum() / a1.sum() ** 2
                     + (a0 ** 2 * (y - m0) ** 2).sum() / a0.sum() ** 2)
    assert abs(hj.params[1] - (m1 - m0)) <= 1e-12 * abs(m1 - m0)
    assert abs(hj.bse[1] - arm_se) <= 1e-12 * arm_se, (hj.bse[1], arm_se)
    add("hajek", hj.params[1], hj.bse[1], treatment="t", outcome="y", propensity="e")

    mu0, mu1 = c["mu0"], c["mu1"]
    phi = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1 - e)
    add("aipw", phi.mean(), stats.sem(phi), treatment="t", outcome="y", propensity="e",
        mu0="mu0", mu1="mu1")
    return out


# ---- part 2: studentized bootstrap, Monte Carlo over seeds ------------------------------------

B_MC, SEEDS, LEVEL = 1999, 40, 0.95


def type7(sorted_v, p):
    return np.quantile(sorted_v, p, method="linear")


def mean_and_se(idx, x):
    v = x[idx]  # (B, n)
    return v.mean(axis=1), v.std(axis=1, ddof=1) / np.sqrt(x.size)


def ols_and_se(idx, y, X, j):
    """Coefficient j and its classical se for each resample (rows idx): batched normal equations."""
    Xb, yb = X[idx], y[idx]  # (B, n, p), (B, n)
    XtX = np.einsum("bni,bnj->bij", Xb, Xb)
    Xty = np.einsum("bni,bn->bi", Xb, yb)
    inv = np.linalg.inv(XtX)
    beta = np.einsum("bij,bj->bi", inv, Xty)
    resid = yb - np.einsum("bni,bi->bn", Xb, beta)
    n, p = X.shape
    s2 = (resid ** 2).sum(axis=1) / (n - p)
    return beta[:, j], np.sqrt(s2 * inv[:, j, j])


def studentized_case(name, data, est, se0, replicate, description):
    n = len(next(iter(data.values())))
    alpha = 1 - LEVEL
    lows, highs, pooled = [], [], []
    for s in range(SEEDS):
        rng = np.random.default_rng(1000 + s)
        idx = rng.integers(0, n, (B_MC, n))
        th, se = replicate(idx)
        tstar = np.sort((th - est) / se)
        pooled.append(tstar)
        lows.append(est - se0 * type7(tstar, 1 - alpha / 2))
        highs.append(est - se0 * type7(tstar, alpha / 2))
    pooled = np.concatenate(pooled)
    kde = stats.gaussian_kde(pooled)
    predicted, spacing = {}, {}
    for key, p in (("low", 1 - alpha / 2), ("high", alpha / 2)):
        qp = np.quantile(pooled, p)
        predicted[key] = float(se0 * np.sqrt(p * (1 - p) / B_MC) / kde(qp)[0])
        spacing[key] = float(se0 / (B_MC * kde(qp)[0]))
    out = {"name": name, "description": description, "n_resamples": B_MC, "level": LEVEL,
           "seeds": SEEDS, "estimate": float(est), "analytic_std_error": float(se0),
           "columns": {k: v.tolist() for k, v in data.items()}}
    for key, v in (("low", lows), ("high", highs)):
        v = np.array(v)
        out[f"{key}_mean"] = float(v.mean())
        out[f"{key}_sd"] = float(v.std(ddof=1))
        out[f"{key}_sd_formula"] = predicted[key]
        out[f"{key}_spacing"] = spacing[key]
        ratio = out[f"{key}_sd"] / predicted[key]
        assert 1 / 1.5 < ratio < 1.5, (name, key, ratio)
    rb = out["r_boot"] = r_boot("mean" if "x" in data else "ols", data)
    for key in ("low", "high"):  # numpy and R agree within their Monte-Carlo error + 1 spacing
        tol = 4 * np.hypot(out[f"{key}_sd"], rb[f"{key}_sd"]) / np.sqrt(SEEDS) + spacing[key]
        assert abs(out[f"{key}_mean"] - rb[f"{key}_mean"]) <= tol, (name, key, out, rb)
    return out


R_VERSION = None


def r_boot(kind, data):
    """R boot.ci(type = "stud") endpoints over SEEDS seeds: their mean and sd (ddof = 1)."""
    global R_VERSION
    keys = list(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.csv")
        with open(path, "w") as f:
            f.write(",".join(keys) + "\n")
            for row in zip(*[data[k] for k in keys]):
                f.write(",".join(repr(float(v)) for v in row) + "\n")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot_studentized.R")
        lines = subprocess.run(["Rscript", script, kind, path, str(B_MC), str(SEEDS), str(LEVEL)],
                               check=True, capture_output=True, text=True).stdout.splitlines()
    R_VERSION = lines[-1].removeprefix("version ")
    ends = np.array([[float(v) for v in line.split()] for line in lines[:-1]])
    assert ends.shape == (SEEDS, 2)
    return {"seeds": SEEDS, "low_mean": float(ends[:, 0].mean()), "low_sd": float(ends[:, 0].std(ddof=1)),
            "high_mean": float(ends[:, 1].mean()), "high_sd": float(ends[:, 1].std(ddof=1))}


def studentized_cases():
    rng = np.random.default_rng(20261206)
    x = sig(rng.lognormal(0.0, 0.8, 40))
    mean_case = studentized_case(
        "mean_lognormal_n40", {"x": x}, x.mean(), stats.sem(x),
        lambda idx: mean_and_se(idx, x),
        "mean of a lognormal(0, 0.8) sample; se sd/sqrt(n) (ddof = 1)")
    n = 60
    x1 = sig(rng.normal(0.0, 1.0, n))
    x2 = sig(rng.uniform(-1.0, 1.0, n))
    y = sig(1.0 + 2.0 * x1 - x2 + rng.normal(0.0, 1.0, n) * (0.5 + np.abs(x1)))
    X = sm.add_constant(np.column_stack([x1, x2]))
    fit = sm.OLS(y, X).fit()
    # the batched formula against statsmodels on the first resamples
    idx = np.random.default_rng(5).integers(0, n, (3, n))
    bb, ss = ols_and_se(idx, y, X, 1)
    for r in range(3):
        f = sm.OLS(y[idx[r]], X[idx[r]]).fit()
        assert abs(f.params[1] - bb[r]) <= 1e-10 * abs(bb[r])
        assert abs(f.bse[1] - ss[r]) <= 1e-10 * ss[r]
    ols_case = studentized_case(
        "ols_x1_heteroskedastic_n60", {"y": y, "x1": x1, "x2": x2}, fit.params[1], fit.bse[1],
        lambda idx: ols_and_se(idx, y, X, 1),
        "x1 coefficient of OLS y ~ 1 + x1 + x2 with noise sd 0.5 + |x1| (pairs bootstrap); se the "
        "classical sqrt(s^2 (X'X)^-1_jj), statsmodels' bse")
    return [mean_case, ols_case]


def main():
    datasets = []
    for seed, n in ((1, 80), (2, 237)):
        c = dataset(seed, n)
        datasets.append({"seed": seed, "n": n, "columns": {k: v.tolist() for k, v in c.items()},
                         "statistics": statistics(c)})
    doc = {
        "generated_by": {
            "script": "tests/reference/make_statistics_reference.py",
            "python": platform.python_version(), "numpy": np.__version__,
            "scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
        },
        "datasets": datasets,
        "studentized_mc": studentized_cases(),
    }
    doc["generated_by"]["r_boot"] = R_VERSION
    with open("tests/reference/statistics_reference.json", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", sum(len(d["statistics"]) for d in datasets), "statistic cases and",
          len(doc["studentized_mc"]), "studentized cases")


if __name__ == "__main__":
    main()
