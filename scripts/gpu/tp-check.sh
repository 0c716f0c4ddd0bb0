#!/usr/bin/env bash
# Tensor parallelism on the GPU machine (docs/tensor-parallel.md): builds, runs the engine's tensor-parallel tests,
# then greedy generations of random-weight folders of SHAPES (default llama-2-7b qwen2-7b) with `lmrt generate`
# at --tp 1, 2 and 4, and counts the prompts whose text matches tp 1's. With fewer devices than ranks every rank
# runs on device 0 (LMRT_TM_TP_ONE_DEVICE=1): the same arithmetic, no scaling figures. Then the step-level test
# that feeds tp 2 and 4 the tokens of tp 1 on each folder (GpuEngine.TensorParallelRanksGiveTheOneRankResults-
# OnARealShape: logprobs within the fp16 bound, greedy flips only at near ties), and `lmrt bench generation` at
# each degree (BENCH=0 leaves it out). Carry .deps.
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
start=$(date +%s)
gpu_build || exit 1
echo "build: $(( $(date +%s) - start )) s"
timeout "${TEST_LIMIT:-300}" build-gpu/bin/gpu_engine_tests --gtest_filter="${FILTER:-*TensorParallel*}" \
  > "$out/tp_tests.log" 2>&1
echo "gpu_engine_tests ${FILTER:-*TensorParallel*}: exit $? $(grep -E '^\[  PASSED|^\[  FAILED  \] [0-9]+ test' "$out/tp_tests.log" | tr '\n' ' ')" |
  tee "$out/summary.txt"
grep -hE '^\[gpu-table\]|^\[  FAILED|Failure|Expected|Which is|actual' "$out/tp_tests.log" | head -40 |
  tee -a "$out/summary.txt"
devices=$(nvidia-smi -L 2>/dev/null | wc -l)
prompts=("The capital of France is" "def fibonacci(n):" "上海是" "Once upon a time, there was a little robot who")
args=()
for p in "${prompts[@]}"; do args+=(--prompt "$p"); done
for shape in ${SHAPES:-llama-2-7b qwen2-7b}; do
  dir=$(bench_model "$shape")
  for tp in 1 2 4; do
    one=$([ "$tp" -gt "$devices" ] && echo 1 || echo 0)
    s=$(date +%s)
    LMRT_TM_TP_ONE_DEVICE=$one build-gpu/bin/lmrt generate "$dir" --backend turbomind-cuda-fp16 --dtype "${DTYPE:-float16}" \
      --tp "$tp" --session-len 512 --cache-max-entry-count 0.2 --max-new-tokens 32 --temperature 0 --ignore-eos --json --log-level error \
      "${args[@]}" > "$out/generate-$shape-tp$tp.txt" 2> "$out/generate-$shape-tp$tp.err"
    echo "$shape tp $tp (one device: $one): exit $?, $(( $(date +%s) - s )) s" | tee -a "$out/summary.txt"
    tail -3 "$out/generate-$shape-tp$tp.err"
  done
  LMRT_TP_CHECK_MODEL=$dir timeout 300 build-gpu/bin/gpu_engine_tests \
    --gtest_filter='GpuEngine.TensorParallelRanksGiveTheOneRankResultsOnARealShape' > "$out/tp_tests-$shape.log" 2>&1
  echo "$shape fed tp 1's tokens: exit $? $(grep -E '^\[  PASSED|^\[  FAILED  \] [0-9]+ test' "$out/tp_tests-$shape.log" | tr '\n' ' ')" |
    tee -a "$out/summary.txt"
  grep -hE '^\[gpu-table\]|Failure|Expected|Which is|actual|instead of' "$out/tp_tests-$shape.log" | head -20 | tee -a "$out/summary.txt"
  for tp in 2 4; do
    python3 - "$out/generate-$shape-tp1.txt" "$out/generate-$shape-tp$tp.txt" "$shape" "$tp" <<'PY' | tee -a "$out/summary.txt"
import json, sys
a, b = ([json.loads(l)["token_ids"] for l in open(f) if l.strip()] for f in sys.argv[1:3])
same = sum(x == y for x, y in zip(a, b))
agree = [next((i for i, (u, v) in enumerate(zip(x, y)) if u != v), len(x)) for x, y in zip(a, b)]
print(f"{sys.argv[3]} tp {sys.argv[4]} vs tp 1: {same}/{len(a)} generations identical ({len(b)} printed), "
      f"tokens agreeing before the first difference: {agree}")
PY
  done
  # Decode timings at each degree (on one device the ranks share it: what the runs show is the cost of the split, the
  # lost decode graphs and the all-reduces' meetings, not a scaling).
  for tp in $([ "${BENCH:-1}" = 1 ] && echo 1 2 4); do
    one=$([ "$tp" -gt "$devices" ] && echo 1 || echo 0)
    echo "== $shape bench generation --tp $tp (one device: $one)" | tee -a "$out/summary.txt"
    bench_gen LMRT_TM_TP_ONE_DEVICE=$one "$dir" --tp "$tp" --batch 1,16 --input 128 --output 64 --log-level error 2>&1 | grep -v '^memory' | tee -a "$out/summary.txt"
  done
  rm -rf "$dir"  # the device's disk holds one 7B folder at a time
done
cat "$out/summary.txt"
echo "total: $(( $(date +%s) - start )) s"
