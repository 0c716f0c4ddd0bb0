#!/usr/bin/env bash
# One kernel launch in depth, by Nsight Compute (speed of light, occupancy, warp stalls, memory and compute
# workload): why a kernel takes the time kernel-times.sh shows. Needs a build-gpu tree and ncu. Carry .deps.
#   KERNEL=tensor_core_attention_kernel SKIP=5 INPUT=2048 OUTPUT=1 scripts/gpu/kernel-detail.sh
# SKIP launches of KERNEL are passed over first: with OUTPUT=1 every launch is of the prefill step (one a layer);
# with OUTPUT=3, SKIP=layers+5 is a decode step's.
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
shape=${SHAPE:-internlm2-1_8b}
dir=$(bench_model "$shape")
kernel=${KERNEL:-tensor_core_attention_kernel}
log="$out/ncu-detail-$kernel.txt"
LMRT_TM_CUDA_GRAPHS=0 "$ncu_bin" --clock-control none -k "regex:$kernel" \
  --launch-skip "${SKIP:-5}" --launch-count 1 --section SpeedOfLight --section Occupancy --section LaunchStats \
  --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
  build-gpu/bin/lmrt bench generation "$dir" --backend turbomind-cuda-fp16 --dtype bfloat16 --batch "${BATCH:-1}" \
  --input "${INPUT:-2048}" --output "${OUTPUT:-1}" --warmup 0 --max-batch-size 64 --session-len 4096 \
  --cache-max-entry-count 0.5 --log-level error > "$log" 2>&1
# The sections' tables and the explanations, without the separator lines.
grep -vE '^\s*$|^  *-+ *-+|^==PROF==' "$log" | cut -c1-150 | head -"${LINES_MAX:-160}"
