#!/usr/bin/env python3
"""Generate tests/reference/bootstrap_reference.json for the ceteris test suite.

Made with: Python 3.11.7, numpy 2.4.6, scipy 1.17.1 (the exact versions that
produced the checked-in JSON are recorded in its "generated_by" object).

Regenerate with:

    python3 tests/reference/make_bootstrap_reference.py

The output is deterministic for a given numpy/scipy version: every random
draw comes from numpy.random.default_rng with a fixed seed.

Two kinds of reference values are written:

* "interval_cases": exact, deterministic checks of the interval formulas.
  Each case gives the data, a fixed set of B=2000 bootstrap replicates of the
  mean, and the n leave-one-out (jackknife) means. The percentile, basic and
  BCa intervals (and the BCa z0, acceleration and adjusted alpha levels) are
  computed from those fixed replicates. z0, acceleration and alphas come from
  scipy's own private helper scipy.stats._resampling._bca_interval, and the
  endpoints are cross-checked against scipy.stats.bootstrap run on the same
  replicates (n_resamples=0, bootstrap_result=...). A small independent
  reimplementation is asserted to agree with scipy as well.

* "mc_cases": Monte-Carlo references from scipy.stats.bootstrap itself
  (n_resamples=9999, 40 seeds per case): the mean and standard deviation over
  seeds of the standard error and of each interval endpoint, for the
  percentile, basic and BCa methods.
"""

import json
import os
import platform
import sys
import types

import numpy as np
import scipy
import scipy.stats
from scipy.special import ndtr, ndtri
from scipy.stats import _resampling

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_PATH = os.path.join(HERE, "bootstrap_reference.json")

B_INTERVAL = 2000
MC_RESAMPLES = 9999
MC_SEEDS = 40
MC_LEVEL = 0.95


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def mean_stat(x, axis=-1):
    return np.mean(x, axis=axis)


def median_stat(x, axis=-1):
    return np.median(x, axis=axis)


def std_stat(x, axis=-1):
    return np.std(x, ddof=1, axis=axis)


def corr_stat(x, y, axis=-1):
    """Pearson correlation along `axis` (vectorized)."""
    xm = x - np.mean(x, axis=axis, keepdims=True)
    ym = y - np.mean(y, axis=axis, keepdims=True)
    sxy = np.sum(xm * ym, axis=axis)
    sxx = np.sum(xm * xm, axis=axis)
    syy = np.sum(ym * ym, axis=axis)
    return sxy / np.sqrt(sxx * syy)


