#!/usr/bin/env python3
"""Rival (numpy / scipy) bootstrap timings for BENCHMARKS.md.

Usage:
    python3 benches/rivals/bootstrap_rivals.py [--quick] [--b-mean 10000]
        [--out benches/rivals/bootstrap_rivals.json] [--only NAME ...]
        [--skip-scipy-percentile]

Each case runs in its own child process (so a memory failure in one case
cannot take the others down) and is timed with time.perf_counter(); data
generation is excluded from the timing. No warm-up run (these runs are long).

Cases
  numpy_loop_mean        mean, n=1_000_000, B=--b-mean (10000): python loop of
                         rng.integers + fancy-index + mean, then np.percentile.
  scipy_bca_mean         scipy.stats.bootstrap mean, n=100_000, B=1000, BCa,
                         vectorized, batch=None (scipy default). The jackknife
                         for BCa with batch=None builds an n x n boolean mask
                         and an n x (n-1) int64 index array (~9.3 GiB + ~75 GiB),
                         so it is run under an address-space cap
                         (--bca-mem-cap-gib, default 8) to fail cleanly with
                         MemoryError instead of exhausting the shared machine.
  scipy_bca_mean_batch100  the same with batch=100 (runs in bounded memory).
  numpy_loop_ipw         Horvitz-Thompson IPW ATE, n=100_000, B=1000, python
                         loop over resamples of the rows (t, e, y).
  scipy_percentile_mean  scipy.stats.bootstrap mean, n=1_000_000, B=10000,
                         percentile, vectorized, batch=100.
  numpy_loop_median      median, n=10_000, B=1000 (the `ceteris bench` median
                         case): python loop of rng.integers + fancy-index +
                         np.median, then np.percentile.
  numpy_loop_median_1e6  the same at n=1_000_000, B=100 (the bench's large
                         median case).
--quick divides every B by 10.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.stats

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "bootstrap_rivals.json")
CASES = ["numpy_loop_mean", "scipy_bca_mean", "scipy_bca_mean_batch100",
         "numpy_loop_ipw", "scipy_percentile_mean", "numpy_loop_median",
         "numpy_loop_median_1e6"]


# --------------------------------------------------------------------------
# cases (run inside a child process; each returns a dict)
# --------------------------------------------------------------------------

def case_numpy_loop_mean(B):
    n = 1_000_000
    x = np.random.default_rng(1).lognormal(0.0, 1.0, n)
    rng = np.random.default_rng(2)
    t0 = time.perf_counter()
    reps = np.empty(B)
    for b in range(B):
        idx = rng.integers(0, n, n)
        reps[b] = x[idx].mean()
    ci = np.percentile(reps, [2.5, 97.5])
    secs = time.perf_counter() - t0
    return {"n": n, "B": B, "seconds": secs, "ci": [float(ci[0]), float(ci[1])]}


def _scipy_bca(B, batch):
    n = 100_000
    x = np.random.default_rng(3).lognormal(0.0, 1.0, n)
    t0 = time.perf_counter()
    res = scipy.stats.bootstrap((x,), np.mean, n_resamples=B, method="BCa",
                                vectorized=True, batch=batch,
                                rng=np.random.default_rng(4))
    secs = time.perf_counter() - t0
    ci = res.confidence_interval
    return {"n": n, "B": B, "seconds": secs, "batch": batch,
            "ci": [float(ci.low), float(ci.high)]}


def case_scipy_bca_mean(B):
    return _scipy_bca(B, None)


def case_scipy_bca_mean_batch100(B):
    return _scipy_bca(B, 100)


def case_numpy_loop_ipw(B):
    n = 100_000
    g = np.random.default_rng(5)
    z = g.normal(size=n)
    e = 0.1 + 0.8 / (1.0 + np.exp(-z))          # propensity in (0.1, 0.9)
    t = (g.random(n) < e).astype(np.float64)    # Bernoulli(e)
    y = 1.0 + 2.0 * t + z + g.normal(size=n)    # true ATE = 2
    rng = np.random.default_rng(6)
    t0 = time.perf_counter()
    reps = np.empty(B)
    for b in range(B):
        idx = rng.integers(0, n, n)
        tb, eb, yb = t[idx], e[idx], y[idx]
        reps[b] = np.mean(tb * yb / eb - (1.0 - tb) * yb / (1.0 - eb))
    ci = np.percentile(reps, [2.5, 97.5])
    secs = time.perf_counter() - t0
    return {"n": n, "B": B, "seconds": secs, "ci": [float(ci[0]), float(ci[1])]}


def case_numpy_loop_median(B, n=10_000):
    x = np.random.default_rng(9).lognormal(0.0, 1.0, n)
    rng = np.random.default_rng(10)
    t0 = time.perf_counter()
    reps = np.empty(B)
    for b in range(B):
        reps[b] = np.median(x[rng.integers(0, n, n)])
    ci = np.percentile(reps, [2.5, 97.5])
    secs = time.perf_counter() - t0
    return {"n": n, "B": B, "seconds": secs, "ci": [float(ci[0]), float(ci[1])]}


def case_numpy_loop_median_1e6(B):
    return case_numpy_loop_median(B, n=1_000_000)


def case_scipy_percentile_mean(B):
    n = 1_000_000
    x = np.random.default_rng(7).lognormal(0.0, 1.0, n)
    t0 = time.perf_counter()
    res = scipy.stats.bootstrap((x,), np.mean, n_resamples=B, method="percentile",
                                vectorized=True, batch=100,
                                rng=np.random.default_rng(8))
    secs = time.perf_counter() - t0
    ci = res.confidence_interval
    return {"n": n, "B": B, "seconds": secs, "batch": 100,
            "ci": [float(ci.low), float(ci.high)]}


def default_b(name, args):
    b = {"numpy_loop_mean": args.b_mean, "scipy_bca_mean": 1000,
         "scipy_bca_mean_batch100": 1000, "numpy_loop_ipw": 1000,
         "scipy_percentile_mean": 10000, "numpy_loop_median": 1000,
         "numpy_loop_median_1e6": 100}[name]
    return max(1, b // 10) if args.quick else b


def run_child(name, B, mem_cap_gib):
    if mem_cap_gib:
        import resource
        cap = int(mem_cap_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    fn = globals()["case_" + name]
    try:
        out = fn(B)
    except MemoryError as exc:  # report, don't crash
        out = {"B": B, "seconds": None,
               "error": f"{type(exc).__name__}: {exc}"}
    print("RESULT_JSON " + json.dumps(out))


# --------------------------------------------------------------------------

def machine_info():
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "mem_gib": mem,
            "os": platform.platform(), "python": platform.python_version()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="divide every B by 10")
    ap.add_argument("--b-mean", type=int, default=10000)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", choices=CASES)
    ap.add_argument("--skip-scipy-percentile", action="store_true")
    ap.add_argument("--bca-mem-cap-gib", type=float, default=8.0)
    ap.add_argument("--case-timeout-s", type=float, default=900.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-b", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-cap", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        run_child(args.child, args.child_b, args.child_cap)
        return

    names = args.only or CASES
    if args.skip_scipy_percentile:
        names = [c for c in names if c != "scipy_percentile_mean"]

    results = {}
    load_start = os.getloadavg()
    for name in names:
        B = default_b(name, args)
        cap = args.bca_mem_cap_gib if name == "scipy_bca_mean" else 0.0
        cmd = [sys.executable, os.path.abspath(__file__), "--child", name,
               "--child-b", str(B), "--child-cap", str(cap)]
        print(f"[rivals] {name} B={B} ...", file=sys.stderr, flush=True)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=args.case_timeout_s)
            line = [l for l in p.stdout.splitlines() if l.startswith("RESULT_JSON ")]
            if p.returncode == 0 and line:
                res = json.loads(line[-1][len("RESULT_JSON "):])
            else:
                err = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
                res = {"B": B, "seconds": None,
                       "error": f"child exit {p.returncode}: {err}"}
        except subprocess.TimeoutExpired:
            res = {"B": B, "seconds": None,
                   "error": f"skipped: exceeded {args.case_timeout_s:.0f} s"}
        if cap:
            res["address_space_cap_gib"] = cap
        results[name] = res
        print(f"[rivals] {name}: {res}", file=sys.stderr, flush=True)

    out = {
        "machine": machine_info(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "quick": bool(args.quick),
        "loadavg_start": [round(v, 2) for v in load_start],
        "loadavg_end": [round(v, 2) for v in os.getloadavg()],
        "results": results,
    }
    text = json.dumps(out, indent=2)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
