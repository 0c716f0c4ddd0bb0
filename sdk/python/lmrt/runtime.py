"""A thin, thread-safe object over one lmrt_runtime (runtime.h): create, submit, pull events, tokenizer
access, info and statistics, close. The pipeline is built on it; applications may use it directly.

Threading: every method may be called from any thread. close() cancels what runs, waits for calls in
progress to return, then destroys the runtime; later calls raise PipelineClosedError.
"""
import atexit
import ctypes
import json
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from . import _abi
from ._library import check, library
from .config import GenerationConfig
from .errors import LmrtError, PipelineClosedError

# How long one lmrt_runtime_next_event call may block: bounds how long close() waits for a puller.
_POLL_MS = 100


@dataclass
class Event:
    """One event of a request, copied out of the runtime (lmrt_event)."""
    kind: int
    text: str
    token_ids: List[int]
    logprobs: Optional[List[Dict[int, float]]]
    finish_reason: Optional[str]
    error_message: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int

    @property
    def finished(self) -> bool:
        return self.kind == _abi.EVENT_FINISHED


def _copy_event(ev: _abi.lmrt_event) -> Event:
    n = ev.num_tokens
    tokens = [ev.tokens[i] for i in range(n)] if n and ev.tokens else []
    logprobs = None
    if n and ev.logprobs:
        logprobs = []
        for i in range(n):
            lp = ev.logprobs[i]
            d = {lp.top_tokens[j]: float(lp.top_logprobs[j]) for j in range(min(lp.num_top, _abi.MAX_TOP_LOGPROBS))}
            d[lp.token] = float(lp.logprob)
            logprobs.append(d)
    return Event(kind=ev.kind, text=ev.text.to_bytes().decode("utf-8", "replace"), token_ids=tokens,
                 logprobs=logprobs, finish_reason=_abi.FINISH_REASONS.get(ev.finish_reason, "error"),
                 error_message=ev.error_message.to_bytes().decode("utf-8", "replace"),
                 input_tokens=ev.input_tokens, output_tokens=ev.output_tokens, cached_tokens=ev.cached_tokens)


def _message_array(messages: Sequence[dict], keep: list):
    """An lmrt_message array over `messages` ([{'role': str, 'content': str}]); `keep` holds the bytes."""
    arr = (_abi.lmrt_message * len(messages))()
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise ValueError(f"messages[{i}]: expected {{'role': str, 'content': str}}, got {m!r}")
        role, content = m["role"].encode("utf-8"), m["content"].encode("utf-8")
        keep += [role, content]
        arr[i].struct_size = ctypes.sizeof(_abi.lmrt_message)
        arr[i].role, arr[i].content = _abi.make_str(role), _abi.make_str(content)
    keep.append(arr)
    return arr


class _GenConfigStruct:
    """An lmrt_gen_config made from a GenerationConfig, with the arrays it points to kept alive."""

    def __init__(self, gen: GenerationConfig):
        gen.validate()
        lib = library()
        c = _abi.lmrt_gen_config()
        lib.lmrt_gen_config_init(ctypes.byref(c))
        c.struct_size = ctypes.sizeof(c)
        c.max_new_tokens = gen.max_new_tokens or 0  # None/0: up to session_len
        c.min_new_tokens = gen.min_new_tokens or 0
        if gen.do_sample:
            c.temperature = gen.temperature
            c.top_p = gen.top_p
            c.top_k = gen.top_k
            c.min_p = gen.min_p
        else:  # greedy, as LMDeploy's do_sample=False
            c.temperature, c.top_p, c.top_k, c.min_p = 0.0, 1.0, 0, 0.0
        c.repetition_penalty = gen.repetition_penalty
        c.presence_penalty = gen.presence_penalty
        c.frequency_penalty = gen.frequency_penalty
        if gen.random_seed is not None:
            c.seed, c.has_seed = gen.random_seed, 1
        c.ignore_eos = int(gen.ignore_eos)
        c.skip_special_tokens = int(gen.skip_special_tokens)
        if gen.logprobs is not None:
            c.logprobs, c.top_logprobs = 1, gen.logprobs
        self._words = [w.encode("utf-8") for w in gen.stop_words or []]
        if self._words:
            self._word_array = (_abi.lmrt_str * len(self._words))(*[_abi.make_str(w) for w in self._words])
            c.num_stop_words = len(self._words)
            c.stop_words = self._word_array
        ids = list(gen.stop_token_ids or [])
        if ids:
            self._id_array = (ctypes.c_int32 * len(ids))(*ids)
            c.num_stop_token_ids = len(ids)
            c.stop_token_ids = self._id_array
        self.struct = c


