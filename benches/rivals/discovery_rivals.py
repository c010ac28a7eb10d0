#!/usr/bin/env python3
"""Causal discovery: ceteris `discover` against causal-learn's PC on the same data, same run.

For each case: draw a random DAG and data (the generator of
tests/reference/make_discovery_reference.py), write a CSV, run causal-learn's
pc(data, alpha, test, stable=True, uc_rule=0, uc_priority=2) and `ceteris discover`
(CPU backend, the same test), and record both times, whether the graphs are equal and each
graph's structural Hamming distance (SHD) to the true CPDAG (node pairs whose marks differ).

Usage (from the crate root, after `cargo build --release`):

    python3 benches/rivals/discovery_rivals.py [--cases kci6,linear20,...] [--cap 1800]
        [--out target/bench-run/discovery.json]

causal-learn runs in a subprocess killed after --cap seconds (default 1800, the issue's
30-minute cap); a capped run is reported as "> cap". Made with Python 3.11.7, numpy 2.4.6,
causal-learn 0.1.4.8 (momentchi2 0.1.8 with numpy 2's removed np.math restored, so RCoT's
LPB4 null really runs).
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

np.math = math  # momentchi2 (causal-learn's LPB4) still calls np.math

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "reference"))
from make_discovery_reference import random_dag, sample  # noqa: E402

CASES = {
    # name: (nodes, rows, expected degree, nonlinear, test, seed)
    "kci6": (6, 500, 2.0, True, "kci", 7),
    "linear5": (5, 1000, 2.0, False, "fisherz", 11),
    "linear10": (10, 1000, 2.5, False, "fisherz", 12),
    "linear20": (20, 1000, 2.5, False, "fisherz", 13),
    "kci10": (10, 500, 2.0, True, "kci", 14),
    "kci20": (20, 2000, 2.0, True, "kci", 15),
    "rcot20": (20, 2000, 2.0, True, "rcot", 15),
}


def cpdag_marks(parents):
    """The true CPDAG's endpoint marks, via causal-learn's dag2cpdag."""
    from causallearn.graph.Dag import Dag
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag
    p = len(parents)
    nodes = [GraphNode(f"X{j + 1}") for j in range(p)]
    dag = Dag(nodes)
    for c, ps in enumerate(parents):
        for a in ps:
            dag.add_directed_edge(nodes[a], nodes[c])
    return np.array(dag2cpdag(dag).graph, dtype=int)


def shd(a, b):
    p = a.shape[0]
    return sum(1 for i in range(p) for j in range(i + 1, p)
               if (a[i, j], a[j, i]) != (b[i, j], b[j, i]))


def run_causal_learn(path, test, alpha, queue):
    from causallearn.search.ConstraintBased.PC import pc
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    kw = {"rcit": False} if test == "rcot" else {}
    t0 = time.time()
    cg = pc(data, alpha, "rcit" if test == "rcot" else test, stable=True, uc_rule=0,
            uc_priority=2, show_progress=False, **kw)
    queue.put((time.time() - t0, cg.G.graph.astype(int).tolist()))


def ours_marks(res, names):
    p = len(names)
    m = np.zeros((p, p), dtype=int)
    idx = {n: i for i, n in enumerate(names)}
    for e in res["edges"]:
        i, j = idx[e["from"]], idx[e["to"]]
        if e["kind"] == "directed":
            m[i, j], m[j, i] = -1, 1
        elif e["kind"] == "undirected":
            m[i, j], m[j, i] = -1, -1
        else:
            m[i, j], m[j, i] = 1, 1
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--cap", type=float, default=1800.0)
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="target/bench-run/discovery.json")
    ap.add_argument("--skip-rival", action="store_true")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    results = {}
    for name in args.cases.split(","):
        p, n, degree, nonlinear, test, seed = CASES[name]
        rng = np.random.default_rng(seed)
        parents = random_dag(rng, p, degree)
        data = sample(rng, parents, n, nonlinear, signs=False)
        names = [f"X{j + 1}" for j in range(p)]
        truth = cpdag_marks(parents)
        path = os.path.join(tempfile.gettempdir(), f"ceteris-discovery-{name}.csv")
        np.savetxt(path, data, delimiter=",", header=",".join(names), comments="", fmt="%.6f")
        row = {"nodes": p, "rows": n, "test": test, "edges_true": sum(map(len, parents))}
        # ceteris: best of --repeat runs (compute seconds as reported, and wall seconds)
        best = None
        for _ in range(args.repeat):
            t0 = time.time()
            out = subprocess.run(["./target/release/ceteris", "discover", "--data", path, "--test",
                                  test, "--alpha", str(args.alpha), "--backend", "cpu"],
                                 capture_output=True, text=True, check=True)
            wall = time.time() - t0
            res = json.loads(out.stdout)
            if best is None or res["seconds"] < best[0]["seconds"]:
                best = (res, wall)
        res, wall = best
        mine = ours_marks(res, names)
        row.update({"ceteris_seconds": res["seconds"], "ceteris_wall_seconds": round(wall, 3),
                    "ceteris_tests": res["tests_run"], "ceteris_shd": shd(mine, truth),
                    "ceteris_borderline": len(res["borderline"])})
        if not args.skip_rival:
            q = mp.Queue()
            proc = mp.Process(target=run_causal_learn, args=(path, test, args.alpha, q))
            t0 = time.time()
            proc.start()
            proc.join(args.cap)
            if proc.is_alive():
                proc.kill()
                proc.join()
                row["causal_learn_seconds"] = None
                row["causal_learn_capped_at"] = args.cap
            else:
                secs, graph = q.get()
                theirs = np.array(graph)
                row.update({"causal_learn_seconds": round(secs, 3),
                            "causal_learn_shd": shd(theirs, truth),
                            "graphs_equal": bool((theirs == mine).all())})
                row["speedup"] = round(secs / res["seconds"], 1)
        results[name] = row
        print(name, json.dumps(row), flush=True)
    import causallearn  # noqa: F401
    doc = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "packages": {"python": platform.python_version(), "numpy": np.__version__,
                     "causal-learn": "0.1.4.8"},
        "alpha": args.alpha,
        "results": results,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
