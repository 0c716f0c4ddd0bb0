#!/usr/bin/env bash
# Where a replayed decode step's time goes, kernel by kernel, in place (about 2 minutes of device time): builds the
# engine with the step timeline's marks (build-gpu-timeline, -DLMRT_TM_TIMELINE=ON: kernels/timeline.cuh), then
# runs `lmrt bench generation` with LMRT_TM_TIMELINE=1 on the random-weight folders of SHAPES (default
# internlm2-1_8b llama-2-7b) at BATCH (default 1) and each of INPUT (default "128 2048") and prints the summary:
# per kind of kernel, how early its blocks were placed, the gap from the previous kernel's end to its release, its
# time from release to its last block's end and the spread of its blocks' ends; then again with each of VARIANTS
# (each NAME=VALUE[,NAME=VALUE...]) set; a variant's LMRT_TM_TIMELINE=2 takes the GEMMs' end barrier out of the
# marks (kernels/timeline.cuh). Carry .deps.
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
cmake --preset gpu -B build-gpu-timeline -DLMRT_BUILD_TESTS=OFF -DLMRT_TM_TIMELINE=ON > "$out/configure-timeline.log" 2>&1 ||
  { tail -20 "$out/configure-timeline.log"; exit 1; }
cmake --build build-gpu-timeline -j "$(nproc)" --target lmrt_app lmrt-plugin-turbomind-cuda-fp16 \
  > "$out/build-timeline.log" 2>&1 || { grep -E "error" -A3 "$out/build-timeline.log" | head -40; exit 1; }
for shape in ${SHAPES:-internlm2-1_8b llama-2-7b}; do
  dir=$(bench_model "$shape")
  for in_len in ${INPUT:-128 2048}; do
    for variant in default ${VARIANTS:-}; do
      echo "== $shape batch ${BATCH:-1} input $in_len $variant"
      env LMRT_TM_TIMELINE=1 $([ "$variant" = default ] || echo "${variant//,/ }") build-gpu-timeline/bin/lmrt bench \
        generation "$dir" --backend turbomind-cuda-fp16 --dtype bfloat16 --max-batch-size 64 --session-len 4096 \
        --cache-max-entry-count 0.5 --batch "${BATCH:-1}" --input "$in_len" --output 64 --log-level info 2>&1 |
        tee "$out/timeline-$shape-$in_len-${variant//[=,]/_}.log" |
        grep -E '^[0-9]+ +[0-9]+ +[0-9]+|timeline of|^  ' | grep -v '^\s*$'
    done
  done
done
