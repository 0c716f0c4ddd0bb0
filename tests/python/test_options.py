"""Options are checked in Python, before anything loads, and the deployment they make means what they say
(checked by the lmrt executable's own parser, `lmrt config print`)."""
import os
import subprocess

import pytest
import yaml  # python3-yaml: an independent YAML parser
import lmrt
from lmrt import ChatTemplateConfig, EngineConfig, GenerationConfig, TurbomindEngineConfig


@pytest.mark.parametrize("kwargs, error, words", [
    ({"max_new_tokens": "64"}, TypeError, "GenerationConfig.max_new_tokens: expected an int"),
    ({"max_new_tokens": -1}, ValueError, "GenerationConfig.max_new_tokens: -1 is out of range"),
    ({"max_new_tokens": 1.5}, TypeError, "max_new_tokens"),
    ({"do_sample": 1}, TypeError, "GenerationConfig.do_sample: expected a bool"),
    ({"top_p": 0.0}, ValueError, "GenerationConfig.top_p: 0.0 is out of range; expected (0.0, 1.0]"),
    ({"top_p": 1.5}, ValueError, "top_p"),
    ({"top_k": -1}, ValueError, "GenerationConfig.top_k: -1 is out of range"),
    ({"min_p": 2}, ValueError, "GenerationConfig.min_p"),
    ({"temperature": -0.1}, ValueError, "GenerationConfig.temperature: -0.1 is out of range"),
    ({"temperature": float("nan")}, ValueError, "not a finite number"),
    ({"temperature": "hot"}, TypeError, "GenerationConfig.temperature: expected a number"),
    ({"repetition_penalty": 0}, ValueError, "GenerationConfig.repetition_penalty"),
    ({"presence_penalty": 3}, ValueError, "presence_penalty"),
    ({"random_seed": -5}, ValueError, "GenerationConfig.random_seed"),
    ({"random_seed": 2**64}, ValueError, "random_seed"),
    ({"stop_words": "end"}, TypeError, "GenerationConfig.stop_words: expected a list of str"),
    ({"stop_words": ["ok", 3]}, TypeError, "GenerationConfig.stop_words[1]"),
    ({"stop_words": [""]}, ValueError, "GenerationConfig.stop_words[0]: must not be empty"),
    ({"stop_words": ["\ud800"]}, ValueError, "not valid UTF-8"),
    ({"stop_token_ids": [1, -2]}, ValueError, "GenerationConfig.stop_token_ids[1]"),
    ({"stop_token_ids": 2}, TypeError, "stop_token_ids"),
    ({"min_new_tokens": -1}, ValueError, "min_new_tokens"),
    ({"skip_special_tokens": "yes"}, TypeError, "skip_special_tokens"),
    ({"logprobs": 21}, ValueError, "GenerationConfig.logprobs: 21 is out of range; expected 0..20"),
    ({"max_tokens": 5}, TypeError, "max_tokens"),  # unknown option
])
def test_generation_config_rejects(kwargs, error, words):
    with pytest.raises(error, match=None) as e:
        GenerationConfig(**kwargs)
    assert words in str(e.value)


@pytest.mark.parametrize("cls", [TurbomindEngineConfig, EngineConfig])
@pytest.mark.parametrize("kwargs, error, words", [
    ({"cache_max_entry_count": 0}, ValueError, "cache_max_entry_count: 0 is out of range; expected (0.0, 1.0]"),
    ({"cache_max_entry_count": 1.5}, ValueError, "cache_max_entry_count"),
    ({"cache_max_entry_count": "0.5"}, TypeError, "cache_max_entry_count: expected a number"),
    ({"session_len": -1}, ValueError, "session_len: -1 is out of range"),
    ({"session_len": 4096.0}, TypeError, "session_len: expected an int"),
    ({"max_batch_size": 0}, ValueError, "max_batch_size: 0 is out of range; expected 1..4096"),
    ({"cache_block_seq_len": 100}, ValueError, "cache_block_seq_len: 100 is out of range; expected a power of two"),
    ({"cache_block_seq_len": 8}, ValueError, "cache_block_seq_len"),
    ({"enable_prefix_caching": 1}, TypeError, "enable_prefix_caching: expected a bool"),
    ({"quant_policy": 2}, ValueError, "quant_policy: 2 is not a valid choice; expected one of 0, 4, 8"),
    ({"model_format": "gguf"}, ValueError, "model_format: 'gguf' is not a valid choice; expected one of hf, awq"),
    ({"dtype": "fp16"}, ValueError, "dtype: 'fp16' is not a valid choice"),
    ({"tp": 0}, ValueError, "tp: 0 is out of range"),
    ({"backend": ""}, ValueError, "backend: must not be empty"),
    ({"backend": None}, TypeError, "backend: expected a str"),
    ({"max_prefill_token_num": 0}, ValueError, "max_prefill_token_num"),
    ({"rope_scaling_factor": -1.0}, ValueError, "rope_scaling_factor"),
    ({"sesion_len": 4096}, TypeError, "sesion_len"),  # unknown option
])
def test_engine_config_rejects(cls, kwargs, error, words):
    with pytest.raises(error) as e:
        cls(**kwargs)
    assert words in str(e.value)
    if error is not TypeError or "unexpected" not in str(e.value):
        assert str(e.value).startswith(cls.__name__ + ".")


