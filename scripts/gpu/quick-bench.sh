#!/usr/bin/env bash
# The shortest GPU iteration on one kernel (about a minute of device time): build, the engine tests named by
# FILTER (killed after TEST_LIMIT seconds, default 300, so that a hung kernel leaves the rest of the call), then
# `lmrt bench generation` on the random-weight folder of each of SHAPES (default internlm2-1_8b) by default and
# with each of VARIANTS (each NAME=VALUE[,NAME=VALUE...]), and `lmrt bench throughput` at each concurrency of
# THROUGHPUT; LOG_LEVEL (default error) is the benchmarks' log level: info shows the engine's profile under a
# variant with LMRT_TM_PROFILE=1 (one input a run then: the profile averages the run's steps). Carry .deps.
# scripts/gpu/quick-check.sh is the fuller check.
#   FILTER='GpuRuntime.*' VARIANTS="LMRT_TM_GEMV=1" SHAPES="internlm2-1_8b internlm2-7b" scripts/gpu/quick-bench.sh
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
gpu_build || exit 1
measure_rates
filtered_tests
for shape in ${SHAPES:-internlm2-1_8b}; do
  dir=$(bench_model "$shape")
  for variant in default ${VARIANTS:-}; do
    echo "== $shape $variant"
    bench_gen $([ "$variant" = default ] || echo "${variant//,/ }") "$dir" --batch "${BATCH:-1,16}" \
      --input "${INPUT:-128,2048}" --output "${OUTPUT:-64}" --log-level "${LOG_LEVEL:-error}" |
      grep -v '^memory'
    # THROUGHPUT="16 1": `lmrt bench throughput` at each concurrency too (PROMPTS requests, default 200).
    for c in ${THROUGHPUT:-}; do
      echo "== $shape $variant throughput, concurrency $c"
      env $([ "$variant" = default ] || echo "${variant//,/ }") build-gpu/bin/lmrt bench throughput "$dir" \
        --backend turbomind-cuda-fp16 --dtype bfloat16 --max-batch-size 64 --session-len 4096 \
        --cache-max-entry-count 0.5 --num-prompts "${PROMPTS:-200}" --concurrency "$c" --log-level error |
        grep -v '^memory'
    done
  done
done
