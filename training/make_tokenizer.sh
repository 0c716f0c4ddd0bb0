#!/usr/bin/env bash
# Trains lmrt-chat-tiny's tokenizer with Debian's spm_train (package sentencepiece) and writes
# training/tokenizer/: tokenizer.model, tokenizer_config.json, generation_config.json.
#
# Layout (as InternLM2 has it): <unk>=0, <s>=1, </s>=2, sentencepiece pieces up to 1993 (BPE, byte fallback,
# digits split, identity normalization, no dummy prefix, whitespace kept), then the six InternLM2 special
# tokens at the END of the vocabulary as tokenizer_config.json added tokens:
#   1994 <|plugin|>  1995 <|interpreter|>  1996 <|action_end|>  1997 <|action_start|>  1998 <|im_end|>  1999 <|im_start|>
# so the vocabulary is 2000. The chat_template is InternLM2's Jinja text, so lmrt detects `internlm2`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seed="${SEED:-1234}"
out="$here/tokenizer"
if [[ ! -f "$here/data/out/spm_text.txt" ]]; then python3 "$here/data/generate.py" --seed "$seed"; fi
mkdir -p "$out"
# relative paths: spm_train records them in the model, and the bytes should not depend on where this runs
cd "$here"
tmp=tokenizer/.tmp
mkdir -p "$tmp"
trap 'rm -rf "$here/$tmp"' EXIT
spm_train --input=data/out/spm_text.txt --model_prefix="$tmp/sp" --model_type=bpe --vocab_size=1994 \
  --byte_fallback=true --split_digits=true --character_coverage=1.0 --normalization_rule_name=identity \
  --add_dummy_prefix=false --remove_extra_whitespaces=false --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --input_sentence_size=0 --shuffle_input_sentence=false --max_sentence_length=8192 --num_threads=2 \
  --minloglevel=1 >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
cp "$tmp/sp.model" "$out/tokenizer.model"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
# InternLM2's tokenizer_config.json, with the special tokens moved to the end of this 2000-token vocabulary.
tok = lambda c: {"content": c, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                 "special": True}
specials = ["<|plugin|>", "<|interpreter|>", "<|action_end|>", "<|action_start|>", "<|im_end|>", "<|im_start|>"]
decoder = {"0": tok("<unk>"), "1": tok("<s>"), "2": tok("</s>")}
for i, s in enumerate(specials):
    decoder[str(1994 + i)] = tok(s)
cfg = {
    "add_bos_token": True,
    "add_eos_token": False,
    "added_tokens_decoder": decoder,
    "additional_special_tokens": ["<|im_start|>", "<|im_end|>", "<|action_start|>", "<|action_end|>",
                                  "<|interpreter|>", "<|plugin|>"],
    "bos_token": "<s>",
    # InternLM2-chat's template, byte for byte (../shared/testdata/tokenizers/internlm2/tokenizer_config.json)
    "chat_template": "{{ bos_token }}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
                     "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
                     "{{ '<|im_start|>assistant\n' }}{% endif %}",
    "clean_up_tokenization_spaces": False,
    "eos_token": "</s>",
    "model_max_length": 1024,
    "pad_token": "</s>",
    "tokenizer_class": "InternLM2Tokenizer",
    "unk_token": "<unk>",
}
with open(f"{out}/tokenizer_config.json", "w") as f:
    json.dump(cfg, f, indent=2, ensure_ascii=False)
    f.write("\n")
with open(f"{out}/generation_config.json", "w") as f:
    json.dump({"bos_token_id": 1, "eos_token_id": [2, 1998], "pad_token_id": 2}, f, indent=2)
    f.write("\n")
PY
echo "wrote $out: $(ls "$out" | tr '\n' ' ')"
