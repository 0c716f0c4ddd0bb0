"""ctypes mirrors of the structs and functions of sdk/include/lmrt/runtime.h (ABI 1.1; runtime.h has not changed since 1.0).

Field for field, in header order; tests/python/test_abi_layout.py holds these
layouts against the frozen offsets in sdk/include/lmrt/abi_layout.h.
"""
import ctypes
from ctypes import (CFUNCTYPE, POINTER, c_char_p, c_double, c_float, c_int32, c_uint32, c_uint64, c_void_p)

ABI_VERSION_MAJOR = 1
ABI_VERSION_MINOR = 1
ABI_VERSION = (ABI_VERSION_MAJOR << 16) | ABI_VERSION_MINOR
MAX_TOP_LOGPROBS = 20  # LMRT_MAX_TOP_LOGPROBS

# lmrt_input_kind
INPUT_TEXT = 0
INPUT_MESSAGES = 1
INPUT_TOKENS = 2

# lmrt_event_kind
EVENT_DELTA = 1
EVENT_FINISHED = 2

# lmrt_finish_reason, as the names Response.finish_reason uses
FINISH_REASONS = {0: None, 1: "stop", 2: "length", 3: "cancelled", 4: "error"}

# lmrt_log_level names accepted by the deployment's log_level key
LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "critical", "off")


class lmrt_str(ctypes.Structure):
    """A borrowed UTF-8 byte range (not necessarily NUL-terminated)."""
    _fields_ = [("data", c_void_p), ("size", c_uint64)]

    def to_bytes(self) -> bytes:
        return ctypes.string_at(self.data, self.size) if self.data and self.size else b""


class lmrt_token_logprobs(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("token", c_int32),
        ("logprob", c_float),
        ("num_top", c_uint32),
        ("top_tokens", c_int32 * MAX_TOP_LOGPROBS),
        ("top_logprobs", c_float * MAX_TOP_LOGPROBS),
    ]


class lmrt_message(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("reserved0", c_uint32),
        ("role", lmrt_str),
        ("content", lmrt_str),
    ]


class lmrt_gen_config(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("max_new_tokens", c_uint32),
        ("min_new_tokens", c_uint32),
        ("top_k", c_int32),
        ("temperature", c_float),
        ("top_p", c_float),
        ("min_p", c_float),
        ("repetition_penalty", c_float),
        ("presence_penalty", c_float),
        ("frequency_penalty", c_float),
        ("seed", c_uint64),
        ("has_seed", c_uint32),
        ("ignore_eos", c_uint32),
        ("skip_special_tokens", c_uint32),
        ("logprobs", c_uint32),
        ("top_logprobs", c_uint32),
        ("num_stop_words", c_uint32),
        ("stop_words", POINTER(lmrt_str)),
        ("num_stop_token_ids", c_uint32),
        ("reserved0", c_uint32),
        ("stop_token_ids", POINTER(c_int32)),
    ]


class lmrt_request_params(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("input_kind", c_uint32),
        ("text", lmrt_str),
        ("num_messages", c_uint32),
        ("num_tokens", c_uint32),
        ("messages", POINTER(lmrt_message)),
        ("tokens", POINTER(c_int32)),
        ("gen", POINTER(lmrt_gen_config)),
        ("session_id", c_uint64),
        ("end_session", c_uint32),
        ("reserved0", c_uint32),
    ]


class lmrt_event(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_uint32),
        ("request_id", c_uint64),
        ("text", lmrt_str),
        ("num_tokens", c_uint32),
        ("finish_reason", c_uint32),
        ("tokens", POINTER(c_int32)),
        ("logprobs", POINTER(lmrt_token_logprobs)),
        ("error_message", lmrt_str),
        ("input_tokens", c_uint32),
        ("output_tokens", c_uint32),
        ("cached_tokens", c_uint32),
        ("reserved0", c_uint32),
        ("queue_seconds", c_double),
        ("first_token_seconds", c_double),
        ("total_seconds", c_double),
    ]


# Opaque handles.
status_p = c_void_p
runtime_p = c_void_p

# Callbacks (ctypes keeps the GIL handling; the CFUNCTYPE objects must outlive the call).
event_callback = CFUNCTYPE(None, c_void_p, POINTER(lmrt_event))
text_sink = CFUNCTYPE(None, c_void_p, lmrt_str)
tokens_sink = CFUNCTYPE(None, c_void_p, POINTER(c_int32), c_uint32)

