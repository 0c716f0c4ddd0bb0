#!/usr/bin/env bash
# Runs on the GPU machine after a build (scripts/gpu-check.sh or cmake --preset gpu): writes a
# random-weight internlm2-1_8b-shaped folder, measures the copy bandwidth and bf16 matrix rate, times `lmrt bench generation`
# on the turbomind-cuda-fp16 engine and transformers on the same folder, in the same job.
#   SHAPES="internlm2-1_8b internlm2-7b" BATCH=1,16,64 INPUT=128,2048 OUTPUT=128 scripts/bench/run-gpu-bench.sh
# COMPILE=1 adds transformers with static cache + torch.compile for the COMPILE_BATCH sizes (default 1,64).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/lmrt-gpu}
mkdir -p "$out"
tok=${TOKENIZER:-$(cd ../shared/testdata/tokenizers/internlm2 2>/dev/null && pwd || echo .deps/testdata/tokenizers/internlm2)}
for shape in ${SHAPES:-internlm2-1_8b}; do
  dir=/tmp/lmrt-bench-$shape
  [ -f "$dir/model.safetensors" ] || python3 scripts/bench/make_random_hf_model.py --shape "$shape" --out "$dir" --tokenizer "$tok"
  rates=$(python3 scripts/bench/transformers_generation.py "$dir" --bandwidth-only)
  bw=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['hbm_gbps'])" "$rates")
  tflops=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['matrix_tflops'])" "$rates")
  echo "== $shape: measured copy bandwidth ${bw} GB/s, bf16 matrix rate ${tflops} TFLOP/s"
  build-gpu/bin/lmrt bench generation "$dir" --backend turbomind-cuda-fp16 --dtype bfloat16 --batch "${BATCH:-1,16,64}" \
    --input "${INPUT:-128,2048}" --output "${OUTPUT:-128}" --hbm-gbps "$bw" --matrix-tflops "$tflops" --max-batch-size 64 --session-len 4096 \
    --cache-max-entry-count 0.5 --log-level error --json "$out/lmrt-$shape.json"
  PYTHONUNBUFFERED=1 python3 scripts/bench/transformers_generation.py "$dir" --batch "${BATCH:-1,16,64}" \
    --input "${INPUT:-128,2048}" --output "${OUTPUT:-128}" ${COMPILE:+--compile --compile-batch "${COMPILE_BATCH:-1,64}"} \
    2> "$out/hf-$shape.err" | tee "$out/hf-$shape.jsonl"
  tail -3 "$out/hf-$shape.err"
done