_live_runtimes: "weakref.WeakSet[Runtime]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # The scheduler thread must be joined before the interpreter (and liblmrt's statics) go away.
    for rt in list(_live_runtimes):
        try:
            rt.close()
        except Exception:
            pass


class Request:
    """A submitted request whose events are pulled (lmrt_runtime_next_event). Release it when done
    (release() cancels it if it still runs); a `with` block does that."""

    def __init__(self, runtime: "Runtime", request_id: int):
        self.runtime = runtime
        self.request_id = request_id
        self._released = False

    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, waiting up to `timeout` seconds (None: until one comes); None on time-out.
        After the FINISHED event it keeps returning that event."""
        if self._released:
            raise LmrtError(f"request {self.request_id} was released")
        return self.runtime._next_event(self, timeout)

    def events(self):
        """Yields events up to and including the FINISHED one."""
        while True:
            ev = self.next_event()
            yield ev
            if ev.finished:
                return

    def cancel(self) -> None:
        self.runtime.cancel(self.request_id)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.runtime._release(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def __del__(self):
        # A request dropped unreleased (say, a stream never iterated) is cancelled and forgotten.
        try:
            self.release()
        except Exception:
            pass


class Runtime:
    """One lmrt runtime made from a deployment document (YAML text)."""

    def __init__(self, deployment_yaml: str, origin: str = "<python>", base_dir: Optional[str] = None):
        lib = library()
        self._lib = lib
        data = deployment_yaml.encode("utf-8")
        handle = _abi.runtime_p()
        check(lib.lmrt_runtime_create(_abi.make_str(data), origin.encode("utf-8"),
                                      base_dir.encode("utf-8") if base_dir else None, ctypes.byref(handle)))
        self._handle = handle
        self._cond = threading.Condition()
        self._users = 0
        self._closed = False
        self._requests: set = set()  # ids of live pulled requests, cancelled by close()
        _live_runtimes.add(self)

    # ---- lifetime -----------------------------------------------------------------------------
    @contextmanager
    def _use(self):
        """Holds the runtime open for one C call."""
        with self._cond:
            if self._closed:
                raise PipelineClosedError()
            self._users += 1
        try:
            yield self._handle
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Cancels running requests, waits for calls in progress, destroys the runtime. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            for rid in list(self._requests):
                self._lib.lmrt_runtime_cancel(self._handle, rid)  # status ignored: closing anyway
            self._cond.wait_for(lambda: self._users == 0)
            handle, self._handle = self._handle, None
            self._requests.clear()
        self._lib.lmrt_runtime_destroy(handle)
        _live_runtimes.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    # ---- requests -----------------------------------------------------------------------------
    def submit(self, *, text: Optional[str] = None, messages: Optional[Sequence[dict]] = None,
               tokens: Optional[Sequence[int]] = None, gen: Optional[GenerationConfig] = None,
               session_id: int = 0, end_session: bool = False) -> Request:
        """Queues one request: exactly one of text (no chat template), messages ([{'role', 'content'}],
        rendered by the chat template) or tokens. gen=None takes the deployment's generation defaults."""
        if sum(x is not None for x in (text, messages, tokens)) != 1:
            raise ValueError("submit: give exactly one of text, messages or tokens")
        keep = []  # what the params point to
        p = _abi.lmrt_request_params()
        p.struct_size = ctypes.sizeof(p)
        if text is not None:
            data = text.encode("utf-8")
            keep.append(data)
            p.input_kind, p.text = _abi.INPUT_TEXT, _abi.make_str(data)
        elif messages is not None:
            arr = _message_array(messages, keep)
            p.input_kind, p.num_messages, p.messages = _abi.INPUT_MESSAGES, len(messages), arr
        else:
            ids = list(tokens)
            for t in ids:
                if isinstance(t, bool) or not isinstance(t, int) or not -2**31 <= t < 2**31:
                    raise ValueError(f"submit: token ids must be 32-bit ints, got {t!r}")
            arr = (ctypes.c_int32 * len(ids))(*ids)
            keep.append(arr)
            p.input_kind, p.num_tokens, p.tokens = _abi.INPUT_TOKENS, len(ids), arr
        if gen is not None:
            g = _GenConfigStruct(gen)
            keep.append(g)
            p.gen = ctypes.pointer(g.struct)
        p.session_id = session_id
        p.end_session = int(end_session)
        rid = ctypes.c_uint64()
        with self._use() as h:
            check(self._lib.lmrt_runtime_submit(h, ctypes.byref(p), _abi.event_callback(), None, ctypes.byref(rid)))
            with self._cond:
                self._requests.add(rid.value)
        return Request(self, rid.value)

    def _next_event(self, req: Request, timeout: Optional[float]) -> Optional[Event]:
        ev = _abi.lmrt_event()
        got = ctypes.c_int32(0)
        remaining_ms = None if timeout is None else max(0, int(timeout * 1000))
        while True:
            wait = _POLL_MS if remaining_ms is None else min(_POLL_MS, remaining_ms)
            with self._use() as h:
                check(self._lib.lmrt_runtime_next_event(h, req.request_id, wait, ctypes.byref(ev), ctypes.byref(got)))
                if got.value:
                    return _copy_event(ev)  # copied while the event's pointers are valid
            if remaining_ms is not None:
                remaining_ms -= wait
                if remaining_ms <= 0:
                    return None

    def _release(self, req: Request) -> None:
        with self._cond:
            if self._closed:
                return
            self._requests.discard(req.request_id)
        with self._use() as h:
            self._lib.lmrt_runtime_release_request(h, req.request_id)

    def cancel(self, request_id: int) -> None:
        with self._use() as h:
            check(self._lib.lmrt_runtime_cancel(h, request_id))

    def end_session(self, session_id: int) -> None:
        """Forgets an interactive session's history and frees its KV blocks."""
        with self._use() as h:
            check(self._lib.lmrt_runtime_end_session(h, session_id))

    # ---- tokenizer, template, info ------------------------------------------------------------
    def encode(self, text: str, add_special_tokens: bool = True) -> List[int]:
        out: List[int] = []

        def sink(_user, tokens, n):
            out.extend(tokens[i] for i in range(n))

        cb = _abi.tokens_sink(sink)
        data = text.encode("utf-8")
        with self._use() as h:
            check(self._lib.lmrt_runtime_encode(h, _abi.make_str(data), int(add_special_tokens), cb, None))
        return out

    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        ids = list(token_ids)
        arr = (ctypes.c_int32 * len(ids))(*ids)
        with self._use() as h:
            return self._text_call(self._lib.lmrt_runtime_decode, h, arr, len(ids), int(skip_special_tokens))

    def apply_chat_template(self, messages: Sequence[dict]) -> str:
        keep: list = []
        arr = _message_array(messages, keep)
        with self._use() as h:
            return self._text_call(self._lib.lmrt_runtime_apply_chat_template, h, arr, len(messages))

    def info(self) -> dict:
        """The model and deployment (docs/runtime-api.md): model_name, session_len, engine, device, ..."""
        with self._use() as h:
            return json.loads(self._text_call(self._lib.lmrt_runtime_info_json, h))

    def stats(self) -> dict:
        """Engine statistics: running, waiting, KV blocks, prefix-cache hits, tokens/s, request counters."""
        with self._use() as h:
            return json.loads(self._text_call(self._lib.lmrt_runtime_stats_json, h))

    @staticmethod
    def _text_call(fn, *args) -> str:
        parts: List[bytes] = []
        cb = _abi.text_sink(lambda _user, s: parts.append(s.to_bytes()))
        check(fn(*args, cb, None))
        return b"".join(parts).decode("utf-8", "replace")
