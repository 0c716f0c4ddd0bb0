#!/usr/bin/env python3
"""Times Hugging Face transformers on a model folder, the same static batches as
`lmrt bench generation` (random prompt ids, greedy, a fixed number of new tokens), and
measures the device's copy bandwidth and bf16 matrix rate for the floors. Prints one JSON object per line.

    python3 scripts/bench/transformers_generation.py MODEL --batch 1,16,64 --input 128,2048 --output 128 [--compile]

Decode per-token latency = (time of generate(output) - time of generate(1)) / (output - 1).
"eager" is transformers' default dynamic cache (SDPA attention); --compile adds static cache +
torch.compile(mode="reduce-overhead") (generate's own compile of the decode step where transformers has it,
model.forward compiled by hand before that) for the --compile-batch sizes (default 1,64: the issue's targets) at the
first input length (compilation is slow, so it runs last; each batch size compiles its own graphs).
"""
import argparse
import json
import time

import torch
from transformers import AutoModelForCausalLM


def hbm_gbps():
    x = torch.empty(2 << 30, dtype=torch.uint8, device="cuda")
    y = torch.empty_like(x)
    for _ in range(3):
        y.copy_(x)
    torch.cuda.synchronize()
    times = []
    for _ in range(10):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(); y.copy_(x); b.record(); b.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    times.sort()
    return 2 * x.numel() / times[len(times) // 2] / 1e9  # bytes read + written


def matrix_tflops(n=8192):
    """The dense bf16 rate cuBLAS reaches here (an n x n x n product), the prefill's floor."""
    a = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
    b = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    times = []
    for _ in range(10):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); a @ b; e.record(); e.synchronize()
        times.append(s.elapsed_time(e) / 1e3)
    times.sort()
    return 2 * n ** 3 / times[len(times) // 2] / 1e12


def timed_generate(model, ids, new_tokens, **kw):
    torch.cuda.synchronize()
    t = time.perf_counter()
    model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                   do_sample=False, pad_token_id=0, **kw)
    torch.cuda.synchronize()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", default="1,16,64")
    ap.add_argument("--input", default="128,2048")
    ap.add_argument("--output", type=int, default=128)
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--compile-batch", default="1,64")
    ap.add_argument("--bandwidth-only", action="store_true", help="print the copy bandwidth and matrix rate and stop")
    a = ap.parse_args()
    print(json.dumps({"hbm_gbps": hbm_gbps(), "matrix_tflops": matrix_tflops()}), flush=True)
    if a.bandwidth_only:
        return
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, device_map="cuda").eval()
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(1234)
    batches = [int(b) for b in a.batch.split(",")]
    inputs = [int(i) for i in a.input.split(",")]
    with torch.no_grad():
        timed_generate(model, torch.randint(3, vocab, (1, 16), generator=g).cuda(), 4)  # warm-up
        for n in inputs:
            for b in batches:
                ids = torch.randint(3, vocab, (b, n), generator=g).cuda()
                t1 = timed_generate(model, ids, 1)
                tn = timed_generate(model, ids, a.output)
                print(json.dumps({"mode": "eager", "batch": b, "input": n, "output": a.output, "ttft_s": t1,
                                  "token_ms": 1e3 * (tn - t1) / (a.output - 1), "output_tok_s": b * a.output / tn}),
                      flush=True)
        if a.compile:
            model.generation_config.cache_implementation = "static"
            if not hasattr(model, "_valid_auto_compile_criteria"):
                # Older transformers: compile the forward pass by hand (the recipe of its docs then).
                model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)
            # Newer ones compile the decode step themselves when the cache is static (generate's auto-compile,
            # reduce-overhead with CUDA graphs); compiling model.forward on top makes inductor skip CUDA graphs
            # ("mutated inputs") and then fail with "accessing tensor output of CUDAGraphs that has been
            # overwritten", as it did here with transformers' static cache.
            for b in [int(x) for x in a.compile_batch.split(",")]:
                ids = torch.randint(3, vocab, (b, inputs[0]), generator=g).cuda()
                for _ in range(2):
                    timed_generate(model, ids, a.output)  # compile + warm-up
                t1 = timed_generate(model, ids, 1)
                tn = timed_generate(model, ids, a.output)
                print(json.dumps({"mode": "static+compile", "batch": b, "input": inputs[0], "output": a.output,
                                  "ttft_s": t1, "token_ms": 1e3 * (tn - t1) / (a.output - 1),
                                  "output_tok_s": b * a.output / tn}), flush=True)


if __name__ == "__main__":
    main()
