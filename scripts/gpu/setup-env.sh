# Sourced by the GPU scripts: the repository root as the working directory, $out for logs ($OUT, else
# /tmp/lmrt-gpu), and the test data (../shared/testdata, else .deps/testdata linked there) in LMRT_TESTDATA_DIR.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=${OUT:-/tmp/lmrt-gpu}
mkdir -p "$out"
if [ ! -d ../shared/testdata ] && [ -d .deps/testdata ]; then mkdir -p ../shared && ln -sfn "$PWD/.deps/testdata" ../shared/testdata; fi
export LMRT_TESTDATA_DIR=$(cd ../shared/testdata && pwd)
# Nsight Compute, for the kernel scripts (empty where it is not installed).
ncu_bin=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null)
# bench_model SHAPE: the random-weight folder of SHAPE for the benchmarks (written once per machine), on stdout.
# A tokenizer may not know more ids than the shape's vocabulary: llama-2-7b takes the llama2 one (32000).
bench_model() {
  local dir=/tmp/lmrt-bench-$1 tok=internlm2
  [[ $1 == llama* ]] && tok=llama2
  [ -f "$dir/model.safetensors" ] || python3 scripts/bench/make_random_hf_model.py --shape "$1" --out "$dir" \
    --tokenizer "$LMRT_TESTDATA_DIR/tokenizers/$tok" > "$out/make-model-$1.log" 2>&1
  echo "$dir"
}
# measure_rates: the copy bandwidth (GB/s) and bf16 matrix rate (TFLOP/s) of this device, into HBM_GBPS and
# MATRIX_TFLOPS unless set, for the benchmarks' floors.
measure_rates() {
  local r
  r=$(python3 scripts/bench/transformers_generation.py --bandwidth-only - 2>/dev/null | tail -1)
  : "${HBM_GBPS:=$(python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['hbm_gbps']))" "$r" 2>/dev/null || echo 4246)}"
  : "${MATRIX_TFLOPS:=$(python3 -c "import json,sys; print(round(json.loads(sys.argv[1])['matrix_tflops']))" "$r" 2>/dev/null || echo 0)}"
  export HBM_GBPS MATRIX_TFLOPS
  echo "measured: copy bandwidth $HBM_GBPS GB/s, bf16 matrix rate $MATRIX_TFLOPS TFLOP/s"
}
# bench_gen [NAME=VALUE ...] DIR ARGS...: `lmrt bench generation` of DIR on this engine with the scripts' common
# settings (bf16, up to 64 rows, 4096-token sessions, half the free memory for KV), the variables set for it only.
bench_gen() {
  local vars=()
  while [[ ${1:-} == *=* ]]; do vars+=("$1"); shift; done
  local dir=$1
  shift
  env "${vars[@]}" build-gpu/bin/lmrt bench generation "$dir" --backend turbomind-cuda-fp16 --dtype bfloat16 \
    --max-batch-size 64 --session-len 4096 --cache-max-entry-count 0.5 --hbm-gbps "${HBM_GBPS:-4246}" \
    --matrix-tflops "${MATRIX_TFLOPS:-0}" "$@"
}
# gpu_build: configures build-gpu (tests on) and builds the app, both engines and the GPU tests, logs in $out;
# prints the errors and fails when either step does.
gpu_build() {
  cmake --preset gpu -DLMRT_BUILD_TESTS=ON > "$out/configure.log" 2>&1 || { tail -20 "$out/configure.log"; return 1; }
  cmake --build build-gpu -j "$(nproc)" --target lmrt_app lmrt-plugin-cpu lmrt-plugin-turbomind-cuda-fp16 \
    gpu_engine_tests > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; return 1; }
}
# filtered_tests: the engine tests FILTER names (none when it is empty), killed after TEST_LIMIT seconds (default
# 300) so that a hung kernel leaves the rest of the call; their tables and failures.
filtered_tests() {
  [ -n "${FILTER:-}" ] || return 0
  timeout "${TEST_LIMIT:-300}" build-gpu/bin/gpu_engine_tests --gtest_filter="$FILTER" > "$out/gpu_tests.log" 2>&1
  echo "gpu_engine_tests $FILTER: exit $?"
  grep -hE '^\[gpu-table\]|^\[  FAILED|Failure|Expected|actual' "$out/gpu_tests.log" | head -40
}
