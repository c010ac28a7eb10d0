#!/usr/bin/env bash
# The GPU check of a session that is lent a device machine (one short run, see BENCHMARKS.md,
# "GPU figures"): the GPU parity tests and every `ceteris bench` case on the real GPU.
#
#   here:   bash benches/gpu/device.sh prepare
#           (release build; the `gpu` and `discovery` test binaries and the CLI, stripped, into
#           .device/; the Vulkan loader packages into .gl/; both ignored by git)
#   there:  the device tool's `run` with carry [".device", ".gl"] and the command
#           `bash benches/gpu/device.sh run` (timeout about 480 s); results come back in $OUT:
#           device.txt, tests.log, bench-gpu.json, targets.json, bench-gpu.log
#
# Nothing is compiled on the device machine (it has no Rust toolchain); the test binaries carry
# their reference data (include_str!).
set -euo pipefail
cd "$(dirname "$0")/../.."
case "${1:-}" in
prepare)
  cargo build --release
  mkdir -p .device
  cp target/release/ceteris .device/
  for t in gpu discovery; do
    exe=$(cargo test --release --no-run --test "$t" 2>&1 | grep -o "target/release/deps/$t-[0-9a-f]*" | tail -1)
    cp "$exe" ".device/$t"
  done
  strip .device/* 2>/dev/null || true
  for d in /.device/ /.gl/; do
    grep -qx "$d" .git/info/exclude || echo "$d" >> .git/info/exclude
  done
  if [ ! -d .gl ]; then
    # the loaders the device machine lacks (the device tool's README)
    mkdir -p .gl /tmp/amd64/partial
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    # shellcheck disable=SC2086
    apt-get $o update >/dev/null
    # shellcheck disable=SC2086
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  du -sh .device .gl
  ;;
run)
  # (NO_GL=1 skips the loaders: a dry run on a machine that has them, e.g. lavapipe here)
  if [ -z "${NO_GL:-}" ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$icd
  fi
  out=${OUT:-/tmp/device-out}
  mkdir -p "$out"
  { nvidia-smi -L || true; .device/ceteris bench --quick --only scm --backend gpu --format json; } \
    > "$out/device.txt" 2>&1
  export CETERIS_REQUIRE_GPU=1
  status=0
  { .device/gpu 2>&1 && .device/discovery gpu_engine 2>&1; } > "$out/tests.log" || status=$?
  grep -E "test result|FAILED|panicked" "$out/tests.log" || true
  # (BENCH_FLAGS=--quick for a dry run on a software adapter)
  # shellcheck disable=SC2086
  .device/ceteris bench --backend gpu --format json ${BENCH_FLAGS:-} > "$out/bench-gpu.json" \
    2> "$out/bench-gpu.log" || status=$?
  # the issues' GPU targets (HSIC, KCI and RCoT batches, a 10^10 node-draw sweep)
  # shellcheck disable=SC2086
  .device/ceteris bench --backend gpu --only gpu-targets --format json ${BENCH_FLAGS:-} \
    > "$out/targets.json" 2>> "$out/bench-gpu.log" || status=$?
  tail -3 "$out/bench-gpu.log"
  exit "$status"
  ;;
*)
  echo "usage: $0 prepare|run" >&2
  exit 2
  ;;
esac
