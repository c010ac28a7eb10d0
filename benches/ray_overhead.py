"""The Ray path's overhead: ceteris.distributed.bootstrap (shards Ray tasks on a local cluster)
against the in-process ceteris.bootstrap, same arguments, B = 1e5.

Run with the Python package's test venv (python/run-tests.sh installs ray):

    python/.venv/bin/python benches/ray_overhead.py [--resamples 100000] [--rows 1000]
        [--repeat 5] [--cpus 2] [--statistic mean]

Starts `ray.init(num_cpus=--cpus)`, warms the workers up (one untimed sharded call), then times
the in-process call and the sharded call for shards 1, 2, 4 and 8, alternating, best and median
of --repeat each; checks that every sharded result equals the in-process one (standard error and
intervals). Prints package versions and `uptime`.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from importlib.metadata import version

import numpy as np
import ray

import ceteris
import ceteris.distributed as cd

ap = argparse.ArgumentParser()
ap.add_argument("--resamples", type=int, default=100_000)
ap.add_argument("--rows", type=int, default=1000)
ap.add_argument("--repeat", type=int, default=5)
ap.add_argument("--cpus", type=int, default=2)
ap.add_argument("--statistic", default="mean")
ap.add_argument("--shards", default="1,2,4,8")
a = ap.parse_args()

print(f"python {sys.version.split()[0]}, ray {version('ray')}, numpy {version('numpy')}, "
      f"ceteris {ceteris.__version__}; {os.cpu_count()} cores")
print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
ray.init(num_cpus=a.cpus, include_dashboard=False, log_to_driver=False)
x = np.random.default_rng(0).normal(size=a.rows)
kw = dict(n_resamples=a.resamples, seed=1, backend="cpu", method=["percentile", "BCa"])
local = ceteris.bootstrap(x, a.statistic, **kw)
shard_counts = [int(s) for s in a.shards.split(",")]
cd.bootstrap(x, a.statistic, shards=max(shard_counts), **kw)  # start the workers
times = {"in-process": []}
times.update({k: [] for k in shard_counts})
for _ in range(a.repeat):
    t = time.perf_counter()
    ceteris.bootstrap(x, a.statistic, **kw)
    times["in-process"].append(time.perf_counter() - t)
    for k in shard_counts:
        t = time.perf_counter()
        r = cd.bootstrap(x, a.statistic, shards=k, **kw)
        times[k].append(time.perf_counter() - t)
        assert r.standard_error == local.standard_error and r.intervals == local.intervals
base = statistics.median(times["in-process"])
print(f"B = {a.resamples}, n = {a.rows}, statistic {a.statistic}, ray.init(num_cpus={a.cpus})")
print("| call | best | median | overhead (median − in-process median) |")
print("|---|---|---|---|")
for k, ts in times.items():
    name = k if k == "in-process" else f"distributed, shards={k}"
    med = statistics.median(ts)
    over = "" if k == "in-process" else f"{med - base:+.3f} s"
    print(f"| {name} | {min(ts):.3f} s | {med:.3f} s | {over} |")
print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
ray.shutdown()
