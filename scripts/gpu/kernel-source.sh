#!/usr/bin/env bash
# Where one kernel launch's warps wait, instruction by instruction: Nsight Compute's source page (warp-state
# samples per SASS instruction, with its CUDA line), the view that tells apart waits on loads, on the tensor-core
# pipe, on shuffles and on barriers in a latency-bound kernel, which kernel-detail.sh sums over the whole kernel.
# Needs a build-gpu tree and ncu. Carry .deps. By default a decode step's attention (the first decode step's layer
# 5: SKIP is the prompt step's launches, one a layer, plus 5):
#   SHAPE=llama-2-7b INPUT=2048 scripts/gpu/kernel-source.sh
# Writes $out/source-TAG.csv (the whole page) and prints the instructions with the most samples. A launch of a few
# microseconds on a few SMs gets few samples (under a hundred for a 1.8B decode attention at 128 tokens), and idle
# warps' samples count too: timeline.sh's marks are the finer view there.
set -uo pipefail
source "$(dirname "$0")/setup-env.sh"
shape=${SHAPE:-internlm2-1_8b}
dir=$(bench_model "$shape")
kernel=${KERNEL:-tensor_core_attention_kernel}
layers=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['num_hidden_layers'])" "$dir/config.json")
tag=${TAG:-$kernel-$shape-${INPUT:-128}}
rep="$out/source-$tag"
# Caches as the step left them (q and the newest keys are in L2 in place); the clocks as they are.
LMRT_TM_CUDA_GRAPHS=0 "$ncu_bin" --clock-control none --cache-control none -k "regex:$kernel" \
  --launch-skip "${SKIP:-$((layers + 5))}" --launch-count 1 --section SourceCounters --section WarpStateStats \
  --section LaunchStats --import-source yes -f -o "$rep" \
  build-gpu/bin/lmrt bench generation "$dir" --backend turbomind-cuda-fp16 --dtype bfloat16 --batch "${BATCH:-1}" \
  --input "${INPUT:-128}" --output 3 --warmup 0 --max-batch-size 64 --session-len 4096 \
  --cache-max-entry-count 0.5 --log-level error > "$rep.log" 2>&1 || { tail -20 "$rep.log"; exit 1; }
"$ncu_bin" -i "$rep.ncu-rep" --page details > "$rep-details.txt" 2>&1
grep -vE '^\s*$|^  *-+ *-+|^==PROF==' "$rep-details.txt" | cut -c1-150 | head -60
"$ncu_bin" -i "$rep.ncu-rep" --page source --print-source sass --csv > "$rep.csv" 2>&1 ||
  { echo "no source page:"; head -5 "$rep.csv"; exit 1; }
python3 - "$rep.csv" "${TOP:-45}" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head = next(i for i, r in enumerate(rows) if any("Address" in c for c in r))
cols, body = rows[head], rows[head + 1:]
def col(name):
    return next((i for i, c in enumerate(cols) if name in c), None)
src, samp = col("Source"), col("Warp Stall Sampling (All")
num = lambda s: float(s.replace(",", "") or 0)
reasons = [i for i, c in enumerate(cols) if c.startswith("stall_") or "Stall Reason" in c]
total = sum(num(r[samp]) for r in body if len(r) > samp)
print(f"samples: {total:.0f}")
for i, r in sorted(enumerate(body), key=lambda x: -num(x[1][samp]) if len(x[1]) > samp else 0)[: int(sys.argv[2])]:
    top = sorted(((num(r[j]), cols[j]) for j in reasons if j < len(r) and num(r[j]) > 0), reverse=True)[:3]
    print(f"{i:5d} {num(r[samp]):6.0f} {100 * num(r[samp]) / max(total, 1):5.1f}%  {r[src][:60]:60s} "
          + ", ".join(f"{n}:{v:.0f}" for v, n in top))
EOF
