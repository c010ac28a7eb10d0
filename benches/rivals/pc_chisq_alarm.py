#!/usr/bin/env python3
"""PC-chisq on the bnlearn `alarm` network (37 nodes), n = 10 000: ceteris `discover` against
causal-learn's `pc` on the same data, in the same run.

The network is pgmpy's copy of bnlearn's alarm (`pgmpy.utils.get_example_model('alarm')`), sampled
with `BayesianModelSampling(...).forward_sample(size=10000, seed=SEED)`; the CSV holds the state
names as text (ceteris reads them as labels; causal-learn gets integer codes of the same values).
Both run `pc(data, 0.05, 'chisq', stable=True, uc_rule=0, uc_priority=2)`; ceteris with
`--test chisq --backend cpu` (best of --repeat runs, its own compute `seconds`; causal-learn's
time is `pc`'s wall time, loading excluded on both sides). SHD is to the true CPDAG (causal-learn's
`dag2cpdag`), node pairs whose marks differ.

Usage (from the crate root, after `cargo build --release`):

    tests/reference/.venv/bin/python benches/rivals/pc_chisq_alarm.py [--n 10000] [--seed 0]
        [--repeat 3] [--settings "stable=True,uc_rule=0,uc_priority=2"]

Made with Python 3.11, numpy, pgmpy 1.1.2, causal-learn 0.1.4.8 (printed in the output).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--test", default="chisq")
    ap.add_argument("--bin", default="target/release/ceteris")
    args = ap.parse_args()

    import logging
    logging.disable(logging.WARNING)
    from pgmpy.utils import get_example_model
    from pgmpy.sampling import BayesianModelSampling
    from causallearn.search.ConstraintBased.PC import pc
    from causallearn.graph.Dag import Dag
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag

    model = get_example_model("alarm")
    df = BayesianModelSampling(model).forward_sample(size=args.n, seed=args.seed,
                                                      show_progress=False)
    names = list(df.columns)
    p = len(names)
    tmp = tempfile.mkdtemp()
    csv = os.path.join(tmp, "alarm.csv")
    df.astype(str).to_csv(csv, index=False)
    codes = np.column_stack([np.unique(df[c].astype(str), return_inverse=True)[1]
                             for c in names]).astype(float)

    t0 = time.time()
    cg = pc(codes, 0.05, args.test, stable=True, uc_rule=0, uc_priority=2, show_progress=False,
            node_names=names)
    cl_s = time.time() - t0
    cl = cg.G.graph.astype(int)

    best, out = None, None
    for _ in range(args.repeat):
        r = subprocess.run([args.bin, "discover", "--data", csv, "--test", args.test,
                            "--backend", "cpu", "--alpha", "0.05"],
                           capture_output=True, text=True, check=True)
        out = json.loads(r.stdout)
        best = out["seconds"] if best is None else min(best, out["seconds"])
    ours = np.zeros((p, p), int)
    for e in out["edges"]:
        i, j = names.index(e["from"]), names.index(e["to"])
        m = {"tail": -1, "arrow": 1, "circle": 2}
        ours[i, j] = m[e["marks"][0]]
        ours[j, i] = m[e["marks"][1]]

    nodes = [GraphNode(n) for n in names]
    dag = Dag(nodes)
    for a, b in model.edges():
        dag.add_directed_edge(nodes[names.index(a)], nodes[names.index(b)])
    truth = dag2cpdag(dag).graph.astype(int)

    def shd(g):
        return sum(1 for i in range(p) for j in range(i + 1, p)
                   if (g[i, j], g[j, i]) != (truth[i, j], truth[j, i]))

    res = {
        "case": "alarm", "nodes": p, "rows": args.n, "test": args.test,
        "true_edges": len(model.edges()),
        "causal_learn_s": round(cl_s, 3), "ceteris_s": round(best, 4),
        "speedup": round(cl_s / best, 1),
        "same_graph": bool((cl == ours).all()),
        "shd_causal_learn": shd(cl), "shd_ceteris": shd(ours),
        "ceteris_tests": out["tests_run"], "ceteris_backend": out["backend"],
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                     "pgmpy": version("pgmpy"), "causal-learn": version("causal-learn")},
    }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
