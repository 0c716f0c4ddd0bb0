#!/usr/bin/env bash
# Runs on the GPU machine (torch + transformers + tokenizers, offline): makes the reference
# fixtures that CI tests compare against, and packs them into $OUT/fixtures.tar.gz.
#   tests/fixtures/models/*       tiny random Llama / Qwen2 / InternLM2 models with transformers logits
#   tests/fixtures/tokenizers/bytelevel   a byte-level BPE tokenizer with Hugging Face's encodings
# Calibration text comes from ../shared/testdata/calib or, on the device, from .deps/calib (carried).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/lmrt-fixtures}
mkdir -p "$out"
calib=../shared/testdata/calib
[ -d "$calib" ] || calib=.deps/calib
export PYTHONUNBUFFERED=1
python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
python3 scripts/fixtures/make_model_fixtures.py 2>&1 | tee "$out/model-fixtures.log"
python3 scripts/fixtures/make_tokenizer_fixtures.py "$calib/wikitext2.test.raw.txt" "$calib/tinyshakespeare.txt" \
  2>&1 | tee "$out/tokenizer-fixtures.log"
tar czf "$out/fixtures.tar.gz" tests/fixtures
du -sh tests/fixtures/*/*
