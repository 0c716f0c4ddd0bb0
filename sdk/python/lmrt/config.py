"""Options of a pipeline, with LMDeploy's names: GenerationConfig (per request, -> lmrt_gen_config),
EngineConfig / TurbomindEngineConfig (the deployment's `engine:` keys) and ChatTemplateConfig (`model.chat_template`).

Each checks its values when made and again when used (validate()), and raises TypeError or ValueError naming the
option; unknown option names are a TypeError (the classes have slots, so a misspelt attribute fails too).
"""
from dataclasses import dataclass, fields
from typing import List, Optional

from . import _validate as v
from ._abi import MAX_TOP_LOGPROBS

UINT32_MAX = 2**32 - 1
INT32_MAX = 2**31 - 1

DTYPES = ("auto", "float32", "float16", "bfloat16")
MODEL_FORMATS = ("hf", "awq")
CHAT_TEMPLATES = ("auto", "raw", "internlm2", "llama2", "llama3", "qwen2", "vicuna")


@dataclass(slots=True)
class GenerationConfig:
    """How to generate, per request (LMDeploy's GenerationConfig).

    do_sample=False (the default) is greedy decoding whatever temperature/top_p/top_k say, as in LMDeploy.
    max_new_tokens=None generates up to the session length. logprobs=N reports, for each generated token,
    a dict {token_id: logprob} with the sampled token and the N most likely ones (0..20).
    """
    max_new_tokens: Optional[int] = 512
    do_sample: bool = False
    top_p: float = 1.0
    top_k: int = 50
    min_p: float = 0.0
    temperature: float = 0.8
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    ignore_eos: bool = False
    random_seed: Optional[int] = None
    stop_words: Optional[List[str]] = None
    stop_token_ids: Optional[List[int]] = None
    min_new_tokens: Optional[int] = None
    skip_special_tokens: bool = True
    logprobs: Optional[int] = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        o = "GenerationConfig"
        v.check_int(o, "max_new_tokens", self.max_new_tokens, 0, UINT32_MAX, optional=True)
        v.check_bool(o, "do_sample", self.do_sample)
        v.check_float(o, "top_p", self.top_p, 0.0, 1.0, lo_open=True)
        v.check_int(o, "top_k", self.top_k, 0, INT32_MAX)
        v.check_float(o, "min_p", self.min_p, 0.0, 1.0)
        v.check_float(o, "temperature", self.temperature, 0.0)
        v.check_float(o, "repetition_penalty", self.repetition_penalty, 0.0, lo_open=True)
        v.check_float(o, "presence_penalty", self.presence_penalty, -2.0, 2.0)
        v.check_float(o, "frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        v.check_bool(o, "ignore_eos", self.ignore_eos)
        v.check_int(o, "random_seed", self.random_seed, 0, 2**64 - 1, optional=True)
        if self.stop_words is not None:
            if isinstance(self.stop_words, (str, bytes)) or not isinstance(self.stop_words, (list, tuple)):
                raise TypeError(f"{o}.stop_words: expected a list of str, got {type(self.stop_words).__name__} "
                                f"{self.stop_words!r}")
            for i, w in enumerate(self.stop_words):
                v.check_str(o, f"stop_words[{i}]", w, nonempty=True)
        if self.stop_token_ids is not None:
            if not isinstance(self.stop_token_ids, (list, tuple)):
                raise TypeError(f"{o}.stop_token_ids: expected a list of int, got "
                                f"{type(self.stop_token_ids).__name__} {self.stop_token_ids!r}")
            for i, t in enumerate(self.stop_token_ids):
                v.check_int(o, f"stop_token_ids[{i}]", t, 0, INT32_MAX)
        v.check_int(o, "min_new_tokens", self.min_new_tokens, 0, UINT32_MAX, optional=True)
        v.check_bool(o, "skip_special_tokens", self.skip_special_tokens)
        v.check_int(o, "logprobs", self.logprobs, 0, MAX_TOP_LOGPROBS, optional=True)


@dataclass(slots=True)
class EngineConfig:
    """The deployment's engine (docs/configuration.md, `engine:`), backend-neutral.

    None leaves a key at the deployment's default (session_len: the model's max_position_embeddings;
    max_batch_size: 128). rope_scaling_factor and model_format go to the `model:` section.
    """
    backend: str = "auto"
    dtype: str = "auto"
    model_format: Optional[str] = None
    session_len: Optional[int] = None
    max_batch_size: Optional[int] = None
    cache_max_entry_count: float = 0.8
    cache_block_seq_len: int = 64
    enable_prefix_caching: bool = False
    quant_policy: int = 0
    tp: int = 1
    max_prefill_token_num: Optional[int] = None
    rope_scaling_factor: Optional[float] = None
    max_kv_blocks: Optional[int] = None
    num_threads: Optional[int] = None
    device_id: Optional[int] = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        o = type(self).__name__
        v.check_str(o, "backend", self.backend, nonempty=True)
        v.check_choice(o, "dtype", self.dtype, DTYPES)
        v.check_choice(o, "model_format", self.model_format, MODEL_FORMATS, optional=True)
        v.check_int(o, "session_len", self.session_len, 0, INT32_MAX, optional=True)
        v.check_int(o, "max_batch_size", self.max_batch_size, 1, 4096, optional=True)
        v.check_float(o, "cache_max_entry_count", self.cache_max_entry_count, 0.0, 1.0, lo_open=True)
        bsl = self.cache_block_seq_len
        v.check_int(o, "cache_block_seq_len", bsl, 16, 1024, what="a power of two in 16..1024")
        if bsl & (bsl - 1):
            raise ValueError(f"{o}.cache_block_seq_len: {bsl} is out of range; expected a power of two in 16..1024")
        v.check_bool(o, "enable_prefix_caching", self.enable_prefix_caching)
        v.check_int(o, "quant_policy", self.quant_policy)
        if self.quant_policy not in (0, 4, 8):
            raise ValueError(f"{o}.quant_policy: {self.quant_policy} is not a valid choice; expected one of 0, 4, 8")
        v.check_int(o, "tp", self.tp, 1, 64)
        v.check_int(o, "max_prefill_token_num", self.max_prefill_token_num, 1, 1048576, optional=True)
        v.check_float(o, "rope_scaling_factor", self.rope_scaling_factor, 0.0, optional=True)
        v.check_int(o, "max_kv_blocks", self.max_kv_blocks, 0, INT32_MAX, optional=True)
        v.check_int(o, "num_threads", self.num_threads, 0, INT32_MAX, optional=True)
        v.check_int(o, "device_id", self.device_id, 0, INT32_MAX, optional=True)

    def engine_keys(self) -> dict:
        """The `engine:` keys this config sets (None fields left out)."""
        skip = {"model_format", "rope_scaling_factor"}
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in skip and getattr(self, f.name) is not None}

    def model_keys(self) -> dict:
        """The `model:` keys this config sets."""
        out = {}
        if self.model_format is not None:
            out["format"] = self.model_format
        if self.rope_scaling_factor is not None:
            out["rope_scaling_factor"] = self.rope_scaling_factor
        return out


@dataclass(slots=True)
class TurbomindEngineConfig(EngineConfig):
    """LMDeploy's name for the engine options; the same fields as EngineConfig (backend "auto" picks the best
    engine plugin on this machine: the CUDA engine where there is one, else the cpu engine)."""


@dataclass(slots=True)
class ChatTemplateConfig:
    """Which chat template renders messages (`model.chat_template`): model_name is one of
    auto, raw, internlm2, llama2, llama3, qwen2, vicuna. meta_instruction, when set, is the system message
    of conversations that do not bring their own."""
    model_name: str = "auto"
    meta_instruction: Optional[str] = None

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        v.check_choice("ChatTemplateConfig", "model_name", self.model_name, CHAT_TEMPLATES)
        v.check_str("ChatTemplateConfig", "meta_instruction", self.meta_instruction, optional=True)
