#!/usr/bin/env bash
# The skinny GEMM's plain-X staging (LMRT_TM_GEMV_STAGE_X: 2 the default, 0 none, 1 every plain X) on the 7B shapes,
# batch 1, p50 ms a token at INPUT (default 128,2048), after a GPU build (gpu_build, or scripts/gpu/quick-check.sh).
# Carry .deps.
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
[ -x build-gpu/bin/lmrt ] || gpu_build || exit 1
measure_rates
for shape in ${SHAPES:-internlm2-7b llama-2-7b qwen2-7b}; do
  dir=$(bench_model "$shape")
  for variant in LMRT_TM_GEMV_STAGE_X=2 LMRT_TM_GEMV_STAGE_X=0 LMRT_TM_GEMV_STAGE_X=2 LMRT_TM_GEMV_STAGE_X=0; do
    echo "== $shape $variant"
    bench_gen "$variant" "$dir" --batch 1 --input "${INPUT:-128,2048}" --output 64 --log-level error | grep -E '^1 '
  done
done