def test_misspelt_attribute_is_an_error():
    c = TurbomindEngineConfig()
    with pytest.raises(AttributeError):
        c.sesion_len = 4096
    g = GenerationConfig()
    with pytest.raises(AttributeError):
        g.max_token = 3


def test_values_changed_after_construction_are_checked_again():
    c = TurbomindEngineConfig()
    c.session_len = "long"
    with pytest.raises(TypeError, match="session_len"):
        lmrt.deployment_yaml("/m", c)
    g = GenerationConfig()
    g.top_p = 7
    with pytest.raises(ValueError, match="top_p"):
        lmrt.runtime._GenConfigStruct(g)


def test_chat_template_config_rejects():
    with pytest.raises(ValueError, match="ChatTemplateConfig.model_name: 'chatml' is not a valid choice"):
        ChatTemplateConfig(model_name="chatml")
    with pytest.raises(TypeError, match="meta_instruction"):
        ChatTemplateConfig(model_name="raw", meta_instruction=5)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"model_path": 42}, TypeError, "model_path: expected a str or os.PathLike"),
    ({"model_path": b"/m"}, TypeError, "model_path"),
    ({"model_path": ""}, ValueError, "model_path: must not be empty"),
    ({"model_path": "/m", "log_level": "LOUD"}, ValueError, "log_level: 'LOUD' is not a valid choice"),
    ({"model_path": "/m", "log_level": 10}, TypeError, "log_level: expected a str"),
    ({"model_path": "/m", "backend_config": {"session_len": 5}}, TypeError,
     "backend_config: expected a TurbomindEngineConfig or EngineConfig"),
    ({"model_path": "/m", "chat_template_config": "raw"}, TypeError, "chat_template_config"),
    ({"model_path": "/m", "cache_max_entry_count": 0.5}, TypeError, "cache_max_entry_count"),  # unknown keyword
])
def test_pipeline_rejects_before_loading(kwargs, error, words):
    # /m does not exist: an error about the option (not about the model) shows it was caught in Python first.
    with pytest.raises(error) as e:
        lmrt.pipeline(**kwargs)
    assert words in str(e.value)


def config_print(lmrt_exe, text, tmp_path) -> dict:
    f = tmp_path / "deploy.yaml"
    f.write_text(text, encoding="utf-8")
    out = subprocess.run([lmrt_exe, "config", "print", "--config", str(f)], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return yaml.safe_load(out)


def test_deployment_yaml_means_what_the_options_say(lmrt_exe, tmp_path):
    backend = TurbomindEngineConfig(session_len=1024, max_batch_size=8, cache_max_entry_count=0.2,
                                    cache_block_seq_len=32, enable_prefix_caching=True, quant_policy=8, tp=2,
                                    model_format="awq", dtype="float16", backend="cpu", max_prefill_token_num=512,
                                    rope_scaling_factor=2.0, max_kv_blocks=100, num_threads=1, device_id=0)
    text = lmrt.deployment_yaml("some dir/模型 \"quoted\"", backend, ChatTemplateConfig(model_name="llama3"),
                                log_level="ERROR", model_name="served: name")
    assert yaml.safe_load(text)["model"]["path"].endswith('/some dir/模型 "quoted"')
    d = config_print(lmrt_exe, text, tmp_path)
    assert d["log_level"] == "error"
    assert d["model"]["path"] == os.path.abspath('some dir/模型 "quoted"')
    assert d["model"]["name"] == "served: name"
    assert d["model"]["format"] == "awq" and d["model"]["chat_template"] == "llama3"
    assert d["model"]["rope_scaling_factor"] == 2.0
    expected = {"backend": "cpu", "dtype": "float16", "session_len": 1024, "max_batch_size": 8,
                "cache_max_entry_count": 0.2, "cache_block_seq_len": 32, "enable_prefix_caching": True,
                "quant_policy": 8, "tp": 2, "max_prefill_token_num": 512, "max_kv_blocks": 100, "num_threads": 1,
                "device_id": 0}
    assert d["engine"] == expected


def test_default_deployment_keeps_engine_defaults(lmrt_exe, tmp_path):
    d = config_print(lmrt_exe, lmrt.deployment_yaml("/m"), tmp_path)
    e = d["engine"]
    assert (e["backend"], e["session_len"], e["max_batch_size"], e["cache_max_entry_count"]) == ("auto", 0, 128, 0.8)
    assert d["log_level"] == "warning"  # LMDeploy's pipeline default
