#!/usr/bin/env python3
"""Single RCoT/RCIT tests: ceteris (CPU) against causal-learn's own RCIT, per call, same run.

For each n, one data set (numpy default_rng(7 + n)): z ~ N(0, 1), x = tanh(z) + 0.5 e1,
y = sin(1.5 z) + 0.5 e2 (a fork; |Z| = 1, as the issue's measurement), written to a temporary
CSV. Then ROUNDS rounds (default 1), each, back to back:
* ceteris: `target/release/examples/rcit_timing DATA.csv REPS rcot rcit` (IndependenceTest::rcot()
  / rcit() with the same defaults and null, LPB4), which times each call in its own process after
  reading the CSV, after at least 1 s of untimed warm-up calls of its own, so neither side counts
  process start-up, data loading or a machine waking up; its first timed call is dropped too.
  With --before BIN, that build too, the two alternating which goes first. Each ceteris process
  starts 1 s after the last causal-learn call: one started right after causal-learn's timing ran
  slower (numpy's OpenBLAS threads, likely, still spinning in this process);
* causal-learn 0.1.4.8: `causallearn.utils.RCIT.RCIT.RCIT(approx="lpd4", rcit=...)`
  `.compute_pvalue(x, y, z)` (the class `cit.CIT(data, "rcit")` calls; 100 Z features, 5 X/Y
  features, LPB4), timed in this process with time.perf_counter(), REPS calls after at least
  1 s of untimed warm-up calls.
Both sides compute the whole test each call: standardising, bandwidths, features, the Z
regression and the null. Reported: the median and the best per-call seconds of each side over
all rounds, the speed-ups, and with several rounds the range of the per-round speed-ups (the
ratio of the round's medians): rounds pair the two sides in time, so the VM's slow drifts of
±20–30 % (this benchmark machine's) fall on both sides of a round's ratio.

momentchi2 calls `np.math`, removed in numpy 2: it is restored first so LPB4 really runs.

Usage (after `cargo build --release --example rcit_timing`):
    python3 benches/rivals/rcit_rivals.py [--sizes 2000 5000 20000 100000] [--reps 7] [--rounds 1]
        [--before BIN] [--one-thread]
With --one-thread both sides run on one thread (OPENBLAS_NUM_THREADS=1 for numpy,
RAYON_NUM_THREADS=1 for ceteris): a per-core comparison that a loaded, shared machine disturbs
less than two threads each.
Made with Python 3.11.7, numpy 2.4.6, causal-learn 0.1.4.8. Run it with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset (as BENCHMARKS.md says for every rival).
"""
import argparse
import json
import math
import os
import sys

if "--one-thread" in sys.argv:
    # before numpy loads OpenBLAS; the ceteris example inherits RAYON_NUM_THREADS
    os.environ.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1")
import platform
import statistics
import subprocess
import tempfile
import time

import numpy as np

np.math = math  # momentchi2 under numpy 2
from causallearn.utils.RCIT.RCIT import RCIT  # noqa: E402
from importlib.metadata import version  # noqa: E402

EXAMPLE = "./target/release/examples/rcit_timing"


def data(n):
    rng = np.random.default_rng(7 + n)
    z = rng.standard_normal(n)
    x = np.tanh(z) + 0.5 * rng.standard_normal(n)
    y = np.sin(1.5 * z) + 0.5 * rng.standard_normal(n)
    return x, y, z


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 20000, 100000])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=1,
                    help="rounds per size, each timing every side (paired in time)")
    ap.add_argument("--before", metavar="BIN",
                    help="also time this build of the rcit_timing example (e.g. one built from an "
                         "earlier commit), in the same run")
    ap.add_argument("--one-thread", action="store_true",
                    help="one thread on each side (OpenBLAS and rayon)")
    args = ap.parse_args()
    print(f"# causal-learn {version('causal-learn')}, numpy {np.__version__}, "
          f"python {platform.python_version()}; one thread each: {args.one_thread}; "
          f"load {os.getloadavg()}")
    print("| n | test | causal-learn s (median / best) | ceteris s (median / best) | speed-up "
          "(median / best) | causal-learn p | ceteris p |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    tests = [("rcot", False), ("rcit", True)]
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            x, y, z = data(n)
            X, Y, Z = x[:, None], y[:, None], z[:, None]
            path = os.path.join(tmp, f"d{n}.csv")
            np.savetxt(path, np.column_stack([x, y, z]), delimiter=",", header="x,y,z",
                       comments="", fmt="%.17g")
            times = {name: {"cl": [], "ours": [], "before": []} for name, _ in tests}
            ratios = {name: [] for name, _ in tests}
            p_ours, p_cl = {}, {}
            for r in range(args.rounds):
                builds = [(EXAMPLE, "ours"), (args.before, "before")]
                if r % 2 == 1:
                    builds.reverse()
                for exe, key in builds:
                    if exe is None:
                        continue
                    time.sleep(1.0)  # let the OpenBLAS threads of the last numpy calls settle
                    out = subprocess.run([exe, path, str(args.reps + 1), "rcot", "rcit"],
                                         check=True, capture_output=True, text=True).stdout
                    for line in out.splitlines():
                        res = json.loads(line)
                        times[res["test"]][key].extend(res["seconds"][1:])
                        if key == "ours":
                            p_ours[res["test"]] = res["p_value"]
                for name, rcit in tests:
                    t = RCIT(approx="lpd4", rcit=rcit)
                    warm = time.perf_counter()  # at least 1 s of calls, as the example does
                    while time.perf_counter() - warm < 1.0:
                        t.compute_pvalue(X, Y, Z)
                    got = []
                    for _ in range(args.reps):
                        s0 = time.perf_counter()
                        p, _ = t.compute_pvalue(X, Y, Z)
                        got.append(time.perf_counter() - s0)
                    p_cl[name] = float(p)
                    times[name]["cl"].extend(got)
                    mine = times[name]["ours"][-args.reps:]
                    ratios[name].append(statistics.median(got) / statistics.median(mine))
            for name, _ in tests:
                tt = times[name]
                cl, clb = statistics.median(tt["cl"]), min(tt["cl"])
                ce, ceb = statistics.median(tt["ours"]), min(tt["ours"])
                rows.append(dict(n=n, test=name, causal_learn=cl, causal_learn_best=clb,
                                 ceteris=ce, ceteris_best=ceb, rounds=args.rounds,
                                 round_speedups=ratios[name],
                                 p_causal_learn=p_cl[name], p_ceteris=p_ours[name]))
                extra = ""
                if args.rounds > 1:
                    extra += f" rounds: {min(ratios[name]):.1f}–{max(ratios[name]):.1f}×"
                if tt["before"]:
                    b = tt["before"]
                    rows[-1].update(before=statistics.median(b), before_best=min(b))
                    extra += f" before: {statistics.median(b):.3g} / {min(b):.3g} s"
                print(f"| {n} | {name} | {cl:.3g} / {clb:.3g} | {ce:.3g} / {ceb:.3g} | "
                      f"{cl / ce:.1f}× / {clb / ceb:.1f}× | {p_cl[name]:.3f} | "
                      f"{p_ours[name]:.3f} |{extra}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
