#!/usr/bin/env python3
"""Trains lmrt-chat-tiny and writes it as a Hugging Face InternLM2 folder (docs/chat-model.md).

Needs torch, numpy and the sentencepiece module (runs on the GPU machine; CPU works, slowly).
Input: training/data/out/{train,eval}.jsonl from training/data/generate.py and the committed tokenizer in
training/tokenizer/. Output (--out): config.json, model.safetensors (fp16, InternLM2 names, fused wqkv),
tokenizer.model, tokenizer_config.json, generation_config.json.

What the model sees is exactly what lmrt feeds it at inference:
  - the conversation is rendered with lmrt's internlm2 template (core/src/chat/chat_template.cpp):
      "<s>" + for each message "<|im_start|>" + role + "\\n" + content + "<|im_end|>\\n"
      [+ "<|im_start|>assistant\\n" for the generation prompt]
    and lmrt inserts InternLM2's default system prompt when a conversation has none (training/data/
    default_system.txt; most training samples carry it, eval prompts get it here as lmrt adds it);
  - the text is tokenized the way lmrt's sentencepiece tokenizer does (core/src/tokenizer/
    sentencepiece_tokenizer.cpp, added_vocabulary.cpp): the special tokens (<s>, </s>, <unk> and
    tokenizer_config.json's added_tokens_decoder) are matched first, leftmost and longest first, and
    every plain segment between them is encoded by sentencepiece on its own.
The loss is on assistant tokens only (each answer and its <|im_end|>).
"""
import argparse
import json
import math
import os
import random
import re
import shutil
import struct
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------- tokenizer and template (lmrt's rules)
class Tokenizer:
    def __init__(self, tok_dir):
        self.sp = spm.SentencePieceProcessor(model_file=os.path.join(tok_dir, "tokenizer.model"))
        with open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8") as f:
            cfg = json.load(f)
        self.added = {}
        for i in range(self.sp.get_piece_size()):
            if self.sp.is_control(i) or self.sp.is_unknown(i):
                self.added[self.sp.id_to_piece(i)] = i
        for k, v in cfg["added_tokens_decoder"].items():
            self.added[v["content"]] = int(k)
        self.vocab_size = max(self.sp.get_piece_size(), max(self.added.values()) + 1)
        # Python's regex alternation takes the first alternative that matches at the leftmost position:
        # with the longest first that is lmrt's "leftmost, longest first".
        alts = sorted(self.added, key=lambda c: (-len(c.encode("utf-8")), self.added[c]))
        self.split_re = re.compile("(" + "|".join(re.escape(a) for a in alts) + ")")
        self.special_ids = set(self.added.values())
        self.memo = {}
        self.im_end = self.added["<|im_end|>"]
        self.eos_ids = {self.added["<|im_end|>"], self.added["</s>"]}

    def encode(self, text):
        ids = []
        for i, seg in enumerate(self.split_re.split(text)):
            if i % 2 == 1:
                ids.append(self.added[seg])
            elif seg:
                got = self.memo.get(seg)
                if got is None:
                    got = self.sp.encode(seg)
                    if len(self.memo) < 200000:
                        self.memo[seg] = got
                ids.extend(got)
        return ids

    def decode(self, ids):
        return self.sp.decode([i for i in ids if i not in self.special_ids and i < self.sp.get_piece_size()])


def read_default_system():
    with open(os.path.join(ROOT, "training", "data", "default_system.txt"), encoding="utf-8") as f:
        return f.read()


def turn(role, content):
    return "<|im_start|>" + role + "\n" + content + "<|im_end|>\n"


def render_prompt(messages, default_system):
    """lmrt's internlm2 render(messages, add_generation_prompt=true), default system included."""
    out = "<s>"
    if not messages or messages[0]["role"] != "system":
        out += turn("system", default_system)
    for m in messages:
        out += turn(m["role"], m["content"])
    return out + "<|im_start|>assistant\n"


def encode_training(tok, messages):
    """Token ids of the rendered conversation (as given: no system is added) and the loss mask."""
    parts = ["<s>"]
    targets = [False]
    for m in messages:
        if m["role"] == "assistant":
            parts += ["<|im_start|>assistant\n", m["content"] + "<|im_end|>", "\n"]
            targets += [False, True, False]
        else:
            parts.append(turn(m["role"], m["content"]))
            targets.append(False)
    ids, mask = [], []
    for p, t in zip(parts, targets):
        e = tok.encode(p)
        ids += e
        mask += [t] * len(e)
    return ids, mask, "".join(parts)


# ---------------------------------------------------------------- the model (Llama-style, InternLM2 layout)
class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.k, self.d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        hid, inter = c["hidden_size"], c["intermediate_size"]
        self.attention_norm = RMSNorm(hid, c["rms_norm_eps"])
        self.wq = nn.Linear(hid, self.h * self.d, bias=False)
        self.wk = nn.Linear(hid, self.k * self.d, bias=False)
        self.wv = nn.Linear(hid, self.k * self.d, bias=False)
        self.wo = nn.Linear(self.h * self.d, hid, bias=False)
        self.ffn_norm = RMSNorm(hid, c["rms_norm_eps"])
        self.w1 = nn.Linear(hid, inter, bias=False)  # gate
        self.w3 = nn.Linear(hid, inter, bias=False)  # up
        self.w2 = nn.Linear(inter, hid, bias=False)  # down

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        y = self.attention_norm(x)
        q = self.wq(y).view(b, t, self.h, self.d).transpose(1, 2)  # [b, h, t, d]
        k = self.wk(y).view(b, t, self.k, self.d).transpose(1, 2)
        v = self.wv(y).view(b, t, self.k, self.d).transpose(1, 2)
        q = (q * cos + rotate_half(q) * sin).to(v.dtype)
        k = (k * cos + rotate_half(k) * sin).to(v.dtype)
        rep = self.h // self.k  # query head i uses KV head i // rep (HF repeat_kv)
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        if hasattr(F, "scaled_dot_product_attention"):
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch < 2.0 (a CPU smoke test): the same causal softmax attention spelled out
            s = (q @ k.transpose(-1, -2)) / math.sqrt(self.d)
            s = s.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            a = s.float().softmax(-1).to(v.dtype) @ v
        x = x + self.wo(a.transpose(1, 2).reshape(b, t, self.h * self.d))
        y = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(y)) * self.w3(y))


class TinyLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.tok_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.output = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        d = c["head_dim"]
        inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        for n, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * c["num_hidden_layers"]) if n.endswith(("wo.weight", "w2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, ids):
        t = ids.shape[1]
        freqs = torch.outer(torch.arange(t, device=ids.device, dtype=torch.float32), self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]  # [1, 1, t, d], float32
        x = self.tok_embeddings(ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.output(self.norm(x))


# ---------------------------------------------------------------- export (Hugging Face InternLM2 folder)
def fuse_wqkv(wq, wk, wv, h, k, d):
    """InternLM2's wqkv: for each KV head g: the rows of its h/k query heads, then key head g, then value
    head g, each d rows (query head i = g * (h/k) + j belongs to KV head g)."""
    hid = wq.shape[1]
    q = wq.reshape(k, h // k, d, hid)
    kk = wk.reshape(k, 1, d, hid)
    vv = wv.reshape(k, 1, d, hid)
    return torch.cat([q, kk, vv], dim=1).reshape((h + 2 * k) * d, hid)


def unfuse_wqkv(w, h, k, d):
    hid = w.shape[1]
    g = w.reshape(k, h // k + 2, d, hid)
    return g[:, : h // k].reshape(h * d, hid), g[:, -2].reshape(k * d, hid), g[:, -1].reshape(k * d, hid)


def save_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().to(torch.float16).cpu().contiguous().numpy()
        b = a.tobytes()
        header[name] = {"dtype": "F16", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        s, t = e["data_offsets"]
        assert e["dtype"] == "F16"
        out[name] = torch.from_numpy(np.frombuffer(data[s:t], dtype=np.float16).reshape(e["shape"]).copy())
    return out


def export(model, c, tok_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    h, k, d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    t = {"model.tok_embeddings.weight": model.tok_embeddings.weight, "model.norm.weight": model.norm.weight,
         "output.weight": model.output.weight}
    for i, L in enumerate(model.layers):
        p = f"model.layers.{i}."
        t[p + "attention.wqkv.weight"] = fuse_wqkv(L.wq.weight, L.wk.weight, L.wv.weight, h, k, d)
        t[p + "attention.wo.weight"] = L.wo.weight
        t[p + "attention_norm.weight"] = L.attention_norm.weight
        t[p + "ffn_norm.weight"] = L.ffn_norm.weight
        t[p + "feed_forward.w1.weight"] = L.w1.weight
        t[p + "feed_forward.w3.weight"] = L.w3.weight
        t[p + "feed_forward.w2.weight"] = L.w2.weight
    save_safetensors(os.path.join(out_dir, "model.safetensors"), t)
    config = {
        "architectures": ["InternLM2ForCausalLM"], "model_type": "internlm2",
        "hidden_size": c["hidden_size"], "intermediate_size": c["intermediate_size"],
        "num_hidden_layers": c["num_hidden_layers"], "num_attention_heads": h, "num_key_value_heads": k,
        "vocab_size": c["vocab_size"], "max_position_embeddings": c["max_position_embeddings"],
        "rms_norm_eps": c["rms_norm_eps"], "rope_theta": c["rope_theta"], "rope_scaling": None,
        "hidden_act": "silu", "bias": False, "tie_word_embeddings": False, "torch_dtype": "float16",
        "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2, "attn_implementation": "eager",
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in ("tokenizer.model", "tokenizer_config.json", "generation_config.json"):
        shutil.copyfile(os.path.join(tok_dir, name), os.path.join(out_dir, name))


# ---------------------------------------------------------------- evaluation
def normalize_answer(s):
    """The accuracy rule (docs/chat-model.md; tests/chat_model does the same): lower case, runs of
    whitespace -> one space, outer whitespace and trailing . ! ? removed."""
    s = " ".join(s.lower().split())
    while s and s[-1] in ".!?":
        s = s[:-1].rstrip()
    return s


@torch.no_grad()
def greedy(model, prompts, eos_ids, max_new, device, batch=256):
    """Greedy answers; each row is right-padded, so causal attention never sees the padding."""
    model.eval()
    outs = [None] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    for s in range(0, len(order), batch):
        idx = order[s:s + batch]
        lens = torch.tensor([len(prompts[i]) for i in idx], device=device)
        buf = torch.zeros(len(idx), int(lens.max()) + max_new, dtype=torch.long, device=device)
        for r, i in enumerate(idx):
            buf[r, : len(prompts[i])] = torch.tensor(prompts[i], device=device)
        done = torch.zeros(len(idx), dtype=torch.bool, device=device)
        gen = [[] for _ in idx]
        rows = torch.arange(len(idx), device=device)
        for _ in range(max_new):
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = model(buf[:, : int(lens.max())])
            nxt = logits[rows, lens - 1].float().argmax(-1)
            for r, tkn in enumerate(nxt.tolist()):
                if not done[r]:
                    gen[r].append(tkn)
            buf[rows, lens] = torch.where(done, buf[rows, lens], nxt)
            done = done | torch.tensor([t in eos_ids for t in nxt.tolist()], device=device)
            lens = lens + (~done).long()
            if bool(done.all()):
                break
        for r, i in enumerate(idx):
            outs[i] = [t for t in gen[r] if t not in eos_ids]
    model.train()
    return outs


def evaluate(model, tok, rows, default_system, device, max_new=64):
    prompts = [tok.encode(render_prompt(r["messages"][:-1], default_system)) for r in rows]
    answers = greedy(model, prompts, tok.eos_ids, max_new, device)
    per_kind, wrong = {}, []
    for r, a in zip(rows, answers):
        text = tok.decode(a)
        ok = normalize_answer(text) == normalize_answer(r["messages"][-1]["content"])
        k = r.get("kind", "?")
        n, good = per_kind.get(k, (0, 0))
        per_kind[k] = (n + 1, good + ok)
        if not ok:
            wrong.append({"kind": k, "question": r["messages"][-2]["content"], "expected": r["messages"][-1]["content"],
                          "got": text})
    total = sum(n for n, _ in per_kind.values())
    right = sum(g for _, g in per_kind.values())
    return right / max(total, 1), per_kind, wrong


# ---------------------------------------------------------------- training
def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "training", "data", "out"))
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "training", "tokenizer"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "lmrt-chat-tiny"))
    ap.add_argument("--report", default="", help="write a JSON report (accuracy per kind, wrong answers) here")
    ap.add_argument("--encodings", default="", help="write rendered texts + token ids for lmrt's tokenizer check")
    ap.add_argument("--minutes", type=float, default=6.0, help="wall-clock limit of the training loop")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = time only)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=688)
    ap.add_argument("--max-len", type=int, default=1024, help="longest training sequence (= max_position_embeddings)")
    ap.add_argument("--batch", type=int, default=128, help="conversations per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--eval-every", type=float, default=60.0, help="seconds between quick evals")
    ap.add_argument("--eval-quick", type=int, default=300, help="eval conversations in a quick eval")
    a = ap.parse_args()

    random.seed(a.seed)
    np.random.seed(a.seed)
    torch.manual_seed(a.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__, flush=True)

    tok = Tokenizer(a.tokenizer)
    default_system = read_default_system()
    t0 = time.time()
    train_rows = read_jsonl(os.path.join(a.data, "train.jsonl"))
    eval_rows = read_jsonl(os.path.join(a.data, "eval.jsonl"))
    seqs, skipped, mismatched = [], 0, 0
    for n, r in enumerate(train_rows):
        ids, mask, text = encode_training(tok, r["messages"])
        if n < 2000 and tok.encode(text) != ids:  # the part-wise encoding must equal lmrt's whole-text one
            mismatched += 1
        if len(ids) > a.max_len:
            skipped += 1
            continue
        seqs.append((np.array(ids, dtype=np.int64), np.array(mask, dtype=bool)))
    lens = np.array([len(s[0]) for s in seqs])
    print(f"tokenized {len(seqs)} conversations in {time.time() - t0:.0f}s: {lens.sum()} tokens, mean {lens.mean():.0f}, "
          f"max {lens.max()}, skipped {skipped} longer than {a.max_len}; part-wise != whole encodings: "
          f"{mismatched} of 2000", flush=True)
    if mismatched:
        print("WARNING: part-wise encoding differs from the whole-text encoding for some conversations", flush=True)

    if a.encodings:  # rendered prompts and lmrt-style ids for tests/chat_model (lmrt must get the same ids)
        with open(a.encodings, "w", encoding="utf-8") as f:
            for r in eval_rows[:100] + train_rows[:100]:
                msgs = r["messages"][:-1]
                text = render_prompt(msgs, default_system)
                f.write(json.dumps({"messages": msgs, "text": text, "ids": tok.encode(text)}, ensure_ascii=False) + "\n")

    c = {"hidden_size": a.hidden, "intermediate_size": a.intermediate, "num_hidden_layers": a.layers,
         "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads, "head_dim": a.hidden // a.heads,
         "vocab_size": tok.vocab_size, "max_position_embeddings": a.max_len, "rms_norm_eps": 1e-5,
         "rope_theta": 10000.0}
    assert a.hidden % a.heads == 0 and a.heads % a.kv_heads == 0 and c["head_dim"] % 2 == 0
    model = TinyLM(c).to(device)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"model: {nparams / 1e6:.2f}M parameters, config {c}", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "tok_embeddings" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "tok_embeddings" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8, **({"fused": True} if device.type == "cuda" else {}))
    rng = np.random.default_rng(a.seed)
    by_len = np.argsort(lens + rng.random(len(lens)), kind="stable")  # ties in random order
    quick = random.Random(a.seed).sample(eval_rows, min(a.eval_quick, len(eval_rows)))
    budget = a.minutes * 60.0
    start = time.time()
    last_eval = start
    step, tokens_seen, loss_avg = 0, 0, None
    while True:
        elapsed = time.time() - start
        if elapsed >= budget or (a.max_steps and step >= a.max_steps):
            break
        progress = elapsed / budget if not a.max_steps else max(elapsed / budget, step / a.max_steps)
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        # a window of the length-sorted order: rows of similar length, little padding
        j = int(rng.integers(0, max(1, len(seqs) - a.batch + 1)))
        pick = by_len[j:j + a.batch]
        t = int(max(len(seqs[i][0]) for i in pick))
        ids = np.zeros((a.batch, t), dtype=np.int64)
        labels = np.full((a.batch, t), -100, dtype=np.int64)
        for r, i in enumerate(pick):
            s, m = seqs[i]
            ids[r, : len(s)] = s
            lab = np.where(m, s, -100)
            labels[r, : len(s) - 1] = lab[1:]  # position p predicts token p+1
        ids_t = torch.from_numpy(ids).to(device, non_blocking=True)
        lab_t = torch.from_numpy(labels).to(device, non_blocking=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = model(ids_t)
        loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), lab_t.view(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens_seen += int((ids != 0).sum())
        lv = float(loss) if step % 50 == 0 or step < 5 else None
        if lv is not None:
            loss_avg = lv if loss_avg is None else 0.9 * loss_avg + 0.1 * lv
        if step % 200 == 0:
            print(f"step {step} {time.time() - start:.0f}s lr {lr:.2e} loss {lv:.4f} (avg {loss_avg:.4f}) "
                  f"{tokens_seen / (time.time() - start) / 1e3:.0f}k tok/s", flush=True)
        if time.time() - last_eval >= a.eval_every:
            acc, _, wrong = evaluate(model, tok, quick, default_system, device)
            print(f"step {step}: quick eval {acc * 100:.1f}% of {len(quick)}; e.g. wrong: {wrong[:2]}", flush=True)
            last_eval = time.time()
    print(f"trained {step} steps in {time.time() - start:.0f}s, {tokens_seen / 1e6:.1f}M tokens", flush=True)

    acc, per_kind, wrong = evaluate(model, tok, eval_rows, default_system, device)
    print(f"eval (greedy, exact after normalization): {acc * 100:.2f}% of {len(eval_rows)}", flush=True)
    for k in sorted(per_kind):
        n, g = per_kind[k]
        print(f"  {k:24s} {g:5d}/{n:<5d} {100 * g / n:6.1f}%")
    for w in wrong[:40]:
        print("  wrong:", json.dumps(w, ensure_ascii=False))

    export(model.float(), c, a.tokenizer, a.out)
    # The export must round-trip: unfuse wqkv (lmrt's rule) and compare logits with the trained model.
    back = load_safetensors(os.path.join(a.out, "model.safetensors"))
    ref = TinyLM(c).to(device)
    h, k, d = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    with torch.no_grad():
        ref.tok_embeddings.weight.copy_(back["model.tok_embeddings.weight"])
        ref.norm.weight.copy_(back["model.norm.weight"])
        ref.output.weight.copy_(back["output.weight"])
        for i, L in enumerate(ref.layers):
            p = f"model.layers.{i}."
            wq, wk, wv = unfuse_wqkv(back[p + "attention.wqkv.weight"], h, k, d)
            L.wq.weight.copy_(wq); L.wk.weight.copy_(wk); L.wv.weight.copy_(wv)
            L.wo.weight.copy_(back[p + "attention.wo.weight"])
            L.attention_norm.weight.copy_(back[p + "attention_norm.weight"])
            L.ffn_norm.weight.copy_(back[p + "ffn_norm.weight"])
            L.w1.weight.copy_(back[p + "feed_forward.w1.weight"])
            L.w3.weight.copy_(back[p + "feed_forward.w3.weight"])
            L.w2.weight.copy_(back[p + "feed_forward.w2.weight"])
        x = torch.tensor([tok.encode(render_prompt(eval_rows[0]["messages"][:-1], default_system))], device=device)
        model.eval()
        diff = (model(x).float() - ref(x).float()).abs().max().item()
    print(f"export round trip: max |logit difference| fp32 vs fp16 file = {diff:.4f}", flush=True)
    acc16, _, _ = evaluate(ref, tok, quick, default_system, device)
    print(f"fp16 export quick eval: {acc16 * 100:.1f}% of {len(quick)}", flush=True)
    if a.report:
        with open(a.report, "w", encoding="utf-8") as f:
            json.dump({"accuracy": acc, "eval_items": len(eval_rows), "fp16_quick_accuracy": acc16,
                       "per_kind": {k: {"n": n, "right": g} for k, (n, g) in per_kind.items()},
                       "steps": step, "seconds": time.time() - start, "tokens": tokens_seen, "parameters": nparams,
                       "config": c, "args": vars(a), "round_trip_max_logit_diff": diff, "wrong": wrong[:200]},
                      f, indent=1, ensure_ascii=False)
    print(f"wrote {a.out}: " + " ".join(f"{n} ({os.path.getsize(os.path.join(a.out, n))} B)" for n in sorted(os.listdir(a.out))))


if __name__ == "__main__":
    main()
