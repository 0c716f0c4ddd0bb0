# Sourced by the GPU scripts: the repository root as the working directory, $out for logs ($OUT, else
# /tmp/lmrt-gpu), and the test data (../shared/testdata, else .deps/testdata linked there) in LMRT_TESTDATA_DIR.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=${OUT:-/tmp/lmrt-gpu}
mkdir -p "$out"
if [ ! -d ../shared/testdata ] && [ -d .deps/testdata ]; then mkdir -p ../shared && ln -sfn "$PWD/.deps/testdata" ../shared/testdata; fi
export LMRT_TESTDATA_DIR=$(cd ../shared/testdata && pwd)
# bench_model SHAPE: the random-weight folder of SHAPE for the benchmarks (written once per machine), on stdout.
bench_model() {
  local dir=/tmp/lmrt-bench-$1
  [ -f "$dir/model.safetensors" ] || python3 scripts/bench/make_random_hf_model.py --shape "$1" --out "$dir" \
    --tokenizer "$LMRT_TESTDATA_DIR/tokenizers/internlm2" > "$out/make-model-$1.log" 2>&1
  echo "$dir"
}
