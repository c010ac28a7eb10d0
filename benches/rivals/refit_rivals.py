"""AIPW with its nuisance models refit in every resample: ceteris vs a scikit-learn loop.

Usage (from the crate root, after `cargo build --release`):
    tests/reference/.venv/bin/python benches/rivals/refit_rivals.py [--n 10000] [--p 10] [--b 200]

The rival is what a user writes by hand: B iid resamples drawn as multinomial counts, and in each
a scikit-learn `LogisticRegression(C=inf)` propensity and a `LinearRegression` per arm fitted with
`sample_weight=counts`, then the AIPW estimate. ceteris runs
`ceteris bootstrap --statistic aipw --covariates ...` on the same data (its `seconds`: compute time,
excluding reading the CSV). Prints one JSON object with both times, the ratio and both standard
errors (which must agree within Monte-Carlo error). Needs numpy and scikit-learn (the versions are
printed).

`--baseline PATH` also times another ceteris binary (e.g. a build of the previous commit) on the
same CSV right after the first, and adds its time, its ratio to the scikit-learn loop and the
speed-up of `--ceteris` over it. `--repeat R` runs each ceteris binary R times (alternating) and
reports the fastest of each, which evens out a loaded machine.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import sklearn
from sklearn.linear_model import LinearRegression, LogisticRegression


def data(n, p, seed=20261206):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    beta = np.linspace(0.6, -0.6, p) / np.sqrt(p)
    prob = 1 / (1 + np.exp(-(-0.2 + x @ beta)))
    t = rng.binomial(1, prob).astype(float)
    y = 1 + 2 * t + x @ np.linspace(1, -1, p) + 0.5 * t * x[:, 0] + rng.normal(size=n)
    return x, t, y


def aipw(x, t, y, w):
    lr = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(x, t, sample_weight=w)
    e = lr.predict_proba(x)[:, 1]
    m = []
    for arm in (0.0, 1.0):
        s = t == arm
        m.append(LinearRegression().fit(x[s], y[s], sample_weight=w[s]).predict(x))
    m0, m1 = m
    psi = m1 - m0 + t * (y - m1) / e - (1 - t) * (y - m0) / (1 - e)
    return np.sum(w * psi) / np.sum(w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--p", type=int, default=10)
    ap.add_argument("--b", type=int, default=200)
    ap.add_argument("--ceteris", default="target/release/ceteris")
    ap.add_argument("--baseline", default=None)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    x, t, y = data(a.n, a.p)
    rng = np.random.default_rng(7)
    start = time.perf_counter()
    reps = []
    for _ in range(a.b):
        w = np.bincount(rng.integers(0, a.n, a.n), minlength=a.n).astype(float)
        reps.append(aipw(x, t, y, w))
    rival = time.perf_counter() - start
    binaries = [a.ceteris] + ([a.baseline] if a.baseline else [])
    runs = {b: [] for b in binaries}
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "refit.csv")
        cols = ["t", "y"] + [f"x{j}" for j in range(a.p)]
        np.savetxt(path, np.column_stack([t, y, x]), delimiter=",", header=",".join(cols),
                   comments="", fmt="%.17g")
        for _ in range(a.repeat):
            for b in binaries:
                out = subprocess.run(
                    [b, "bootstrap", "--data", path, "--statistic", "aipw", "--treatment", "t",
                     "--outcome", "y", "--covariates", ",".join(cols[2:]), "--resamples",
                     str(a.b), "--method", "percentile", "--backend", "cpu", "--seed", "1"],
                    capture_output=True, text=True, check=True).stdout
                runs[b].append(json.loads(out))
    best = {b: min(rs, key=lambda r: r["seconds"]) for b, rs in runs.items()}
    r = best[a.ceteris]
    report = {
        "n": a.n, "p": a.p, "B": a.b,
        "python": sys.version.split()[0], "numpy": np.__version__, "sklearn": sklearn.__version__,
        "sklearn_loop_s": round(rival, 3), "ceteris_s": round(r["seconds"], 3),
        "ratio": round(rival / r["seconds"], 1),
        "se_sklearn": float(np.std(reps, ddof=1)), "se_ceteris": r["std_error"],
        "ceteris_backend": r["backend"],
    }
    if a.repeat > 1:
        report["ceteris_all_s"] = [round(x["seconds"], 3) for x in runs[a.ceteris]]
    if a.baseline:
        base = best[a.baseline]
        report.update({
            "baseline_s": round(base["seconds"], 3),
            "baseline_ratio": round(rival / base["seconds"], 1),
            "speedup_over_baseline": round(base["seconds"] / r["seconds"], 2),
            "se_baseline": base["std_error"],
        })
        if a.repeat > 1:
            report["baseline_all_s"] = [round(x["seconds"], 3) for x in runs[a.baseline]]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