# The same entries as a table (lmrt_get_runtime_api), for loaders that prefer one symbol.
class lmrt_runtime_api(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("abi_version", c_uint32),
        ("status_get_code", CFUNCTYPE(ctypes.c_int, status_p)),
        ("status_get_message", CFUNCTYPE(c_char_p, status_p)),
        ("status_release", CFUNCTYPE(None, status_p)),
        ("gen_config_init", CFUNCTYPE(None, POINTER(lmrt_gen_config))),
        ("runtime_create", CFUNCTYPE(status_p, lmrt_str, c_char_p, c_char_p, POINTER(runtime_p))),
        ("runtime_destroy", CFUNCTYPE(None, runtime_p)),
        ("submit", CFUNCTYPE(status_p, runtime_p, POINTER(lmrt_request_params), event_callback, c_void_p,
                             POINTER(c_uint64))),
        ("next_event", CFUNCTYPE(status_p, runtime_p, c_uint64, c_int32, POINTER(lmrt_event), POINTER(c_int32))),
        ("release_request", CFUNCTYPE(None, runtime_p, c_uint64)),
        ("cancel", CFUNCTYPE(status_p, runtime_p, c_uint64)),
        ("end_session", CFUNCTYPE(status_p, runtime_p, c_uint64)),
        ("encode", CFUNCTYPE(status_p, runtime_p, lmrt_str, c_int32, tokens_sink, c_void_p)),
        ("decode", CFUNCTYPE(status_p, runtime_p, POINTER(c_int32), c_uint32, c_int32, text_sink, c_void_p)),
        ("apply_chat_template", CFUNCTYPE(status_p, runtime_p, POINTER(lmrt_message), c_uint32, text_sink,
                                          c_void_p)),
        ("info_json", CFUNCTYPE(status_p, runtime_p, text_sink, c_void_p)),
        ("stats_json", CFUNCTYPE(status_p, runtime_p, text_sink, c_void_p)),
    ]


# name: (restype, argtypes) of every function runtime.h exports.
FUNCTIONS = {
    "lmrt_status_get_code": (ctypes.c_int, [status_p]),
    "lmrt_status_get_message": (c_char_p, [status_p]),
    "lmrt_status_release": (None, [status_p]),
    "lmrt_gen_config_init": (None, [POINTER(lmrt_gen_config)]),
    "lmrt_runtime_create": (status_p, [lmrt_str, c_char_p, c_char_p, POINTER(runtime_p)]),
    "lmrt_runtime_destroy": (None, [runtime_p]),
    "lmrt_runtime_submit": (status_p, [runtime_p, POINTER(lmrt_request_params), event_callback, c_void_p,
                                       POINTER(c_uint64)]),
    "lmrt_runtime_next_event": (status_p, [runtime_p, c_uint64, c_int32, POINTER(lmrt_event), POINTER(c_int32)]),
    "lmrt_runtime_release_request": (None, [runtime_p, c_uint64]),
    "lmrt_runtime_cancel": (status_p, [runtime_p, c_uint64]),
    "lmrt_runtime_end_session": (status_p, [runtime_p, c_uint64]),
    "lmrt_runtime_encode": (status_p, [runtime_p, lmrt_str, c_int32, tokens_sink, c_void_p]),
    "lmrt_runtime_decode": (status_p, [runtime_p, POINTER(c_int32), c_uint32, c_int32, text_sink, c_void_p]),
    "lmrt_runtime_apply_chat_template": (status_p, [runtime_p, POINTER(lmrt_message), c_uint32, text_sink,
                                                    c_void_p]),
    "lmrt_runtime_info_json": (status_p, [runtime_p, text_sink, c_void_p]),
    "lmrt_runtime_stats_json": (status_p, [runtime_p, text_sink, c_void_p]),
    "lmrt_get_runtime_api": (POINTER(lmrt_runtime_api), [c_uint32]),
}


def make_str(data: bytes) -> lmrt_str:
    """An lmrt_str over `data`; the caller keeps `data` alive for as long as the struct is used."""
    s = lmrt_str()
    if data:
        s.data = ctypes.cast(ctypes.c_char_p(data), c_void_p)
        s.size = len(data)
    return s
