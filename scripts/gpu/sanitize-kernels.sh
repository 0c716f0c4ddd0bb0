#!/usr/bin/env bash
# compute-sanitizer over the kernel tests (a few minutes): memcheck of both attention kernels (split, of 33
# chunks, in graphs, KV blocks of 32 and 64 tokens) and the skinny-GEMM chain (its SiLU store, its early loads),
# racecheck (shared memory) of the tensor-core attention and the chain's staged norm. MEMCHECK / RACECHECK: other
# gtest filters; LIMIT: seconds each (default 240). Needs a build-gpu tree with gpu_engine_tests
# (scripts/gpu/quick-check.sh builds it). Carry .deps. Logs: $out.
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
run() {  # NAME TOOL FILTER
  timeout "${LIMIT:-240}" compute-sanitizer --tool "$2" --error-exitcode 9 build-gpu/bin/gpu_engine_tests \
    --gtest_filter="$3" > "$out/sanitize-$1.log" 2>&1
  local rc=$?
  local verdict="0 errors"
  if [ $rc = 124 ]; then
    verdict="stopped after ${LIMIT:-240} s, $(grep -c '^\[       OK \]' "$out/sanitize-$1.log") tests done, $(grep -m1 'ERROR SUMMARY' "$out/sanitize-$1.log" || echo 'no error reported')"
  elif [ $rc != 0 ]; then
    verdict="exit $rc: $(grep -m1 'ERROR SUMMARY' "$out/sanitize-$1.log")"
  fi
  echo "compute-sanitizer $2 ($3): $verdict"
}
run memcheck memcheck "${MEMCHECK:-GpuEngine.AttentionChunksSplitWithoutChangingABit:GpuEngine.SplitTokensOfMoreThan32ChunksCombineWithoutChangingABit:GpuEngine.BothAttentionKernelsMatchTheCpuEngine:GpuEngine.SkinnyGemmAgreesWithCublas:GpuEngine.SiluInTheGateUpGemmChangesNoBit:GpuEngine.EarlyGemvLoadsChangeNoBit}"
run racecheck racecheck "${RACECHECK:-GpuEngine.BothAttentionKernelsMatchTheCpuEngine:GpuEngine.SiluInTheGateUpGemmChangesNoBit}"
