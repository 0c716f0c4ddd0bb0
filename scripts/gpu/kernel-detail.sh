#!/usr/bin/env bash
# One kernel launch of a batch-1 decode step under Nsight Compute's detailed sections (throughput, occupancy, warp
# stall reasons), clocks left alone: why a kernel takes the time scripts/gpu/kernel-times.sh shows. Needs build-gpu.
#   KERNEL=tensor_core_attention SKIP=30 INPUT=128 scripts/gpu/kernel-detail.sh
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
dir=$(bench_model "${SHAPE:-internlm2-1_8b}")
ncu_bin=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null)
log="$out/ncu-detail-${KERNEL:?KERNEL=name}.txt"
LMRT_TM_CUDA_GRAPHS=0 "$ncu_bin" --clock-control none -k "regex:${KERNEL}" --launch-skip "${SKIP:-30}" --launch-count 1 \
  --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats --section SchedulerStats \
  --section MemoryWorkloadAnalysis \
  build-gpu/bin/lmrt bench generation "$dir" --backend turbomind-cuda-fp16 --dtype bfloat16 --batch 1 \
  --input "${INPUT:-128}" --output 3 --warmup 0 --max-batch-size 64 --session-len 4096 --cache-max-entry-count 0.5 \
  --log-level error > "$log" 2>&1
# The sections' tables and the stall explanations, without the separator lines.
grep -vE "^\s*-+[- ]*$|^==PROF==|^\s*$" "$log" | sed 's/  */ /g' | cut -c1-200 | head -"${LINES_MAX:-120}"
