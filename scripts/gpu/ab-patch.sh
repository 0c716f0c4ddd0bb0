#!/usr/bin/env bash
# A/B of one change in one job (each job's machine differs by a few percent, so compare within a job only): with
# the change applied in this tree and saved as a patch (git diff > .deps/x.diff; PATCH=.deps/x.diff, relative to
# the repository root), builds, runs the engine tests named by FILTER, then benches batch 1 at INPUT (default
# 128,2048) on each of SHAPES with the change, then ROUNDS times (default 1) without it and with it again
# (`patch -R`, rebuild the plugin, bench; `patch`, rebuild, bench). Carry .deps.
#   PATCH=.deps/x.diff ROUNDS=2 SHAPES="internlm2-1_8b internlm2-7b" bash scripts/gpu/ab-patch.sh
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
patch_file=${PATCH:?PATCH=the change as a patch file}
gpu_build || exit 1
measure_rates
filtered_tests
bench() {
  for shape in ${SHAPES:-internlm2-1_8b}; do
    echo "== $1 $shape"
    bench_gen "$(bench_model "$shape")" --batch 1 --input "${INPUT:-128,2048}" --output "${OUTPUT:-64}" \
      --log-level error | grep -E '^1 '
  done
}
rebuild() {
  cmake --build build-gpu -j "$(nproc)" --target lmrt-plugin-turbomind-cuda-fp16 > "$out/rebuild.log" 2>&1 ||
    { grep -E "error" -A3 "$out/rebuild.log" | head -20; exit 1; }
}
bench with
for _ in $(seq "${ROUNDS:-1}"); do
  patch -R -p1 -s < "$patch_file" && rebuild && bench without
  patch -p1 -s < "$patch_file" && rebuild && bench with
done
