#!/usr/bin/env python3
"""Work-efficiency index of the SCM sweep (issue 18): (GPU/CPU time of a sweep) / (GPU/CPU time of
the iid bootstrap mean), each timed by the command's own `seconds`, best of --repeat runs.

The sweep is the bench model of `ceteris bench --only scm` (written here with --save-model),
20 settings do(n0) x 10 000 samples of n49; the mean is n = 10 000, B = 2000, percentile only.
Extra arguments go to `ceteris sweep` (e.g. `--common-random-numbers false`, so that both backends
draw the noise once per setting: the same work). Standard library only.

Usage (from the crate root, after `cargo build --release`):
    python3 benches/gpu/scm_work_index.py [--bin target/release/ceteris] [-- SWEEP FLAGS...]
"""
import argparse
import json
import os
import random
import subprocess
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="./target/release/ceteris")
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("extra", nargs="*")
a = ap.parse_args()
tmp = tempfile.mkdtemp()
model, data = os.path.join(tmp, "m50.json"), os.path.join(tmp, "x.csv")
subprocess.run([a.bin, "bench", "--only", "scm", "--backend", "cpu", "--quick", "--format", "json",
                "--save-model", model], check=True, stdout=subprocess.DEVNULL)
rng = random.Random(1)
with open(data, "w") as f:
    f.write("x\n" + "".join(f"{rng.gauss(0.0, 1.0)!r}\n" for _ in range(10_000)))


def secs(args):
    out = subprocess.run([a.bin] + args, capture_output=True, text=True, check=True).stdout
    return json.loads(out)["seconds"]


t = {}
for be in ["cpu", "gpu"]:
    t["mean", be] = min(secs(["bootstrap", "--data", data, "--column", "x", "--resamples", "2000",
                              "--method", "percentile", "--backend", be])
                        for _ in range(a.repeat))
    t["sweep", be] = min(secs(["sweep", "--model", model, "--outcome", "n49", "--do", "n0=-3:3:20",
                               "--samples", "10000", "--backend", be] + a.extra)
                         for _ in range(a.repeat))
rm, rs = t["mean", "gpu"] / t["mean", "cpu"], t["sweep", "gpu"] / t["sweep", "cpu"]
print(json.dumps({"mean_seconds": {"cpu": t["mean", "cpu"], "gpu": t["mean", "gpu"]},
                  "sweep_seconds": {"cpu": t["sweep", "cpu"], "gpu": t["sweep", "gpu"]},
                  "mean_ratio": rm, "sweep_ratio": rs, "index": rs / rm, "sweep_flags": a.extra}))
