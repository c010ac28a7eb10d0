#!/usr/bin/env bash
# The Python suite: builds its own virtualenv (python/.venv, git-ignored), installs maturin,
# numpy, pandas, scipy, pytest, tqdm, networkx, causal-learn, dowhy and hyppo (their tests compare
# against them) and ray (the ceteris.distributed tests run a local Ray cluster; they are skipped,
# with the reason, only where ray cannot be imported) into it, builds the wheel with maturin
# (in the repository's target/ directory, so the dependencies compiled by `cargo test --release` are
# reused), installs the wheel and runs pytest on python/tests (and the package's doctests).
#
#   python/run-tests.sh [pytest args...]
#
# PYTHON picks the interpreter that makes the virtualenv (default python3, >= 3.9).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
vpy="$venv/bin/python"
"$vpy" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.9.4,<2" numpy pandas scipy pytest tqdm networkx causal-learn dowhy hyppo ray
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
wheels="$CARGO_TARGET_DIR/wheels-python"
rm -rf "$wheels"
(cd "$here" && "$venv/bin/maturin" build --release --quiet --interpreter "$vpy" --out "$wheels")
"$vpy" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
  "$wheels"/ceteris-*.whl
# run from python/tests so that `import ceteris` is the installed wheel, not the source folder
cd "$here/tests"
"$vpy" -m pytest -q --doctest-modules --pyargs ceteris "$here/tests" -p no:cacheprovider "$@"
