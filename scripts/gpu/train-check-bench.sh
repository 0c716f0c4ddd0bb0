#!/usr/bin/env bash
# One device call that does the session's GPU work in the order of what matters most, so that a call cut
# short at its limit still returns the most important results (everything lands in $OUT as it is made):
#   1. trains lmrt-chat-tiny (training/run-on-gpu.sh, MINUTES) while scripts/gpu-check.sh builds and runs the
#      GPU correctness check beside it (correctness does not care that the GPU is shared);
#   2. the chat model's accuracy on the GPU engine and on the cpu engine (tests/chat_model);
#   3. with the GPU quiet again, the generation benchmark against transformers (scripts/bench/run-gpu-bench.sh;
#      BENCH=0 leaves it out).
# Carry .deps (test data in .deps/testdata). Run from the repository root.
# The device tool returns at most 8 files: logs are written under a work folder and packed into
# $OUT/logs.tar.gz after every phase; the trained model comes back as $OUT/lmrt-chat-tiny.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/../.."
dest=${OUT:-/tmp/lmrt-gpu}
out=/tmp/lmrt-session
rm -rf "$out"
mkdir -p "$out" "$dest"
pack() {
  tar -czf "$dest/logs.tar.gz" --exclude=lmrt-chat-tiny.tar.gz -C "$out" .
  [ -f "$out/lmrt-chat-tiny.tar.gz" ] && cp "$out/lmrt-chat-tiny.tar.gz" "$dest/"
  return 0
}
export PYTHONUNBUFFERED=1
start=$(date +%s)
stamp() { echo "[$(( $(date +%s) - start )) s] $*"; }

OUT="$out/check" bash scripts/gpu-check.sh > "$out/gpu-check.log" 2>&1 &
check_pid=$!
stamp "training (MINUTES=${MINUTES:-7}) beside the GPU check"
MINUTES=${MINUTES:-7} OUT="$out" bash training/run-on-gpu.sh > "$out/train-stdout.log" 2>&1
stamp "training done: $(grep -m1 -E '^eval \(greedy' "$out/run.log")"
pack
wait $check_pid
stamp "GPU check done"
pack

for backend in turbomind-cuda-fp16 cpu; do
  LMRT_CHAT_BACKEND=$backend build-gpu/bin/lmrt_chat_model_tests --gtest_filter='ChatModel.*' \
    > "$out/chat-accuracy-$backend.log" 2>&1
  stamp "chat model accuracy ($backend): exit $? $(grep -h 'lmrt-chat-tiny on the' "$out/chat-accuracy-$backend.log")"
done

if [ "${BENCH:-1}" = 1 ]; then
  SHAPES=${SHAPES:-internlm2-1_8b} BATCH=${BATCH:-1,16,64} INPUT=${INPUT:-128,2048} OUTPUT=${OUTPUT:-128} \
    OUT="$out" timeout "${BENCH_SECONDS:-200}" bash scripts/bench/run-gpu-bench.sh > "$out/bench.log" 2>&1
  stamp "bench: exit $?"
  pack
fi

echo "== gpu check"; sed -n '/== summary/,$p' "$out/gpu-check.log"
echo "== training"; grep -E '^(model:|trained|eval \(greedy|export round|fp16 export)|^  [a-z_]+ +[0-9]+/' "$out/run.log"
if [ -f "$out/bench.log" ]; then echo "== bench"; tail -40 "$out/bench.log"; fi
