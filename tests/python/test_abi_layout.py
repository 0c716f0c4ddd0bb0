"""The ctypes mirrors (lmrt/_abi.py) against the frozen layouts of the C ABI (sdk/include/lmrt/abi_layout.h) and
the functions runtime.h declares; and liblmrt exports every one of them."""
import ctypes
import re

import pytest
from conftest import REPO

from lmrt import _abi
from lmrt._library import library

LAYOUT = (REPO / "sdk" / "include" / "lmrt" / "abi_layout.h").read_text()
RUNTIME_H = (REPO / "sdk" / "include" / "lmrt" / "runtime.h").read_text()

MIRRORED = ["lmrt_str", "lmrt_token_logprobs", "lmrt_message", "lmrt_gen_config", "lmrt_request_params", "lmrt_event",
            "lmrt_runtime_api"]


def frozen(struct: str):
    size = int(re.search(rf"LMRT_FROZEN_SIZE\({struct}, (\d+)\)", LAYOUT).group(1))
    offsets = [(f, int(o)) for f, o in re.findall(rf"LMRT_FROZEN_OFFSET\({struct}, (\w+), (\d+)\)", LAYOUT)]
    return size, offsets


@pytest.mark.parametrize("struct", MIRRORED)
def test_struct_matches_frozen_layout(struct):
    size, offsets = frozen(struct)
    assert offsets, f"abi_layout.h freezes no field of {struct}"
    cls = getattr(_abi, struct)
    assert ctypes.sizeof(cls) == size
    names = [f[0] for f in cls._fields_]
    assert names == [f for f, _ in offsets], "fields differ from the header's (names or order)"
    for field, off in offsets:
        assert getattr(cls, field).offset == off, f"{struct}.{field}"


def test_struct_size_comes_first():
    for struct in MIRRORED[1:]:  # lmrt_str is a plain value
        assert getattr(_abi, struct)._fields_[0] == ("struct_size", ctypes.c_uint32)


def test_constants_match_headers():
    abi_h = (REPO / "sdk" / "include" / "lmrt" / "abi.h").read_text()
    assert int(re.search(r"#define LMRT_ABI_VERSION_MAJOR (\d+)", abi_h).group(1)) == _abi.ABI_VERSION_MAJOR
    assert int(re.search(r"#define LMRT_ABI_VERSION_MINOR (\d+)", abi_h).group(1)) == _abi.ABI_VERSION_MINOR
    assert int(re.search(r"#define LMRT_MAX_TOP_LOGPROBS (\d+)", abi_h).group(1)) == _abi.MAX_TOP_LOGPROBS
    for name, value in [("LMRT_INPUT_TEXT", _abi.INPUT_TEXT), ("LMRT_INPUT_MESSAGES", _abi.INPUT_MESSAGES),
                        ("LMRT_INPUT_TOKENS", _abi.INPUT_TOKENS), ("LMRT_EVENT_DELTA", _abi.EVENT_DELTA),
                        ("LMRT_EVENT_FINISHED", _abi.EVENT_FINISHED)]:
        assert int(re.search(rf"{name} = (\d+)", RUNTIME_H).group(1)) == value, name
    reasons = {int(v): n.lower() for n, v in re.findall(r"LMRT_FINISH_(\w+) = (\d+)", RUNTIME_H)}
    assert {k: v for k, v in _abi.FINISH_REASONS.items() if v} == {k: v for k, v in reasons.items() if v != "none"}


def test_every_runtime_function_is_declared_and_exported():
    declared = set(re.findall(r"LMRT_API [^;(]*?\b(lmrt_\w+)\(", RUNTIME_H))
    assert declared == set(_abi.FUNCTIONS), "runtime.h and lmrt/_abi.py list different functions"
    lib = library()
    for name in declared:
        assert getattr(lib, name) is not None


def test_gen_config_init_fills_documented_defaults():
    c = _abi.lmrt_gen_config()
    library().lmrt_gen_config_init(ctypes.byref(c))
    assert c.struct_size == ctypes.sizeof(c)
    # runtime.h: temperature 0.8, top_p 1, top_k 0, min_p 0, repetition_penalty 1, max_new_tokens 512, skip 1.
    assert (c.max_new_tokens, c.top_k, c.skip_special_tokens) == (512, 0, 1)
    assert c.temperature == pytest.approx(0.8) and c.top_p == 1.0 and c.repetition_penalty == 1.0


def test_every_runtime_h_struct_is_mirrored():
    structs = set(re.findall(r"typedef struct (lmrt_\w+) \{", RUNTIME_H))
    assert structs <= set(MIRRORED), f"not mirrored: {structs - set(MIRRORED)}"


def test_runtime_api_table():
    lib = library()
    table = lib.lmrt_get_runtime_api(_abi.ABI_VERSION).contents
    assert table.struct_size == ctypes.sizeof(_abi.lmrt_runtime_api)
    assert table.abi_version == _abi.ABI_VERSION
    for name, _ in _abi.lmrt_runtime_api._fields_[2:]:
        assert getattr(table, name), f"lmrt_runtime_api.{name} is NULL"
    assert not lib.lmrt_get_runtime_api((_abi.ABI_VERSION_MAJOR + 1) << 16)  # another major: refused
