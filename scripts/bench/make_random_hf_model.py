#!/usr/bin/env python3
"""Writes random-weight Hugging Face folders of real model shapes, for benchmarks.

    python3 scripts/bench/make_random_hf_model.py --shape internlm2-1_8b --out /tmp/m18 --tokenizer DIR

Weights are N(0, 0.02) (norms 1) in bfloat16, made on the GPU with a fixed seed, written as a
LlamaForCausalLM folder (InternLM2 is the same math; transformers can load it without remote
code), or Qwen2ForCausalLM for qwen2-7b (its q/k/v biases), with the tokenizer files copied from
--tokenizer (its vocabulary must not exceed the shape's: the internlm2 one serves qwen2-7b, whose
prompts are random ids anyway). Shapes follow the published configs.
"""
import argparse
import json
import os
import shutil

import torch
from safetensors.torch import save_file

SHAPES = {
    # internlm2-chat-1_8b: hidden 2048, 24 layers, 16 heads, 8 KV heads, intermediate 8192, vocab 92544
    "internlm2-1_8b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=16,
                           num_key_value_heads=8, vocab_size=92544, rope_theta=1000000.0, max_position_embeddings=32768),
    # internlm2-chat-7b: hidden 4096, 32 layers, 32 heads, 8 KV heads, intermediate 14336, vocab 92544
    "internlm2-7b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=8, vocab_size=92544, rope_theta=1000000.0, max_position_embeddings=32768),
    # llama-2-7b: hidden 4096, 32 layers, 32 heads (MHA), intermediate 11008, vocab 32000
    "llama-2-7b": dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                       num_key_value_heads=32, vocab_size=32000, rope_theta=10000.0, max_position_embeddings=4096),
    # qwen2-7b: hidden 3584, 28 layers, 28 heads, 4 KV heads, intermediate 18944, vocab 152064, q/k/v biases
    "qwen2-7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                     num_key_value_heads=4, vocab_size=152064, rope_theta=1000000.0, max_position_embeddings=32768),
}
# Shapes written as Qwen2ForCausalLM (q/k/v biases); the others as LlamaForCausalLM.
QWEN2 = {"qwen2-7b"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.model / tokenizer_config.json")
    args = ap.parse_args()
    c = SHAPES[args.shape]
    H, I, L, V = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"], c["vocab_size"]
    hd = H // c["num_attention_heads"]
    Q, KV = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    g = torch.Generator(device="cuda").manual_seed(0)

    def rnd(*shape):
        return (torch.randn(*shape, generator=g, device="cuda", dtype=torch.float32) * 0.02).to(torch.bfloat16).cpu()

    sd = {"model.embed_tokens.weight": rnd(V, H), "model.norm.weight": torch.ones(H, dtype=torch.bfloat16),
          "lm_head.weight": rnd(V, H)}
    for n in range(L):
        p = f"model.layers.{n}."
        sd[p + "self_attn.q_proj.weight"] = rnd(Q, H)
        sd[p + "self_attn.k_proj.weight"] = rnd(KV, H)
        sd[p + "self_attn.v_proj.weight"] = rnd(KV, H)
        sd[p + "self_attn.o_proj.weight"] = rnd(H, Q)
        if args.shape in QWEN2:
            sd[p + "self_attn.q_proj.bias"] = rnd(Q)
            sd[p + "self_attn.k_proj.bias"] = rnd(KV)
            sd[p + "self_attn.v_proj.bias"] = rnd(KV)
        sd[p + "mlp.gate_proj.weight"] = rnd(I, H)
        sd[p + "mlp.up_proj.weight"] = rnd(I, H)
        sd[p + "mlp.down_proj.weight"] = rnd(H, I)
        sd[p + "input_layernorm.weight"] = torch.ones(H, dtype=torch.bfloat16)
        sd[p + "post_attention_layernorm.weight"] = torch.ones(H, dtype=torch.bfloat16)
    os.makedirs(args.out, exist_ok=True)
    save_file(sd, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    if args.shape in QWEN2:
        arch = dict(architectures=["Qwen2ForCausalLM"], model_type="qwen2", rms_norm_eps=1e-6,
                    use_sliding_window=False)
    else:
        arch = dict(architectures=["LlamaForCausalLM"], model_type="llama", rms_norm_eps=1e-5,
                    attention_bias=False, mlp_bias=False)
    config = dict(c, **arch, hidden_act="silu", tie_word_embeddings=False, torch_dtype="bfloat16",
                  bos_token_id=1, eos_token_id=2, pad_token_id=0)
    json.dump(config, open(os.path.join(args.out, "config.json"), "w"), indent=2)
    json.dump({"bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0},
              open(os.path.join(args.out, "generation_config.json"), "w"))
    for f in os.listdir(args.tokenizer):
        shutil.copy(os.path.join(args.tokenizer, f), args.out)
    print(f"{args.shape}: {sum(t.numel() for t in sd.values()) / 1e9:.2f} B parameters -> {args.out}")


if __name__ == "__main__":
    main()
