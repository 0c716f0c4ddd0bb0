#!/usr/bin/env python3
"""Live transformers references for the GPU engine tests (run on the GPU machine).

For each tiny fixture under tests/fixtures/models, rounds the weights to float16 and to
bfloat16 (what the GPU engine holds), runs transformers' float32 eager forward on the rounded
weights and writes <out>/<fixture>/logits-<dtype>.json in the format of the committed
logits.json (input_ids, logits per position, 32 greedy ids). tiny-internlm2 holds tiny-llama's
weights in InternLM2 layout (transformers has no InternLM2 class), so it reuses tiny-llama's.

    python3 scripts/gpu/transformers_reference.py --out build-gpu/gpu-reference
"""
import argparse
import importlib.util
import json
import os
import shutil

import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("fixtures", os.path.join(ROOT, "scripts", "fixtures", "make_model_fixtures.py"))
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)

FIXTURES = ["tiny-llama", "tiny-qwen2", "tiny-llama-rope-linear", "tiny-llama-rope-dynamic"]
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    src = os.path.join(ROOT, "tests", "fixtures", "models")
    for name in FIXTURES:
        d = os.path.join(src, name)
        ids = torch.tensor([json.load(open(os.path.join(d, "logits.json")))["input_ids"]])
        for dname, dt in DTYPES.items():
            model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager").eval()
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(p.to(dt).to(torch.float32))
            ref = fixtures.reference(model, ids)
            ref["note"] = f"weights rounded to {dname}; " + ref["note"]
            os.makedirs(os.path.join(args.out, name), exist_ok=True)
            with open(os.path.join(args.out, name, f"logits-{dname}.json"), "w") as f:
                json.dump(ref, f, separators=(",", ":"))
            print(f"{name} {dname}: greedy {ref['generated_ids'][:8]}...")
    shutil.rmtree(os.path.join(args.out, "tiny-internlm2"), ignore_errors=True)
    shutil.copytree(os.path.join(args.out, "tiny-llama"), os.path.join(args.out, "tiny-internlm2"))


if __name__ == "__main__":
    main()
