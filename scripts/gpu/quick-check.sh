#!/usr/bin/env bash
# A short GPU run for one kernel change (a few minutes of device time): builds, runs the GPU engine tests (and the
# runtime ones again with each fast path changed: decode lookahead on, CUDA graphs off, the skinny GEMM on, ...)
# and the stories260k gold through the GPU engine, then `lmrt bench generation` on a random-weight internlm2-1_8b
# folder, by default and with each fast path off, and a per-kernel profile of batch-1 steps (no transformers:
# scripts/bench/run-gpu-bench.sh gives those ratios). Carry .deps (test data). Logs: $OUT (at most 8 files come
# back: read the printed table).
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
start=$(date +%s)
gpu_build || exit 1
measure_rates
echo "build: $(( $(date +%s) - start )) s"
build-gpu/bin/gpu_engine_tests > "$out/gpu_tests.log" 2>&1
echo "gpu_engine_tests: exit $? $(grep -E '^\[  PASSED|^\[  FAILED  \] [0-9]+ test' "$out/gpu_tests.log" | tr '\n' ' ')" | tee "$out/summary.txt"
grep -E '^\[  FAILED  \]' "$out/gpu_tests.log" | head
# The runtime tests (batch invariance, prefix caching, vs the cpu engine) with each fast path off or changed.
for variant in LMRT_TM_GEMV_DYNAMIC=0 LMRT_TM_GEMV_EARLY=0 LMRT_TM_GEMV_HEAD_NORM=0 LMRT_TM_LOOKAHEAD=1 LMRT_TM_LOOKAHEAD=2 LMRT_TM_ATTENTION_CHUNK=128 LMRT_TM_CUDA_GRAPHS=0 LMRT_TM_GEMV=0 LMRT_TM_GEMV_ROWS=8 LMRT_TM_GEMV_ROPE=0 LMRT_TM_GEMV_SILU=0 LMRT_TM_PDL=0 LMRT_TM_ATTENTION_TENSOR_CORES=0 LMRT_TM_L2_PREFETCH_MB=24 LMRT_TM_L2_PREFETCH_TAIL=25 LMRT_TM_GEMV_STAGE_X=0 LMRT_TM_GEMV_STAGE_X=1 LMRT_TM_GEMV_NORM_REGISTERS=0; do
  env "$variant" build-gpu/bin/gpu_engine_tests --gtest_filter='GpuRuntime.*:GpuEngine.MatchesTheCpuEngineStepByStep' \
    > "$out/gpu_tests_${variant%%=*}.log" 2>&1
  echo "gpu_engine_tests with $variant: exit $? $(grep -E '^\[  PASSED|^\[  FAILED  \] [0-9]+ test' "$out/gpu_tests_${variant%%=*}.log" | tr '\n' ' ')" | tee -a "$out/summary.txt"
done
scripts/gpu/check-gold.sh build-gpu/bin/lmrt "$LMRT_TESTDATA_DIR" "$out" | sed 's/^/gold /' | tee -a "$out/summary.txt"
dir=$(bench_model internlm2-1_8b)
bench_gen "$dir" --batch "${BATCH:-1,16}" --input "${INPUT:-128,2048}" --output "${OUTPUT:-64}" \
  --log-level error --json "$out/bench.json" 2>&1 | tee "$out/bench.txt"
# A variant is NAME=VALUE[,NAME=VALUE...].
for variant in ${VARIANTS:-LMRT_TM_GEMV_DYNAMIC=0 LMRT_TM_LOOKAHEAD=1 LMRT_TM_LOOKAHEAD=2 LMRT_TM_GEMV_SILU=0 LMRT_TM_GEMV_ROPE=0 LMRT_TM_GEMV=0 LMRT_TM_PDL=0 LMRT_TM_ATTENTION_TENSOR_CORES=0}; do
  echo "== the same with $variant"
  bench_gen ${variant//,/ } "$dir" --batch "${BATCH:-1,16}" --input "${INPUT:-128,2048}" --output "${OUTPUT:-64}" \
    --log-level error --json "$out/bench-${variant//[=,]/_}.json" 2>&1 |
    tee "$out/bench-${variant//[=,]/_}.txt"
done
# Where a batch-1 step's time goes (host preparation, GPU forward, sampling; with graphs), then by kernel (without),
# at short and long context.
for in_len in 128 2048; do
  for level in 1 2; do
    echo "== LMRT_TM_PROFILE=$level, batch 1, input $in_len"
    bench_gen LMRT_TM_PROFILE=$level "$dir" --batch 1 --input $in_len --output 64 --warmup 0 --log-level info 2>&1 |
      grep -E 'steps:|^1 |^  [a-zA-Z]' | tee -a "$out/profile.txt"
  done
done
grep -h '^\[gpu-table\]' "$out/gpu_tests.log" | sed 's/^\[gpu-table\] /  /'
grep -h '^\[  FAILED  \]\|Failure\|Expected\|Which is\|  Actual' "$out"/gpu_tests*.log | head -40
# The test verdicts and the default bench again, last, where a clipped output keeps them.
cat "$out/summary.txt" "$out/bench.txt"
echo "total: $(( $(date +%s) - start )) s"
