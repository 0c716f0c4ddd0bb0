#!/usr/bin/env bash
# Per-kernel GPU times of decode steps, measured by Nsight Compute (each kernel alone, caches flushed): where a
# batch-1 step's time goes, kernel by kernel, with the DRAM bytes each one moves. Needs a build-gpu tree (run
# scripts/gpu/quick-check.sh or `cmake --preset gpu` first) and ncu. Carry .deps.
#   SHAPE=internlm2-1_8b INPUTS="128 2048" BATCH=1 [PREFILL=1] scripts/gpu/kernel-times.sh
# PREFILL=1 prints the prompt's step too.
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
shape=${SHAPE:-internlm2-1_8b}
dir=$(bench_model "$shape")
for in_len in ${INPUTS:-128 2048}; do
  log="$out/ncu-$shape-b${BATCH:-1}-i$in_len.csv"
  # Three new tokens: the prefill step, then two decode steps; the last complete step is the one reported.
  # --clock-control none: ncu would otherwise lock the GPU clocks to base for the run, and the clocks are not ours.
  LMRT_TM_CUDA_GRAPHS=0 "$ncu_bin" --clock-control none --csv --print-units base --log-file "$log" \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum \
    build-gpu/bin/lmrt bench generation "$dir" --backend turbomind-cuda-fp16 --dtype bfloat16 --batch "${BATCH:-1}" \
    --input "$in_len" --output 3 --warmup 0 --max-batch-size 64 --session-len 4096 --cache-max-entry-count 0.5 \
    --log-level error > "$out/ncu-run-$in_len.log" 2>&1 || { echo "ncu failed:"; tail -5 "$out/ncu-run-$in_len.log"; }
  echo "== $shape, batch ${BATCH:-1}, input $in_len: one decode step, kernel by kernel (ncu; each kernel alone)"
  python3 scripts/gpu/kernel_times_table.py "$log"
  if [ -n "${PREFILL:-}" ]; then
    echo "== $shape, batch ${BATCH:-1}, input $in_len: the prefill step, kernel by kernel (ncu; each kernel alone)"
    python3 scripts/gpu/kernel_times_table.py "$log" prefill
  fi
done
