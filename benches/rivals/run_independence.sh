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
ours = {r["case"].split(" ")[0]: r for r in json.load(open(sys.argv[1]))["results"]}
riv = json.load(open(sys.argv[2]))
res = riv["results"]
def t(name, key="seconds"):
    return res.get(name, {}).get(key)
rows = [
    ("KCI conditional, n=2000, |Z|=1", "kci_cind_n2000_z1", t("kci_cind_n2000_z1"), "kci/cond", 1),
    ("KCI unconditional (gamma), n=2000", "kci_uind_n2000", t("kci_uind_n2000"), "kci/uncond", 1),
    ("HSIC permutation, n=1000, 1000 perms", "hyppo_hsic_perm_n1000", t("hyppo_hsic_perm_n1000"), "hsic/perm1000", 1),
    ("1000 KCI tests, n=500 (rival: 50 measured, x20)", "kci_cind_batch_n500", t("kci_cind_batch_n500", "projected_seconds_1000_tests"), "kci/batch1000", 1),
]
print(f"machine: {riv.get('machine', {}).get('cpu')}; causal-learn {riv['packages']['causal-learn']}, hyppo {riv['packages']['hyppo']}\n")
print("| case | rival | rival s | ceteris CPU s | speed-up |")
print("|---|---|---|---|---|")
for label, rname, rs, key, _ in rows:
    o = ours.get(key)
    if o is None or rs is None:
        print(f"| {label} | {rname} | {rs} | {o and o['seconds']} | n/a |")
        continue
    print(f"| {label} | {rname} | {rs:.3f} | {o['seconds']:.4f} | {rs / o['seconds']:.0f}x |")
h2 = res.get("hyppo_hsic_perm_n2000", {})
print(f"\nhyppo HSIC permutation n=2000: {json.dumps({k: v for k, v in h2.items() if k in ('reps', 'seconds', 'projected_seconds_1000_reps', 'note')})}")
PY
