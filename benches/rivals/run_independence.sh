#!/usr/bin/env bash
# One benchmark run of the independence tests: `ceteris bench --only independence` (CPU) and the
# rivals (causal-learn KCI, hyppo HSIC) back to back, then ratios as Markdown for BENCHMARKS.md.
# Needs: pip install causal-learn hyppo. Takes about 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/bench-run}
mkdir -p "$out"
cargo build --release --quiet
./target/release/ceteris bench --only independence --backend cpu --format json > "$out/ours_indep.json"
python3 benches/rivals/independence_rivals.py --out "$out/rivals_indep.json" > /dev/null
python3 - "$out/ours_indep.json" "$out/rivals_indep.json" <<'PY'
import json, sys
ours = {r["case"]: r for r in json.load(open(sys.argv[1]))["results"]}
def mine(prefix, n):
    return next((r for c, r in ours.items() if c.startswith(prefix) and r["n"] == n), None)
riv = json.load(open(sys.argv[2]))
res = riv["results"]
def t(name, key="seconds"):
    return res.get(name, {}).get(key)
rows = [
    ("KCI conditional, n=2000, |Z|=1", "kci_cind_n2000_z1", t("kci_cind_n2000_z1"), "kci/cond", 2000),
    ("KCI unconditional (gamma), n=2000", "kci_uind_n2000", t("kci_uind_n2000"), "kci/uncond", 2000),
    ("HSIC permutation, n=1000, 1000 perms", "hyppo_hsic_perm_n1000", t("hyppo_hsic_perm_n1000"), "hsic/perm1000", 1000),
    ("HSIC permutation, n=2000, 1000 perms (rival: 100 measured, x10)", "hyppo_hsic_perm_n2000", t("hyppo_hsic_perm_n2000", "projected_seconds_full"), "hsic/perm1000", 2000),
    ("1000 KCI tests |Z|=1, n=500 (rival: 50 measured, x20)", "kci_cind_batch_n500", t("kci_cind_batch_n500", "projected_seconds_1000_tests"), "kci/batch1000", 500),
]
print(f"machine: {riv.get('machine', {}).get('cpu')}; causal-learn {riv['packages']['causal-learn']}, hyppo {riv['packages']['hyppo']}\n")
print("| case | rival | rival s | ceteris CPU s | speed-up |")
print("|---|---|---|---|---|")
for label, rname, rs, key, n in rows:
    o = mine(key, n)
    if o is None or rs is None:
        print(f"| {label} | {rname} | {rs} | {o and o['seconds']} | n/a |")
        continue
    print(f"| {label} | {rname} | {rs:.3f} | {o['seconds']:.4f} | {rs / o['seconds']:.0f}x |")
PY
