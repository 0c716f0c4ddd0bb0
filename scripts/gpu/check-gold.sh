#!/usr/bin/env bash
# stories260k gold through the GPU engine: the published 64 greedy tokens exactly and the 256-step story, for the
# Llama and the InternLM2 layout. Prints one line per model, "MODEL: exact (64 tokens), exact (256 steps)".
#   scripts/gpu/check-gold.sh LMRT_EXECUTABLE TESTDATA_DIR OUT_DIR   (GOLD_BACKEND=cpu checks the checker)
set -uo pipefail
lmrt=$1 testdata=$2 out=$3
for m in stories260k stories260k-internlm2; do
  "$lmrt" generate "$testdata/models/$m" --backend ${GOLD_BACKEND:-turbomind-cuda-fp16} --prompt 'Once upon a time' \
    --max-new-tokens 64 --temperature 0 --log-level error > "$out/gold64-$m.txt" 2>&1
  "$lmrt" generate "$testdata/models/$m" --backend ${GOLD_BACKEND:-turbomind-cuda-fp16} --prompt 'Once upon a time' \
    --max-new-tokens 251 --temperature 0 --ignore-eos --log-level error > "$out/gold256-$m.txt" 2>&1
  verdict=$(python3 - "$testdata/gold/stories260k.md" "$out/gold64-$m.txt" "$out/gold256-$m.txt" <<'PY'
import json, re, sys
md = open(sys.argv[1]).read()
quoted = re.findall(r'^"(.*)"$', md, re.M)
text64, text256 = json.loads('"%s"' % quoted[0]), json.loads('"%s"' % quoted[1])
got64 = open(sys.argv[2]).read()
got256 = "Once upon a time" + open(sys.argv[3]).read().rstrip("\n")
ok64 = got64 == text64 + "\n"
ok256 = got256.startswith(text256) or text256.startswith(got256) and len(got256) > 200
print(("exact" if ok64 else "MISMATCH") + " (64 tokens), " + ("exact" if ok256 else "MISMATCH") + " (256 steps)")
PY
)
  echo "$m: $verdict"
done
