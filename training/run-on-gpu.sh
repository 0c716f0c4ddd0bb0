#!/usr/bin/env bash
# One device call trains lmrt-chat-tiny (docs/chat-model.md). Run from the repository root:
#   bash training/run-on-gpu.sh            # MINUTES=6 (training loop), SEED=1234
# Needs python3 with torch, numpy and sentencepiece; no network, nothing outside the repo.
# Leaves in $OUT: lmrt-chat-tiny.tar.gz (models/lmrt-chat-tiny/ with its training_report.json and model card,
# tests/chat_model/data/python_encodings.jsonl, tests/chat_model/data/eval_ci.jsonl) to unpack in the repository
# root, plus report.json and the logs.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/out/chat-model}"
MINUTES="${MINUTES:-6}"
SEED="${SEED:-1234}"
mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
date
nvidia-smi -L || true
python3 -c "import sys, torch, numpy, sentencepiece; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"

# The data is a pure function of the seed; the CI eval sample is rewritten and must come out unchanged
# (it is committed, and it is held out of exactly this training set).
cp tests/chat_model/data/eval_ci.jsonl "$OUT/eval_ci.committed.jsonl"
python3 training/data/generate.py --seed "$SEED" --ci-eval tests/chat_model/data/eval_ci.jsonl
if cmp -s tests/chat_model/data/eval_ci.jsonl "$OUT/eval_ci.committed.jsonl"; then
  echo "eval_ci.jsonl: unchanged (the generator reproduced the committed data)"
else
  echo "WARNING: eval_ci.jsonl changed: commit the one in the tarball together with the model"
fi

# The new model is made apart and swapped in at the end, so that a check running beside this one (as
# scripts/gpu/train-check-bench.sh runs the GPU check) never sees the model folder half written. TRAIN_ARGS adds
# arguments to train.py (a smoke test: TRAIN_ARGS="--max-steps 2 --hidden 32 --layers 1 ...").
stage="$OUT/stage"
rm -rf "$stage"
mkdir -p "$stage/models" "$stage/tests/chat_model/data"
python3 training/train.py --seed "$SEED" --minutes "$MINUTES" --out "$stage/models/lmrt-chat-tiny" \
  --report "$OUT/report.json" --encodings "$stage/tests/chat_model/data/python_encodings.jsonl" ${TRAIN_ARGS:-}
cp "$OUT/report.json" "$stage/models/lmrt-chat-tiny/training_report.json"
cp models/lmrt-chat-tiny/README.md "$stage/models/lmrt-chat-tiny/"  # the model card: update its figures by hand
cp tests/chat_model/data/eval_ci.jsonl "$stage/tests/chat_model/data/"
tar -czf "$OUT/lmrt-chat-tiny.tar.gz" -C "$stage" models tests
rm -rf models/lmrt-chat-tiny
cp -r "$stage/models/lmrt-chat-tiny" models/
cp "$stage/tests/chat_model/data/python_encodings.jsonl" tests/chat_model/data/
ls -la "$OUT" models/lmrt-chat-tiny
date
