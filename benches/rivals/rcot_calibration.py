#!/usr/bin/env python3
"""Type-I error of RCoT and RCIT, causal-learn against ceteris on the same null data sets.

Scenario: the null-cond case of `cargo run --release --example calibration` (a fork, X ⫫ Y | Z):
z, e1, e2 ~ N(0, 1); x = tanh(z) + 0.5 e1; y = sin(1.5 z) + 0.5 e2. For each n, 500 data sets
from numpy's `default_rng(2026 + n)`; each is tested by causal-learn's
`causallearn.utils.RCIT.RCIT(approx="lpd4", rcit=...)` (its spelling of LPB4; 100 Z features,
5 X/Y features, fresh features from numpy's global generator) and by
`ceteris independence --test rcot|rcit --seed s` (fresh Philox features per data set), at
alpha = 0.05. Both see the same data, so the rates differ only by the random features.

momentchi2 calls `np.math`, removed in numpy 2: it is restored first so LPB4 really runs (else
causal-learn silently falls back to HBE).

With `--rit`: the unconditional form instead (RIT; the null-uncond case of the example: x, b ~
N(0, 1), y = b²), causal-learn's `RIT(approx="lpd4")` against `ceteris independence --test rcot`
without `--z`, data from `default_rng(3026 + n)`.

Usage (after `cargo build --release`): python3 benches/rivals/rcot_calibration.py [--sets 500] [--rit]
Made with Python 3.11.7, numpy 2.4.6, causal-learn 0.1.4.8.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import tempfile

import numpy as np

np.math = math  # momentchi2 under numpy 2
from causallearn.utils.RCIT import RCIT as mod  # noqa: E402
from importlib.metadata import version  # noqa: E402

CETERIS = "./target/release/ceteris"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", type=int, default=500)
    ap.add_argument("--rit", action="store_true", help="the unconditional test (RIT) instead")
    args = ap.parse_args()
    path = os.path.join(tempfile.mkdtemp(), "d.csv")
    if args.rit:
        return rit(args.sets, path)
    for n in (200, 500):
        rng = np.random.default_rng(2026 + n)
        rejected = {f"{tool}_{t}": 0 for tool in ("causal-learn", "ceteris")
                    for t in ("rcot", "rcit")}
        for s in range(args.sets):
            z, e1, e2 = rng.standard_normal((3, n))
            x = np.tanh(z) + 0.5 * e1
            y = np.sin(1.5 * z) + 0.5 * e2
            np.savetxt(path, np.column_stack([x, y, z]), delimiter=",", header="x,y,z",
                       comments="", fmt="%.17g")
            for t in ("rcot", "rcit"):
                p, _ = mod.RCIT(approx="lpd4", rcit=t == "rcit").compute_pvalue(
                    x[:, None], y[:, None], z[:, None])
                rejected[f"causal-learn_{t}"] += p < 0.05
                out = subprocess.run([CETERIS, "independence", "--data", path, "--x", "x",
                                      "--y", "y", "--z", "z", "--test", t, "--seed", str(s),
                                      "--backend", "cpu", "--format", "json"],
                                     capture_output=True, text=True, check=True)
                rejected[f"ceteris_{t}"] += json.loads(out.stdout)["p_value"] < 0.05
        print(json.dumps({"n": n, "sets": args.sets,
                          "rejection_rate": {k: v / args.sets for k, v in rejected.items()},
                          "mc_se_at_0.05": math.sqrt(0.05 * 0.95 / args.sets)}), flush=True)
    print(json.dumps({"python": platform.python_version(), "numpy": np.__version__,
                      "causal-learn": version("causal-learn")}))


def rit(sets, path):
    for n in (200, 500):
        rng = np.random.default_rng(3026 + n)
        rejected = {"causal-learn_rit": 0, "ceteris_rit": 0}
        for s in range(sets):
            x, b = rng.standard_normal((2, n))
            y = b * b
            np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y",
                       comments="", fmt="%.17g")
            p, _ = mod.RIT(approx="lpd4").compute_pvalue(x[:, None], y[:, None])
            rejected["causal-learn_rit"] += p < 0.05
            out = subprocess.run([CETERIS, "independence", "--data", path, "--x", "x",
                                  "--y", "y", "--test", "rcot", "--seed", str(s),
                                  "--backend", "cpu", "--format", "json"],
                                 capture_output=True, text=True, check=True)
            rejected["ceteris_rit"] += json.loads(out.stdout)["p_value"] < 0.05
        print(json.dumps({"n": n, "sets": sets,
                          "rejection_rate": {k: v / sets for k, v in rejected.items()},
                          "mc_se_at_0.05": math.sqrt(0.05 * 0.95 / sets)}), flush=True)
    print(json.dumps({"python": platform.python_version(), "numpy": np.__version__,
                      "causal-learn": version("causal-learn")}))


if __name__ == "__main__":
    main()
