"""The pipeline from several threads at once, and its lifetime: context manager, close() while others generate."""
import gc
import os
import subprocess
import sys
import threading
import time
import weakref

from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import REPO

import lmrt
from lmrt import GenerationConfig, PipelineClosedError

PROMPTS = ["Once upon a time", "The cat", "Lily and Tom", "上海是", "A big dog", "Tim had a ball"]
G24 = GenerationConfig(max_new_tokens=24)


def test_concurrent_calls_equal_sequential_ones(pipe):
    expected = {p: pipe(p, G24).token_ids for p in PROMPTS}
    jobs = PROMPTS * 4

    def work(i):
        p = jobs[i]
        if i % 3 == 0:
            return p, [t for r in pipe.stream_infer(p, G24) for t in r.token_ids]
        if i % 3 == 1:
            return p, pipe.chat(p, gen_config=G24).response.token_ids
        return p, pipe(p, G24).token_ids

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(len(jobs))))
    for p, ids in results:
        assert ids == expected[p], p


def test_concurrent_batches(pipe):
    expected = [r.token_ids for r in pipe(PROMPTS, G24)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outs = list(pool.map(lambda _: [r.token_ids for r in pipe(PROMPTS, G24)], range(4)))
    assert outs == [expected] * 4


def test_close_while_other_threads_generate(model_path):
    p = lmrt.pipeline(model_path)
    outcomes = []
    started = threading.Barrier(4)

    def generate():
        started.wait()
        try:
            r = p("Once upon a time", GenerationConfig(max_new_tokens=None, ignore_eos=True))
            outcomes.append(r.finish_reason)
        except PipelineClosedError:
            outcomes.append("closed")

    threads = [threading.Thread(target=generate) for _ in range(3)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.05)
    p.close()
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "close() left a caller hanging"
    assert len(outcomes) == 3 and set(outcomes) <= {"cancelled", "closed", "length"}


def test_context_manager_closes(model_path):
    with lmrt.pipeline(model_path) as p:
        assert p("Once", GenerationConfig(max_new_tokens=2)).generate_token_len == 2
    assert p.closed
    with pytest.raises(PipelineClosedError):
        p("Once")


def test_context_manager_closes_on_error(model_path):
    with pytest.raises(KeyError):
        with lmrt.pipeline(model_path) as p:
            raise KeyError("boom")
    assert p.closed


def test_dropped_pipeline_is_freed(model_path):
    p = lmrt.pipeline(model_path)
    ref = weakref.ref(p.runtime)
    del p
    gc.collect()
    assert ref() is None


def test_exit_with_a_pipeline_still_generating(model_path):
    code = ("import lmrt, sys\n"
            f"p = lmrt.pipeline({model_path!r})\n"
            "s = p.stream_infer('Once upon a time', lmrt.GenerationConfig(max_new_tokens=None, ignore_eos=True))\n"
            "next(s)\nprint('bye')\n")
    env = dict(os.environ, PYTHONPATH=str(REPO / "sdk" / "python"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout == "bye\n", out.stderr


def test_abandoned_stream_does_not_block_close(model_path):
    p = lmrt.pipeline(model_path)
    stream = p.stream_infer("Once upon a time", GenerationConfig(max_new_tokens=400))
    next(stream)
    t0 = time.monotonic()
    p.close()
    assert time.monotonic() - t0 < 5
    with pytest.raises(PipelineClosedError):
        list(stream)


def finished(st) -> int:
    return sum(st["requests_finished"].values())


def wait_finished(pipe, before: dict, n: int, seconds=10.0) -> dict:
    """The stats once `n` more requests than in `before` have finished and nothing runs. The runtime publishes its
    counters after each step, so a snapshot taken right after a submit may not show the new requests yet: waiting
    for "idle" alone could return that stale snapshot."""
    deadline = time.monotonic() + seconds
    while True:
        st = pipe.runtime.stats()
        done = finished(st) - finished(before) >= n and st["running"] + st["waiting"] == 0
        if done or time.monotonic() > deadline:
            return st
        time.sleep(0.01)


def test_dropped_stream_that_never_started_is_cancelled(pipe):
    before = pipe.runtime.stats()
    stream = pipe.stream_infer(["Once upon a time"] * 4, GenerationConfig(max_new_tokens=None, ignore_eos=True))
    del stream
    gc.collect()
    st = wait_finished(pipe, before, 4)
    assert st["running"] + st["waiting"] == 0
    # cancelled, not run to the end
    assert st["requests_finished"]["cancelled"] - before["requests_finished"]["cancelled"] == 4


def test_stream_left_early_is_cancelled(pipe):
    before = pipe.runtime.stats()
    for piece in pipe.stream_infer(["Once upon a time"] * 3, GenerationConfig(max_new_tokens=None, ignore_eos=True)):
        break
    st = wait_finished(pipe, before, 3)
    assert st["running"] + st["waiting"] == 0
    assert st["requests_finished"]["cancelled"] - before["requests_finished"]["cancelled"] == 3
