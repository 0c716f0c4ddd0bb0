"""Generation through the pipeline, held against the published gold text, the lmrt executable, and itself
(batch against one by one, streamed against whole)."""
import math

import pytest
from conftest import gold, lmrt_generate

from lmrt import GenerationConfig, Response

GREEDY_32 = GenerationConfig(max_new_tokens=32)
PROMPTS = ["Once upon a time", "The cat", "Lily and Tom went to the park. They", "上海是", "A"]


def test_gold_once_upon_a_time(pipe):
    g = gold()
    r = pipe("Once upon a time", GenerationConfig(max_new_tokens=64))
    assert isinstance(r, Response)
    assert r.text == g["text_64"]
    assert r.token_ids[:len(g["first_ids"])] == g["first_ids"]
    assert (r.input_token_len, r.generate_token_len, r.finish_reason) == (len(g["prompt_ids"]), 64, "length")
    assert pipe.encode("Once upon a time") == g["prompt_ids"]
    assert pipe.decode(r.token_ids) == r.text


def test_batch_equals_one_by_one(pipe):
    batch = pipe(PROMPTS, GREEDY_32)
    assert [r.index for r in batch] == list(range(len(PROMPTS)))
    for prompt, b in zip(PROMPTS, batch):
        one = pipe(prompt, GREEDY_32)
        assert (b.text, b.token_ids, b.finish_reason, b.input_token_len) == \
               (one.text, one.token_ids, one.finish_reason, one.input_token_len), prompt


def test_batch_equals_lmrt_generate(pipe, lmrt_exe, model_path):
    ref = lmrt_generate(lmrt_exe, model_path, PROMPTS, 32)
    got = pipe(PROMPTS, GREEDY_32)
    assert [(r.text, r.token_ids, r.finish_reason) for r in got] == \
           [(r["text"], r["token_ids"], r["finish_reason"]) for r in ref]


def test_conversation_prompt_equals_text_prompt(pipe):
    # A base model's raw template renders a user message as its content.
    a = pipe([{"role": "user", "content": "Once upon a time"}], GREEDY_32)
    b = pipe("Once upon a time", GREEDY_32)
    c = pipe([[{"role": "user", "content": [{"type": "text", "text": "Once upon a time"}]}]], GREEDY_32)[0]
    d = pipe("Once upon a time", GREEDY_32, do_preprocess=False)
    assert a.token_ids == b.token_ids == c.token_ids == d.token_ids


def test_streaming_pieces_concatenate_to_the_whole(pipe):
    whole = pipe(PROMPTS[:3], GREEDY_32)
    pieces = list(pipe.stream_infer(PROMPTS[:3], GREEDY_32))
    for i, w in enumerate(whole):
        mine = [p for p in pieces if p.index == i]
        assert len(mine) > 2, "a stream yields partial responses as tokens arrive, not one at the end"
        assert "".join(p.text for p in mine) == w.text
        assert [t for p in mine for t in p.token_ids] == w.token_ids
        assert [p.finish_reason for p in mine[:-1]] == [None] * (len(mine) - 1)
        assert mine[-1].finish_reason == w.finish_reason
        lens = [p.generate_token_len for p in mine]
        assert lens == sorted(lens) and lens[-1] == w.generate_token_len


def test_streaming_yields_before_the_request_ends(pipe):
    stream = pipe.stream_infer("Once upon a time", GenerationConfig(max_new_tokens=200))
    first = next(stream)
    assert first.finish_reason is None and first.generate_token_len < 200
    stream.close()  # leaving early cancels the request; the pipeline stays usable
    assert pipe("Once upon a time", GenerationConfig(max_new_tokens=4)).token_ids == gold()["first_ids"][:4]


def test_stop_word_ends_the_text_before_it(pipe):
    g = gold()["text_64"]
    r = pipe("Once upon a time", GenerationConfig(max_new_tokens=64, stop_words=["Lily"]))
    assert r.finish_reason == "stop"
    assert r.text == g[:g.index("Lily")]


def test_stop_token_id(pipe):
    ids = gold()["first_ids"]
    r = pipe("Once upon a time", GenerationConfig(max_new_tokens=64, stop_token_ids=[ids[3]]))
    assert r.finish_reason == "stop"
    assert r.token_ids[:3] == ids[:3] and len(r.token_ids) <= 4


def test_max_new_tokens_none_runs_to_session_len(pipe):
    r = pipe("Once upon a time", GenerationConfig(max_new_tokens=None, ignore_eos=True))
    assert r.finish_reason == "length"
    assert r.input_token_len + r.generate_token_len == pipe.runtime.info()["session_len"] == 512


def test_logprobs(pipe):
    r = pipe("Once upon a time", GenerationConfig(max_new_tokens=8, logprobs=3))
    assert r.token_ids == gold()["first_ids"][:8]
    assert len(r.logprobs) == 8
    for tok, lp in zip(r.token_ids, r.logprobs):
        assert tok in lp and 3 <= len(lp) <= 4
        assert all(v <= 0 and math.isfinite(v) for v in lp.values())
        assert lp[tok] == max(lp.values())  # greedy picks the most likely token
    assert sum(math.exp(v) for v in r.logprobs[0].values()) <= 1.0 + 1e-5


def test_sampling_is_reproducible_with_a_seed(pipe):
    cfg = GenerationConfig(max_new_tokens=32, do_sample=True, temperature=1.0, top_k=0, random_seed=1234)
    a, b = pipe("Once upon a time", cfg), pipe("Once upon a time", cfg)
    assert a.token_ids == b.token_ids
    many = {tuple(pipe("Once upon a time", GenerationConfig(max_new_tokens=32, do_sample=True, temperature=1.5,
                                                           top_k=0, random_seed=s)).token_ids) for s in range(4)}
    assert len(many) > 1, "different seeds at temperature 1.5 all gave the same 32 tokens"


def test_per_prompt_gen_configs(pipe):
    rs = pipe(["Once upon a time", "Once upon a time"],
              [GenerationConfig(max_new_tokens=3), GenerationConfig(max_new_tokens=5)])
    assert [len(r.token_ids) for r in rs] == [3, 5]
    assert rs[1].token_ids[:3] == rs[0].token_ids


def test_empty_batch(pipe):
    assert pipe([]) == []


def test_chat_template_config_meta_instruction(model_path):
    # The raw template renders the system message, then the user's: together the gold prompt.
    from lmrt import ChatTemplateConfig, pipeline
    with pipeline(model_path, chat_template_config=ChatTemplateConfig("raw", meta_instruction="Once upon")) as p:
        assert p.runtime.info()["chat_template"] == "raw"
        r = p(" a time", GenerationConfig(max_new_tokens=64))
        assert r.text == gold()["text_64"]
        own_system = p([{"role": "system", "content": "Once"}, {"role": "user", "content": " upon a time"}],
                       GenerationConfig(max_new_tokens=64))
        assert own_system.text == gold()["text_64"]  # a conversation's own system message wins
