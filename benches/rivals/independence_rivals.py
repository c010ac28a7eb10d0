#!/usr/bin/env python3
"""Rival (causal-learn KCI, hyppo Hsic) independence-test timings.

Usage:
    python3 benches/rivals/independence_rivals.py [--quick]
        [--out benches/rivals/independence_rivals.json] [--only NAME ...]

Each case is timed with time.perf_counter(). Data generation is excluded.
Kernel building, the statistic and the p-value are all included. Cases run in
one process, one after another. hyppo's statistic is numba-jitted
(cache=True), so a small warm-up call is made first and its time is recorded
separately as "numba_warmup_seconds". Timed runs never include compilation.

Cases
  kci_cind_n2000_z1     one KCI_CInd gamma test (Gaussian kernels, empirical
                        width, approx=True), n=2000, |Z|=1. Median of 3 runs.
  kci_uind_n2000        one KCI_UInd gamma test, n=2000. Median of 3 runs.
  kci_cind_batch_n500   50 KCI_CInd gamma tests at n=500, |Z|=1. Each test
                        uses different (x, y, z) columns of one 10-column data
                        set. Reports seconds per test and a *projected* time
                        for 1000 tests (per-test x 1000, not measured).
  hyppo_hsic_perm_n1000 hyppo.independence.Hsic().test(x, y, reps=1000,
                        auto=False), n=1000. This is a real permutation test.
                        The call exactly as written in the brief,
                        Hsic().test(x, y, reps=1000), keeps hyppo's default
                        auto=True. For n > 20 that runs hyppo's chi-square
                        approximation, and reps is ignored. That call is
                        timed too ("default_auto_call").
  hyppo_hsic_perm_n2000 the same at n=2000. One statistic call on the
                        precomputed kernels is timed first, and
                        (reps + 1) x that time is the projection. If the
                        projection exceeds 300 s, the script times reps=100
                        and reports the measured time and a x10 projection.
                        Both are labelled.

--full: measure instead of project: the batch case runs all 1000 tests (about 2.5 min) and the
n=2000 permutation case runs all 1000 permutations whatever its projection (about 5 min).

--quick: one run instead of 3, 5 batch tests instead of 50, and hyppo reps
of 100 (n=1000) and 20 (n=2000). It is only a smoke test; its numbers are
not for BENCHMARKS.md.
"""

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
import scipy

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "independence_rivals.json")
CASES = ["kci_cind_n2000_z1", "kci_uind_n2000", "kci_cind_batch_n500",
         "hyppo_hsic_perm_n1000", "hyppo_hsic_perm_n2000"]


def versions():
    from importlib.metadata import version
    out = {}
    for pkg in ("causal-learn", "hyppo", "numba", "scikit-learn", "joblib"):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = None
    return out


def machine():
    info = {"logical_cpus": os.cpu_count(), "os": platform.platform(),
            "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            info["mem_gib"] = round(kb / 2 ** 20, 1)
    except OSError:
        pass
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads")}
                        for d in threadpool_info()]
    except Exception:
        pass
    return info


# --------------------------------------------------------------------------
# data (generation is never timed)
# --------------------------------------------------------------------------

def fork_data(n, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 1))
    x = np.sin(z) + 0.5 * rng.standard_normal((n, 1))
    y = np.tanh(2 * z) + 0.5 * rng.standard_normal((n, 1))
    return x, y, z


def uind_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 1))
    y = 0.1 * x ** 2 + rng.standard_normal((n, 1))
    return x, y


def ten_column_data(n, seed):
    """A 10-variable nonlinear SEM: each column depends on up to two earlier ones."""
    rng = np.random.default_rng(seed)
    d = np.empty((n, 10))
    d[:, 0] = rng.standard_normal(n)
    d[:, 1] = rng.standard_normal(n)
    for j in range(2, 10):
        a, b = j - 1, j - 2
        d[:, j] = (0.8 * np.tanh(d[:, a]) + 0.5 * np.sin(d[:, b])
                   + 0.6 * rng.standard_normal(n))
    return d


