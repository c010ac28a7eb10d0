#!/usr/bin/env python3
"""Counterfactuals of many observed units: ceteris against DoWhy's gcm, same run.

The model is the 50-node random linear-Gaussian DAG of `ceteris bench --only scm` (written by
`ceteris bench --save-model`). Both tools get the same fitted model: `ceteris fit --kind linear`
and `gcm.fit` with `AdditiveNoiseModel(linear regressor)` per non-root node and an empirical
distribution per root (an `InvertibleStructuralCausalModel`, which
counterfactuals need), each on the same 10 000 observational rows from `ceteris sample` (fits
not timed; both are ordinary least squares, so the coefficients agree to rounding). The units
are --units further rows drawn from the true model. Timed (compute only, reading excluded):

* ceteris: `ceteris counterfactual --model FITTED --data UNITS --do n0=1 --out CF` (its own
  `seconds`, best of --repeat);
* DoWhy: `gcm.counterfactual_samples(scm, {"n0": lambda x: 1.0}, observed_data=units)`.

Checked: the largest difference between the two tools' counterfactual values over every unit and
node, relative to the node's standard deviation.

Usage (from the crate root, after `cargo build --release`; DoWhy in its own virtualenv):

    python3 -m venv /tmp/dowhy-venv && /tmp/dowhy-venv/bin/pip install dowhy
    /tmp/dowhy-venv/bin/python benches/rivals/counterfactual_rivals.py [--units 100000]

Made with Python 3.11.7, numpy 2.4.6, pandas 3.1.1, dowhy 0.14.
"""
import argparse
import json
import os
import platform
import subprocess
import tempfile
import time

import numpy as np

CETERIS = "./target/release/ceteris"


def ceteris(args):
    return subprocess.run([CETERIS] + args, capture_output=True, text=True, check=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="target/bench-run/counterfactual.json")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    tmp = tempfile.mkdtemp()
    path = lambda f: os.path.join(tmp, f)
    ceteris(["bench", "--only", "scm", "--quick", "--backend", "cpu", "--save-model",
             path("true.json")])
    nodes = json.load(open(path("true.json")))["nodes"]
    names = [n["name"] for n in nodes]
    ceteris(["sample", "--model", path("true.json"), "--samples", "10000", "--seed", "1",
             "--backend", "cpu", "--out", path("obs.csv")])
    ceteris(["sample", "--model", path("true.json"), "--samples", str(args.units), "--seed", "2",
             "--backend", "cpu", "--out", path("units.csv")])
    edges = [f"{p}->{n['name']}" for n in nodes for p in n["parents"]]
    roots = [n["name"] for n in nodes if not n["parents"]]
    ceteris(["fit", "--data", path("obs.csv"), "--graph", ",".join(edges + roots), "--kind",
             "linear", "--out", path("fitted.json")])

    ours = []
    for _ in range(args.repeat):
        out = json.loads(ceteris(["counterfactual", "--model", path("fitted.json"), "--data",
                                  path("units.csv"), "--do", "n0=1", "--out", path("cf.csv")]))
        ours.append(out["seconds"])

    import pandas as pd
    import dowhy
    from dowhy import gcm
    from dowhy_linear import fitted_linear_gcm
    scm = fitted_linear_gcm(nodes, pd.read_csv(path("obs.csv")))
    units = pd.read_csv(path("units.csv"))
    t0 = time.perf_counter()
    theirs = gcm.counterfactual_samples(scm, {"n0": lambda x: np.full_like(x, 1.0)},
                                        observed_data=units)
    dowhy_s = time.perf_counter() - t0

    cf = pd.read_csv(path("cf.csv"))
    sd = units[names].std().to_numpy()
    diff = np.abs(cf[names].to_numpy() - theirs[names].to_numpy()) / sd
    cells = args.units * len(names)
    res = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "packages": {"python": platform.python_version(), "numpy": np.__version__,
                     "pandas": pd.__version__, "dowhy": dowhy.__version__},
        "case": {"nodes": len(names), "units": args.units, "intervention": "do(n0 = 1)"},
        "ceteris_seconds": min(ours),
        "dowhy_seconds": dowhy_s,
        "ns_per_node_unit": {"ceteris": min(ours) * 1e9 / cells, "dowhy": dowhy_s * 1e9 / cells},
        "speedup_vs_dowhy": dowhy_s / min(ours),
        "max_abs_diff_over_sd": float(diff.max()),
    }
    json.dump(res, open(args.out, "w"), indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
