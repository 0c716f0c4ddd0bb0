"""Interactive chat: a session continues from its history in the runtime (reference: the whole history
submitted as token ids in one request), streams, and ends."""
import pytest

from lmrt import GenerationConfig, LmrtError, Session

G8 = GenerationConfig(max_new_tokens=8)
G12 = GenerationConfig(max_new_tokens=12)


def collect(pipe, tokens, gen):
    with pipe.runtime.submit(tokens=tokens, gen=gen) as req:
        events = list(req.events())
    return [t for e in events for t in e.token_ids], events[-1]


def test_session_continues_from_its_history(pipe):
    s = pipe.chat("Once upon a time", gen_config=G12)
    assert isinstance(s, Session) and s.response.finish_reason == "length"
    first = s.response
    s2 = pipe.chat(" The dog", session=s, gen_config=G12)
    assert s2 is s and len(s.history) == 2 and s.history[0] == ("Once upon a time", first.text)
    # Reference: the conversation so far as one prompt of token ids (turn one with BOS, turn two without).
    history = pipe.encode("Once upon a time") + first.token_ids + pipe.encode(" The dog", add_bos=False)
    ref_tokens, _ = collect(pipe, history, G12)
    assert s.response.token_ids == ref_tokens
    # ... which is not what the second prompt gives on its own.
    assert pipe.chat(" The dog", gen_config=G12).response.token_ids != ref_tokens
    s.close()


def test_closed_session_starts_over(pipe):
    s = pipe.chat("Once upon a time", gen_config=G8)
    first = s.response.token_ids
    s.close()
    assert pipe.chat("Once upon a time", session=s, gen_config=G8).response.token_ids == first


def test_chat_streams(pipe):
    whole = pipe.chat("Once upon a time", gen_config=G8).response
    s = pipe.new_session()
    pieces = list(pipe.chat("Once upon a time", session=s, gen_config=G8, stream_response=True))
    assert len(pieces) > 2
    assert "".join(p.text for p in pieces) == whole.text
    assert s.response.token_ids == whole.token_ids and s.history == [("Once upon a time", whole.text)]


def test_sessions_are_independent(pipe):
    a, b = pipe.new_session(), pipe.new_session()
    assert a.session_id != b.session_id
    ra = pipe.chat("Once upon a time", session=a, gen_config=G8).response
    rb = pipe.chat("Once upon a time", session=b, gen_config=G8).response
    assert ra.token_ids == rb.token_ids


def test_chat_rejects_bad_arguments(pipe):
    with pytest.raises(TypeError, match="session"):
        pipe.chat("hi", session=3)
    with pytest.raises(TypeError, match="gen_config"):
        pipe.chat("hi", gen_config={"max_new_tokens": 3})
    with pytest.raises(TypeError, match="prompt"):
        pipe.chat(42)


def test_one_request_at_a_time_per_session(pipe):
    s = pipe.new_session()
    stream = pipe.chat("Once upon a time", session=s, gen_config=GenerationConfig(max_new_tokens=300),
                       stream_response=True)
    next(stream)
    with pytest.raises(LmrtError, match="already has a request running") as e:
        pipe.chat("again", session=s, gen_config=G8)
    assert e.value.code.name == "ALREADY_EXISTS"
    stream.close()