def batch_triples(count, seed):
    allt = [(i, j, k) for i, j in itertools.combinations(range(10), 2)
            for k in range(10) if k not in (i, j)]
    rng = np.random.default_rng(seed)
    if count <= len(allt):
        idx = rng.choice(len(allt), size=count, replace=False)
        return [allt[t] for t in sorted(idx)]
    # more tests than the 360 distinct triples of 10 columns (--full): every triple in turn,
    # shuffled per round; causal-learn recomputes every test, so a repeat costs a full test
    rounds = -(-count // len(allt))
    idx = np.concatenate([rng.permutation(len(allt)) for _ in range(rounds)])[:count]
    return [allt[t] for t in idx]


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

def _timed(fn, runs):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return times, out


def case_kci_cind_n2000_z1(quick):
    from causallearn.utils.KCI.KCI import KCI_CInd
    n, runs = 2000, (1 if quick else 3)
    x, y, z = fork_data(n, 31)

    def one():
        t = KCI_CInd(kernelX="Gaussian", kernelY="Gaussian", kernelZ="Gaussian",
                     est_width="empirical", approx=True)
        return t.compute_pvalue(x, y, z)

    times, (p, stat) = _timed(one, runs)
    return {"n": n, "dz": 1, "runs": runs, "times": times,
            "seconds": statistics.median(times), "statistic": float(stat),
            "p_value": float(p),
            "settings": "KCI_CInd(Gaussian x3, est_width='empirical', approx=True)",
            "data": "fork: x = sin z + 0.5 e, y = tanh 2z + 0.5 e"}


def case_kci_uind_n2000(quick):
    from causallearn.utils.KCI.KCI import KCI_UInd
    n, runs = 2000, (1 if quick else 3)
    x, y = uind_data(n, 32)

    def one():
        t = KCI_UInd(kernelX="Gaussian", kernelY="Gaussian", est_width="empirical",
                     approx=True)
        return t.compute_pvalue(x, y)

    times, (p, stat) = _timed(one, runs)
    return {"n": n, "runs": runs, "times": times, "seconds": statistics.median(times),
            "statistic": float(stat), "p_value": float(p),
            "settings": "KCI_UInd(Gaussian x2, est_width='empirical', approx=True)",
            "data": "y = 0.1 x^2 + e"}


FULL = False   # --full: no projections (set in main)


def case_kci_cind_batch_n500(quick):
    from causallearn.utils.KCI.KCI import KCI_CInd
    n, count = 500, (5 if quick else 1000 if FULL else 50)
    d = ten_column_data(n, 33)
    triples = batch_triples(count, 34)
    cols = [(d[:, [i]].copy(), d[:, [j]].copy(), d[:, [k]].copy()) for i, j, k in triples]
    pvals = []
    t0 = time.perf_counter()
    for x, y, z in cols:
        t = KCI_CInd(kernelX="Gaussian", kernelY="Gaussian", kernelZ="Gaussian",
                     est_width="empirical", approx=True)
        p, _ = t.compute_pvalue(x, y, z)
        pvals.append(float(p))
    secs = time.perf_counter() - t0
    per = secs / count
    out = {"n": n, "dz": 1, "tests": count, "seconds": secs, "seconds_per_test": per}
    if count != 1000:
        out["projected_seconds_1000_tests"] = per * 1000
        out["projected_note"] = "PROJECTED (seconds_per_test x 1000), not measured"
    return {**out,
            "triples_xyz": triples, "p_values": pvals,
            "data": "10-column nonlinear SEM, x_j = 0.8 tanh x_{j-1} + 0.5 sin x_{j-2} + 0.6 e"}


def _hyppo_warmup():
    from hyppo.independence import Hsic
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((60, 1)), rng.standard_normal((60, 1))
    t0 = time.perf_counter()
    Hsic().test(a, b)                           # chi2 path
    np.random.seed(0)
    Hsic().test(a, b, reps=5, auto=False)       # permutation path
    return time.perf_counter() - t0


def _hyppo_defaults():
    import inspect
    from hyppo.independence import Hsic
    init = inspect.signature(Hsic.__init__).parameters
    test = inspect.signature(Hsic.test).parameters
    return {
        "compute_kernel": init["compute_kernel"].default,
        "bias": init["bias"].default,
        "test_auto_default": test["auto"].default,
        "workers_default": test["workers"].default,
        "kernel_description": "sklearn rbf exp(-gamma ||a-b||^2), gamma = 1/(2 med^2), "
                              "med = median of off-diagonal Euclidean distances of x "
                              "(used for BOTH x and y), raw data (no standardization)",
        "statistic_description": "unbiased (U-centered) distance correlation of "
                                 "D = 1 - K/max(K) (chi2 path) or of K itself "
                                 "(permutation path, auto=False)",
    }


def _hsic_perm(n, reps, seed_data, seed_perm, quick, budget_s=300.0):
    from hyppo.independence import Hsic
    from hyppo.tools import compute_kern
    x, y = uind_data(n, seed_data)
    res = {"n": n, "defaults": _hyppo_defaults(),
           "numba_warmup_seconds": _hyppo_warmup()}

    # the literal call: Hsic().test(x, y, reps=1000); auto=True -> chi2 approximation
    t0 = time.perf_counter()
    stat_d, p_d = Hsic().test(x, y, reps=1000)
    res["default_auto_call"] = {
        "call": "Hsic().test(x, y, reps=1000)  # auto=True default",
        "seconds": time.perf_counter() - t0, "statistic": float(stat_d),
        "p_value": float(p_d),
        "note": "n > 20 and auto=True: hyppo.tools.chi2_approx, p = chi2.sf(n*stat + 1, 1); "
                "reps is ignored"}

    # projection from one statistic evaluation on precomputed kernels
    kx, ky = compute_kern(x, y, metric="gaussian")
    h = Hsic()
    h.is_kernel = True
    order = np.random.default_rng(1).permutation(n)
    t0 = time.perf_counter()
    for _ in range(3):
        h.statistic(kx, ky[order][:, order])
    t_stat = (time.perf_counter() - t0) / 3
    projected = (reps + 1) * t_stat
    res["seconds_per_permutation_estimate"] = t_stat
    res["projected_seconds_full"] = projected

    run_reps = reps
    if projected > budget_s and not FULL:
        run_reps = reps // 10
    np.random.seed(seed_perm)   # Hsic.test passes random_state=None to perm_test
    t0 = time.perf_counter()
    stat, p = Hsic().test(x, y, reps=run_reps, auto=False)
    secs = time.perf_counter() - t0
    res.update({"call": f"Hsic().test(x, y, reps={run_reps}, auto=False)",
                "reps": run_reps, "seconds": secs, "statistic": float(stat),
                "p_value": float(p), "np_random_seed": seed_perm,
                "data": "y = 0.1 x^2 + e"})
    if run_reps != reps:
        res["measured_reps"] = run_reps
        res["measured_seconds"] = secs
        res["projected_seconds_reps_%d" % reps] = secs * reps / run_reps
        res["projected_note"] = (f"PROJECTED: measured reps={run_reps} ({secs:.1f} s) x "
                                 f"{reps // run_reps}; the full reps={reps} run was not made")
        res["seconds"] = None
    return res


def case_hyppo_hsic_perm_n1000(quick):
    return _hsic_perm(1000, 100 if quick else 1000, 35, 36, quick)


def case_hyppo_hsic_perm_n2000(quick):
    return _hsic_perm(2000, 20 if quick else 1000, 37, 38, quick)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", choices=CASES)
    ap.add_argument("--full", action="store_true",
                    help="measure the 1000-test batch and the n=2000 permutation test in full")
    args = ap.parse_args()
    global FULL
    FULL = args.full

    doc = {"machine": machine(), "numpy": np.__version__, "scipy": scipy.__version__,
           "packages": versions(), "quick": args.quick, "full": args.full,
           "loadavg_start": list(os.getloadavg()), "results": {}}
    for name in (args.only or CASES):
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
        try:
            r = globals()["case_" + name](args.quick)
        except Exception as e:  # keep the other cases
            r = {"seconds": None, "error": f"{type(e).__name__}: {e}"}
        doc["results"][name] = r
        print(f"    -> {json.dumps({k: v for k, v in r.items() if k in ('seconds', 'seconds_per_test', 'projected_seconds_full', 'statistic', 'p_value', 'error')})}",
              file=sys.stderr, flush=True)
        with open(args.out, "w") as f:   # partial results survive an interruption
            json.dump(doc, f, indent=2)
            f.write("\n")
    doc["loadavg_end"] = list(os.getloadavg())
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(json.dumps(doc["results"], indent=1, default=str)[:4000])


if __name__ == "__main__":
    main()