def as_float_list(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def own_bca(replicates, jackknife, estimate, alpha):
    """Independent reimplementation of scipy's BCa quantities (for asserting)."""
    reps = np.asarray(replicates)
    b = reps.size
    p = (np.count_nonzero(reps < estimate) + np.count_nonzero(reps <= estimate)) / (2 * b)
    z0 = float(ndtri(p))
    jack = np.asarray(jackknife)
    d = jack.mean() - jack
    accel = float(np.sum(d ** 3) / (6.0 * np.sum(d ** 2) ** 1.5))
    z_lo = float(ndtri(alpha))
    z_hi = -z_lo
    a1 = float(ndtr(z0 + (z0 + z_lo) / (1 - accel * (z0 + z_lo))))
    a2 = float(ndtr(z0 + (z0 + z_hi) / (1 - accel * (z0 + z_hi))))
    return z0, accel, a1, a2


def scipy_interval_on_fixed(data, replicates, level, method):
    """scipy.stats.bootstrap re-using a fixed bootstrap distribution."""
    prior = types.SimpleNamespace(bootstrap_distribution=np.asarray(replicates))
    res = scipy.stats.bootstrap(
        (data,), mean_stat, n_resamples=0, bootstrap_result=prior,
        confidence_level=level, method=method, vectorized=True,
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def close(a, b, rtol=1e-12, atol=1e-14):
    return abs(a - b) <= atol + rtol * abs(b)


# --------------------------------------------------------------------------
# interval cases (deterministic formula checks on fixed replicates)
# --------------------------------------------------------------------------

def make_interval_case(name, data, level, seed):
    data = np.asarray(data, dtype=np.float64)
    n = data.size
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(B_INTERVAL, n))
    replicates = data[idx].mean(axis=-1)
    estimate = float(np.mean(data))
    # leave-one-out means, computed the same way scipy does it
    jackknife = np.concatenate(
        [mean_stat(j, axis=-1) for j in _resampling._jackknife_resample(data, xp=np)]
    )
    alpha = (1.0 - level) / 2.0

    lo_pct, hi_pct = np.percentile(replicates, [100 * alpha, 100 * (1 - alpha)])
    percentile = [float(lo_pct), float(hi_pct)]
    basic = [2 * estimate - float(hi_pct), 2 * estimate - float(lo_pct)]

    # scipy's own z0 (via _percentile_of_score) and BCa helper
    z0 = float(ndtri(_resampling._percentile_of_score(
        replicates, np.asarray(estimate), axis=-1, xp=np)))
    a1, a2, accel = _resampling._bca_interval(
        (data,), mean_stat, axis=-1, alpha=alpha, theta_hat_b=replicates,
        batch=None, xp=np)
    a1, a2, accel = float(np.squeeze(a1)), float(np.squeeze(a2)), float(np.squeeze(accel))
    bca = [float(v) for v in np.percentile(replicates, [100 * a1, 100 * a2])]

    # independent reimplementation must agree with scipy's helpers
    oz0, oacc, oa1, oa2 = own_bca(replicates, jackknife, estimate, alpha)
    assert close(oz0, z0), (name, oz0, z0)
    assert close(oacc, accel, rtol=1e-9), (name, oacc, accel)
    assert close(oa1, a1, rtol=1e-9) and close(oa2, a2, rtol=1e-9), (name, oa1, a1, oa2, a2)

    # scipy.stats.bootstrap on the same fixed replicates must agree
    for method, ours in (("percentile", percentile), ("basic", basic), ("BCa", bca)):
        lo, hi = scipy_interval_on_fixed(data, replicates, level, method)
        assert close(lo, ours[0]) and close(hi, ours[1]), (name, method, lo, hi, ours)

    ties = int(np.count_nonzero(replicates == estimate))
    return {
        "name": name,
        "data": as_float_list(data),
        "statistic": "mean",
        "level": level,
        "estimate": estimate,
        "replicates": as_float_list(replicates),
        "jackknife": as_float_list(jackknife),
        "percentile": percentile,
        "basic": basic,
        "bca": bca,
        "bca_z0": z0,
        "bca_accel": accel,
        "bca_alpha": [a1, a2],
    }, ties


def interval_cases():
    cases = []
    notes = {}

    rng = np.random.default_rng(20240101)
    data = np.round(rng.lognormal(mean=0.0, sigma=1.0, size=40), 6)
    c, t = make_interval_case("lognormal_n40_level95", data, 0.95, seed=101)
    cases.append(c); notes[c["name"]] = t

    rng = np.random.default_rng(20240102)
    data = np.round(rng.normal(loc=10.0, scale=2.0, size=50), 6)
    c, t = make_interval_case("normal_n50_level95", data, 0.95, seed=102)
    cases.append(c); notes[c["name"]] = t

    # small integers: the bootstrap means take few distinct values and many of
    # them tie exactly with the estimate (integer sums are exact in f64).
    rng = np.random.default_rng(20240103)
    data = rng.integers(0, 4, size=30).astype(np.float64)
    c, t = make_interval_case("ties_small_integers_n30_level95", data, 0.95, seed=103)
    assert t > 0, "ties case must contain replicates equal to the estimate"
    cases.append(c); notes[c["name"]] = t

    rng = np.random.default_rng(20240104)
    data = np.round(rng.lognormal(mean=1.0, sigma=0.75, size=60), 6)
    c, t = make_interval_case("lognormal_n60_level90", data, 0.90, seed=104)
    cases.append(c); notes[c["name"]] = t

    return cases, notes


# --------------------------------------------------------------------------
# Monte-Carlo cases (scipy.stats.bootstrap itself, many seeds)
# --------------------------------------------------------------------------

def run_mc_case(name, statistic_name, columns, statistic, paired):
    data = tuple(np.asarray(c, dtype=np.float64) for c in columns)
    methods = ("percentile", "basic", "BCa")
    se = []
    ends = {m: ([], []) for m in methods}
    for s in range(MC_SEEDS):
        first = None
        for m in methods:
            res = scipy.stats.bootstrap(
                data, statistic, n_resamples=MC_RESAMPLES, confidence_level=MC_LEVEL,
                method=m, vectorized=True, paired=paired,
                rng=np.random.default_rng(1_000_000 + 1000 * s),
            )
            if first is None:
                first = float(res.standard_error)
                se.append(first)
            else:
                # same seed -> same bootstrap distribution for every method
                assert float(res.standard_error) == first
            ends[m][0].append(float(res.confidence_interval.low))
            ends[m][1].append(float(res.confidence_interval.high))

    def msd(v):
        v = np.asarray(v)
        return float(v.mean()), float(v.std(ddof=1))

    intervals = {}
    for m in methods:
        lm, ls = msd(ends[m][0])
        hm, hs = msd(ends[m][1])
        key = "bca" if m == "BCa" else m
        intervals[key] = {"low_mean": lm, "low_sd": ls, "high_mean": hm, "high_sd": hs}
    sem, sesd = msd(se)
    return {
        "name": name,
        "statistic": statistic_name,
        "data": [as_float_list(c) for c in data],
        "level": MC_LEVEL,
        "n_resamples": MC_RESAMPLES,
        "standard_error_mean": sem,
        "standard_error_sd": sesd,
        "intervals": intervals,
    }


def mc_cases():
    cases = []

    rng = np.random.default_rng(30240101)
    x = np.round(rng.lognormal(mean=0.0, sigma=1.0, size=40), 6)
    cases.append(run_mc_case("mean_lognormal_n40", "mean", [x], mean_stat, False))

    rng = np.random.default_rng(30240102)
    x = np.round(rng.normal(loc=5.0, scale=1.5, size=41), 6)
    cases.append(run_mc_case("median_normal_n41", "median", [x], median_stat, False))

    rng = np.random.default_rng(30240103)
    x = np.round(rng.normal(loc=0.0, scale=3.0, size=50), 6)
    cases.append(run_mc_case("std_ddof1_normal_n50", "std", [x], std_stat, False))

    rng = np.random.default_rng(30240104)
    rho = 0.5
    xy = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], size=60)
    x = np.round(xy[:, 0], 6)
    y = np.round(xy[:, 1], 6)
    cases.append(run_mc_case("corr_pearson_bivnormal_rho05_n60", "corr", [x, y],
                             corr_stat, True))
    return cases


# --------------------------------------------------------------------------

def main():
    icases, ties = interval_cases()
    mcases = mc_cases()
    out = {
        "generated_by": {
            "script": "tests/reference/make_bootstrap_reference.py",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "interval_cases_B": B_INTERVAL,
            "interval_cases_ties_with_estimate": ties,
            "percentile_interpolation": "numpy default 'linear' (Hyndman-Fan type 7)",
            "bca_source": "scipy.stats._resampling._bca_interval / _percentile_of_score",
            "mc_seeds": MC_SEEDS,
            "mc_summary": "mean and sample sd (ddof=1) across seeds of scipy.stats.bootstrap output",
            "std_statistic": "np.std(x, ddof=1)",
            "median_statistic": "np.median",
            "corr_statistic": "Pearson r, paired=True",
        },
        "interval_cases": icases,
        "mc_cases": mcases,
    }
    with open(OUT_PATH, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT_PATH} ({os.path.getsize(OUT_PATH)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
