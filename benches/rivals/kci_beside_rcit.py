#!/usr/bin/env python3
"""One conditional test at n = 5000 (default), |Z| = 1, on each side, in one run: causal-learn's
KCI, FastKCI and RCIT against ceteris' KCI, RCoT and RCIT (issue 18: "record it beside KCI").

The data are `rcit_rivals.py`'s fork (numpy default_rng(7 + n): z ~ N(0, 1),
x = tanh(z) + 0.5 e1, y = sin(1.5 z) + 0.5 e2), written to a temporary CSV.
* causal-learn 0.1.4.8, timed in this process with time.perf_counter() (RCIT after one untimed
  call; KCI and FastKCI, tens of seconds each, without):
  `KCI_CInd(kernelX="Gaussian", kernelY="Gaussian", kernelZ="Gaussian", est_width="empirical",
  approx=True)` (causal-learn's `kci` test with the gamma null; ceteris' `IndependenceTest::kci()`
  is the same test), `FastKCI_CInd()` with its defaults (K = 10, J = 8), and
  `RCIT(approx="lpd4", rcit=True)`;
* ceteris: `target/release/examples/rcit_timing DATA.csv REPS kci rcot rcit` (the CPU engine,
  each call a fresh test after at least 1 s of untimed calls; reading the CSV untimed).
Reported: seconds per call (median / best) and each ceteris test's speed-up over each
causal-learn test by the medians.

Usage (after `cargo build --release --example rcit_timing`), with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset as for every rival:
    python3 benches/rivals/kci_beside_rcit.py [--n 5000] [--reps 2] [--rcit-reps 15]
Made with Python 3.11.7, numpy 2.4.6, causal-learn 0.1.4.8.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

np.math = math  # momentchi2 under numpy 2 (see rcit_rivals.py)
from causallearn.utils.FastKCI.FastKCI import FastKCI_CInd  # noqa: E402
from causallearn.utils.KCI.KCI import KCI_CInd  # noqa: E402
from causallearn.utils.RCIT.RCIT import RCIT  # noqa: E402
from importlib.metadata import version  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rcit_rivals import EXAMPLE, data  # noqa: E402

# the example's path is relative to the repository root: resolve it from this file
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", EXAMPLE)


def timed(f, reps, warm):
    if warm:
        f()  # untimed first call
    out = []
    for _ in range(reps):
        s0 = time.perf_counter()
        p = f()
        out.append(time.perf_counter() - s0)
    return out, float(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--reps", type=int, default=2, help="timed calls of KCI and FastKCI")
    ap.add_argument("--rcit-reps", type=int, default=15, help="timed calls of the RCIT tests")
    args = ap.parse_args()
    print(f"# causal-learn {version('causal-learn')}, numpy {np.__version__}, "
          f"python {platform.python_version()}; n = {args.n}; load {os.getloadavg()}")
    x, y, z = data(args.n)
    X, Y, Z = x[:, None], y[:, None], z[:, None]
    theirs = {}
    kci = KCI_CInd(kernelX="Gaussian", kernelY="Gaussian", kernelZ="Gaussian",
                   est_width="empirical", approx=True)
    theirs["KCI"] = timed(lambda: kci.compute_pvalue(X, Y, Z)[0], args.reps, False)
    print(f"# causal-learn KCI: {theirs['KCI']}", flush=True)
    fast = FastKCI_CInd()
    theirs["FastKCI"] = timed(lambda: fast.compute_pvalue(X, Y, Z)[0], args.reps, False)
    print(f"# causal-learn FastKCI: {theirs['FastKCI']}", flush=True)
    rcit = RCIT(approx="lpd4", rcit=True)
    theirs["RCIT"] = timed(lambda: rcit.compute_pvalue(X, Y, Z)[0], args.rcit_reps, True)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.csv")
        np.savetxt(path, np.column_stack([x, y, z]), delimiter=",", header="x,y,z",
                   comments="", fmt="%.17g")
        time.sleep(1.0)
        ours = {}
        for name, reps in [("kci", args.reps), ("rcot", args.rcit_reps), ("rcit", args.rcit_reps)]:
            out = subprocess.run([EXAMPLE, path, str(reps), name], check=True,
                                 capture_output=True, text=True).stdout
            res = json.loads(out)
            ours[name] = (res["seconds"], res["p_value"])
    print("| side | test | s per call (median / best) | p |")
    print("|---|---|---|---|")
    for side, tests in [("causal-learn", theirs), ("ceteris", ours)]:
        for name, (t, p) in tests.items():
            print(f"| {side} | {name} | {statistics.median(t):.4g} / {min(t):.4g} | {p:.3f} |")
    print("| ceteris test | over KCI | over FastKCI | over RCIT |")
    print("|---|---|---|---|")
    for name, (t, _) in ours.items():
        m = statistics.median(t)
        cells = " | ".join(f"{statistics.median(theirs[k][0]) / m:.3g}×"
                           for k in ["KCI", "FastKCI", "RCIT"])
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
