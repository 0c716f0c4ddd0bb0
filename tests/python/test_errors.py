"""Every error path: the runtime's errors arrive as LmrtError with its message and code; bad prompts and a closed
pipeline are clear Python errors; nothing crashes."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

import lmrt
from lmrt import GenerationConfig, LmrtError, PipelineClosedError, StatusCode, TurbomindEngineConfig


def test_missing_model(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(LmrtError) as e:
        lmrt.pipeline(str(missing))
    assert e.value.code == StatusCode.NOT_FOUND
    assert str(missing) in e.value.message and "does not exist" in e.value.message


def test_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(LmrtError) as e:
        lmrt.pipeline(tmp_path)  # os.PathLike works too
    assert e.value.code == StatusCode.NOT_FOUND and "config.json" in e.value.message


def test_malformed_config_json(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(LmrtError) as e:
        lmrt.pipeline(str(tmp_path))
    assert e.value.code == StatusCode.MODEL_ERROR and "config.json" in e.value.message


def test_model_with_missing_weights(tmp_path, model_path):
    for name in os.listdir(model_path):
        if not name.endswith(".safetensors"):
            (tmp_path / name).write_bytes((Path(model_path) / name).read_bytes())
    with pytest.raises(LmrtError) as e:
        lmrt.pipeline(str(tmp_path))
    assert "safetensors" in e.value.message


def test_unknown_backend(model_path):
    with pytest.raises(LmrtError) as e:
        lmrt.pipeline(model_path, backend_config=TurbomindEngineConfig(backend="no-such-engine"))
    assert e.value.code == StatusCode.NOT_FOUND and "'no-such-engine' not found" in e.value.message


def test_prompt_over_session_len(pipe):
    with pytest.raises(LmrtError) as e:
        pipe("x" * 3000)
    assert e.value.code == StatusCode.CAPACITY and "session_len 512" in e.value.message
    with pytest.raises(LmrtError, match=r"^prompts\[1\]: the prompt has"):
        pipe(["fine", "y" * 3000])
    assert pipe("Once", GenerationConfig(max_new_tokens=2)).generate_token_len == 2  # still usable


@pytest.mark.parametrize("prompts, error, words", [
    (5, TypeError, "prompts: expected a str, a list of messages or a list of those, got int 5"),
    ([["not", "messages"]], TypeError, "prompts[0]: expected a str or a list of messages"),
    ([{"role": "user"}], ValueError, "prompt[0]: a message has 'role' and 'content'"),
    ([{"role": "user", "content": 3}], TypeError, "prompt[0].content"),
    ([{"role": 1, "content": "hi"}], TypeError, "prompt[0].role"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x.jpg"}}]}], ValueError,
     "images are not supported yet"),
    (("describe", object()), ValueError, "(text, image) prompts are not supported yet"),
    (["ok", None], TypeError, "prompts[1]"),
])
def test_bad_prompts(pipe, prompts, error, words):
    with pytest.raises(error) as e:
        pipe(prompts)
    assert words in str(e.value)


def test_unknown_chat_role_is_the_runtimes_error(pipe):
    with pytest.raises(LmrtError) as e:
        pipe([{"role": "wizard", "content": "hi"}])
    assert "wizard" in e.value.message


def test_bad_call_arguments(pipe):
    with pytest.raises(ValueError, match="2 configs for 3 prompts"):
        pipe(["a", "b", "c"], [GenerationConfig(), GenerationConfig()])
    with pytest.raises(TypeError, match="gen_config"):
        pipe("a", {"max_new_tokens": 3})
    with pytest.raises(TypeError, match=r"gen_config\[1\]"):
        pipe(["a", "b"], [GenerationConfig(), 3])
    with pytest.raises(ValueError, match="adapter_name"):
        pipe("a", adapter_name="lora")
    with pytest.raises(ValueError, match="do_preprocess=False takes text prompts"):
        pipe([{"role": "user", "content": "hi"}], do_preprocess=False)
    with pytest.raises(TypeError, match="unexpected keyword"):
        pipe("a", max_new_tokens=3)


def test_bad_generation_values_set_after_construction(pipe):
    g = GenerationConfig(max_new_tokens=2)
    g.temperature = -1.0
    with pytest.raises(ValueError, match="GenerationConfig.temperature"):
        pipe("a", g)


def test_closed_pipeline(model_path):
    p = lmrt.pipeline(model_path)
    s = p.chat("Once", gen_config=GenerationConfig(max_new_tokens=2))
    p.close()
    p.close()  # idempotent
    assert p.closed
    for call in (lambda: p("hi"), lambda: p.stream_infer("hi"), lambda: p.chat("hi"),
                 lambda: p.chat("hi", session=s), lambda: p.encode("hi"), lambda: p.decode([1]),
                 lambda: p.runtime.info(), lambda: p.end_session(s)):
        with pytest.raises(PipelineClosedError, match="the pipeline is closed"):
            call()
    s.close()  # a no-op after the pipeline closed


def test_library_not_found(tmp_path):
    code = "import lmrt\ntry:\n    lmrt.pipeline('x')\nexcept lmrt.LibraryNotFoundError as e:\n    print('OK', e)"
    env = dict(os.environ, PYTHONPATH=str(REPO / "sdk" / "python"), LMRT_LIBRARY=str(tmp_path / "liblmrt.so"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("OK LMRT_LIBRARY=") and "no such file" in out.stdout


def test_library_that_is_not_lmrt(tmp_path):
    code = "import lmrt\ntry:\n    lmrt.pipeline('x')\nexcept lmrt.LibraryNotFoundError as e:\n    print('OK', e)"
    env = dict(os.environ, PYTHONPATH=str(REPO / "sdk" / "python"), LMRT_LIBRARY="/lib/x86_64-linux-gnu/libm.so.6")
    if not os.path.exists(env["LMRT_LIBRARY"]):
        pytest.skip("no libm at the Debian path")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "does not export lmrt_" in out.stdout
