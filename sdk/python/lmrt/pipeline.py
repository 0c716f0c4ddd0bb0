"""The pipeline (LMDeploy's `pipeline`): batch, streaming and chat over one runtime.

    from lmrt import pipeline
    pipe = pipeline('internlm2-chat-7b')
    print(pipe(['Hi, pls intro yourself', 'Shanghai is']))
"""
import itertools
import threading
from typing import Iterator, List, Optional, Sequence, Union

from .config import ChatTemplateConfig, EngineConfig, GenerationConfig
from .deployment import deployment_yaml
from .errors import LmrtError, PipelineClosedError
from .response import Response
from .runtime import Request, Runtime

Prompt = Union[str, List[dict]]


class Session:
    """An interactive chat (pipe.chat): the runtime keeps its history (tokens and KV) between turns.
    `response` is the last reply, `history` the (prompt, reply text) turns so far."""

    def __init__(self, pipe: "Pipeline", session_id: int):
        self.pipe = pipe
        self.session_id = session_id
        self.history: List[tuple] = []
        self.response: Optional[Response] = None

    def close(self) -> None:
        """Forgets the history and frees its KV blocks (a no-op once the pipeline is closed)."""
        if not self.pipe.closed:
            self.pipe.end_session(self)

    def __repr__(self) -> str:
        return f"Session(session_id={self.session_id}, turns={len(self.history)}, response={self.response!r})"


def _message_text(content, where: str) -> str:
    """A message's content as text: a str, or OpenAI-style parts of type 'text'."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind in ("image_url", "image", "image_data"):
                raise ValueError(f"{where}.content[{j}]: images are not supported yet (no vision plugin)")
            else:
                raise ValueError(f"{where}.content[{j}]: expected {{'type': 'text', 'text': str}}, got {part!r}")
        return "".join(texts)
    raise TypeError(f"{where}.content: expected a str or a list of parts, got {type(content).__name__} {content!r}")


def _check_messages(messages: Sequence, where: str) -> List[dict]:
    if not messages:
        raise ValueError(f"{where}: no messages")
    out = []
    for i, m in enumerate(messages):
        w = f"{where}[{i}]"
        if not isinstance(m, dict):
            raise TypeError(f"{w}: expected a message dict {{'role': ..., 'content': ...}}, got {m!r}")
        unknown = set(m) - {"role", "content", "name"}
        if "role" not in m or "content" not in m or unknown:
            raise ValueError(f"{w}: a message has 'role' and 'content' (got keys {sorted(m)})")
        if not isinstance(m["role"], str):
            raise TypeError(f"{w}.role: expected a str, got {m['role']!r}")
        out.append({"role": m["role"], "content": _message_text(m["content"], w)})
    return out


def _is_conversation(x) -> bool:
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(isinstance(m, dict) for m in x)


class Pipeline:
    """A deployed model. Callable with a prompt (str), a conversation ([{'role', 'content'}, ...]) or a list of
    either; returns a Response, or a list of them for a list. Safe to use from several threads at once.
    Close it (or use `with`) to free the model and the KV cache."""

    def __init__(self, model_path, backend_config: Optional[EngineConfig] = None,
                 chat_template_config: Optional[ChatTemplateConfig] = None, log_level: str = "WARNING",
                 model_name: Optional[str] = None):
        # Every option is checked here, in Python, before the runtime loads anything.
        self.deployment_yaml = deployment_yaml(model_path, backend_config, chat_template_config, log_level,
                                               model_name)
        self.backend_config = backend_config
        self.chat_template_config = chat_template_config
        self._runtime = Runtime(self.deployment_yaml, origin="<python pipeline>")
        self._session_ids = itertools.count(1)
        self._session_lock = threading.Lock()

    # ---- lifetime -----------------------------------------------------------------------------
    @property
    def runtime(self) -> Runtime:
        """The runtime underneath (tokenizer access, info, stats, raw requests)."""
        return self._runtime

    @property
    def closed(self) -> bool:
        return self._runtime.closed

    def close(self) -> None:
        """Stops what runs (those requests finish as 'cancelled') and frees the model. Idempotent."""
        self._runtime.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check_open(self) -> None:
        if self._runtime.closed:
            raise PipelineClosedError()

    # ---- inputs -------------------------------------------------------------------------------
    def _system_prompt(self) -> Optional[str]:
        c = self.chat_template_config
        return c.meta_instruction if c is not None else None

    def _request_input(self, prompt, where: str, do_preprocess: bool) -> dict:
        """The submit() arguments for one prompt."""
        if isinstance(prompt, str):
            if not do_preprocess:
                return {"text": prompt}
            messages = [{"role": "user", "content": prompt}]
        elif _is_conversation(prompt):
            if not do_preprocess:
                raise ValueError(f"{where}: do_preprocess=False takes text prompts, not messages")
            messages = _check_messages(prompt, where)
        elif isinstance(prompt, tuple) and len(prompt) == 2 and isinstance(prompt[0], str):
            raise ValueError(f"{where}: (text, image) prompts are not supported yet (no vision plugin)")
        else:
            raise TypeError(f"{where}: expected a str or a list of messages, got {type(prompt).__name__} {prompt!r}")
        system = self._system_prompt()
        if system and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": system}] + messages
        return {"messages": messages}

    @staticmethod
    def _split(prompts) -> tuple:
        """(list of prompts, whether one prompt was given)."""
        if isinstance(prompts, str) or _is_conversation(prompts) or (
                isinstance(prompts, tuple) and len(prompts) == 2 and isinstance(prompts[0], str)):
            return [prompts], True
        if isinstance(prompts, (list, tuple)):
            return list(prompts), False
        raise TypeError(f"prompts: expected a str, a list of messages or a list of those, got "
                        f"{type(prompts).__name__} {prompts!r}")

    @staticmethod
    def _gen_configs(gen_config, n: int) -> List[GenerationConfig]:
        if gen_config is None:
            return [GenerationConfig()] * n
        if isinstance(gen_config, GenerationConfig):
            gen_config.validate()
            return [gen_config] * n
        if isinstance(gen_config, (list, tuple)):
            if len(gen_config) != n:
                raise ValueError(f"gen_config: {len(gen_config)} configs for {n} prompts")
            for i, g in enumerate(gen_config):
                if not isinstance(g, GenerationConfig):
                    raise TypeError(f"gen_config[{i}]: expected a GenerationConfig, got {type(g).__name__} {g!r}")
                g.validate()
            return list(gen_config)
        raise TypeError(f"gen_config: expected a GenerationConfig or a list of them, got "
                        f"{type(gen_config).__name__} {gen_config!r}")

    def _submit_all(self, prompts, gen_config, do_preprocess: bool, session_id: int = 0) -> tuple:
        """Checks every prompt, then submits them all (the scheduler batches them). Returns (requests, single)."""
        self._check_open()
        items, single = self._split(prompts)
        gens = self._gen_configs(gen_config, len(items))
        inputs = [self._request_input(p, "prompt" if single else f"prompts[{i}]", do_preprocess)
                  for i, p in enumerate(items)]
        requests: List[Request] = []
        try:
            for i, (inp, gen) in enumerate(zip(inputs, gens)):
                try:
                    requests.append(self._runtime.submit(gen=gen, session_id=session_id, **inp))
                except PipelineClosedError:
                    raise
                except LmrtError as e:
                    if single:
                        raise
                    raise LmrtError(f"prompts[{i}]: {e.message}", e.code) from None
        except BaseException:
            for r in requests:
                r.release()
            raise
        return requests, single

    # ---- batch --------------------------------------------------------------------------------
    @staticmethod
    def _collect(req: Request, index: int) -> Response:
        text, tokens, logprobs = [], [], None
        for ev in req.events():
            text.append(ev.text)
            tokens += ev.token_ids
            if ev.logprobs is not None:
                logprobs = (logprobs or []) + ev.logprobs
            if ev.finished:
                if ev.finish_reason == "error":
                    raise LmrtError(ev.error_message or "the request failed")
                return Response(text="".join(text), generate_token_len=ev.output_tokens,
                                input_token_len=ev.input_tokens, finish_reason=ev.finish_reason, token_ids=tokens,
                                logprobs=logprobs, index=index)
        raise AssertionError("unreachable: events() ends with FINISHED")

    def __call__(self, prompts, gen_config: Union[GenerationConfig, Sequence[GenerationConfig], None] = None,
                 do_preprocess: bool = True, adapter_name: Optional[str] = None, use_tqdm: bool = False):
        """Generates for a prompt or a list of prompts (all submitted at once, batched by the scheduler).
        do_preprocess=False sends text prompts as they are, without the chat template."""
        return self.batch_infer(prompts, gen_config, do_preprocess, adapter_name, use_tqdm)

    def batch_infer(self, prompts, gen_config=None, do_preprocess: bool = True, adapter_name: Optional[str] = None,
                    use_tqdm: bool = False):
        _check_unsupported(adapter_name, use_tqdm)
        requests, single = self._submit_all(prompts, gen_config, do_preprocess)
        try:
            out = [self._collect(r, i) for i, r in enumerate(requests)]
        finally:
            for r in requests:
                r.release()
        return out[0] if single else out

    infer = batch_infer

    # ---- streaming ----------------------------------------------------------------------------
    def stream_infer(self, prompts, gen_config=None, do_preprocess: bool = True,
                     adapter_name: Optional[str] = None) -> Iterator[Response]:
        """Yields partial Responses as tokens arrive: `text`/`token_ids` are the new part, `index` says which
        prompt; each prompt's last piece has its finish_reason. Prompts are checked and submitted before the
        first piece (so errors are raised at once); stopping the iteration early cancels what still runs."""
        _check_unsupported(adapter_name, False)
        requests, _ = self._submit_all(prompts, gen_config, do_preprocess)
        return self._stream(requests)

    def _stream(self, requests: List[Request]) -> Iterator[Response]:
        def piece(i: int, ev) -> Response:
            if ev.finished:
                del pending[i]
                if ev.finish_reason == "error":
                    raise LmrtError(ev.error_message or "the request failed")
            return Response(text=ev.text, generate_token_len=ev.output_tokens, input_token_len=ev.input_tokens,
                            finish_reason=ev.finish_reason if ev.finished else None, token_ids=ev.token_ids,
                            logprobs=ev.logprobs, index=i)

        pending = dict(enumerate(requests))
        try:
            while pending:
                if len(pending) == 1:  # one request: wait for its events
                    i, req = next(iter(pending.items()))
                    yield piece(i, req.next_event())
                    continue
                # Several: take what is ready from each in turn; when none is, wait a little on the oldest.
                ready = False
                for i, req in list(pending.items()):
                    ev = req.next_event(0)
                    if ev is not None:
                        ready = True
                        yield piece(i, ev)
                if not ready:
                    i, req = next(iter(pending.items()))
                    ev = req.next_event(0.02)
                    if ev is not None:
                        yield piece(i, ev)
        finally:
            for r in requests:
                r.release()

    # ---- chat ---------------------------------------------------------------------------------
    def new_session(self) -> Session:
        with self._session_lock:
            return Session(self, next(self._session_ids))

    def chat(self, prompt, session: Optional[Session] = None, gen_config: Optional[GenerationConfig] = None,
             stream_response: bool = False):
        """One turn of an interactive chat. The session (a new one when None) keeps the conversation in the
        runtime, so each turn sends only the new prompt. Returns the session (its .response is the reply), or
        with stream_response=True a generator of partial Responses that updates the session when done."""
        self._check_open()
        if session is None:
            session = self.new_session()
        elif not isinstance(session, Session) or session.pipe is not self:
            raise TypeError(f"session: expected a Session of this pipeline, got {session!r}")
        if gen_config is not None and not isinstance(gen_config, GenerationConfig):
            raise TypeError(f"gen_config: expected a GenerationConfig, got {type(gen_config).__name__} {gen_config!r}")
        if not (isinstance(prompt, str) or _is_conversation(prompt)):
            raise TypeError(f"prompt: expected a str or a list of messages, got {type(prompt).__name__} {prompt!r}")
        if session.history and self._system_prompt() and isinstance(prompt, str):
            inp = {"messages": [{"role": "user", "content": prompt}]}  # the system prompt went with turn one
        else:
            inp = self._request_input(prompt, "prompt", True)
        req = self._runtime.submit(gen=gen_config or GenerationConfig(), session_id=session.session_id, **inp)
        if stream_response:
            return self._chat_stream(req, session, prompt)
        try:
            session.response = self._collect(req, 0)
        finally:
            req.release()
        session.history.append((prompt, session.response.text))
        return session

    def _chat_stream(self, req: Request, session: Session, prompt) -> Iterator[Response]:
        pieces = []
        for piece in self._stream([req]):
            pieces.append(piece)
            yield piece
        last = pieces[-1]
        session.response = Response(text="".join(p.text for p in pieces), generate_token_len=last.generate_token_len,
                                    input_token_len=last.input_token_len, finish_reason=last.finish_reason,
                                    token_ids=[t for p in pieces for t in p.token_ids],
                                    logprobs=None if last.logprobs is None else
                                    [d for p in pieces for d in (p.logprobs or [])])
        session.history.append((prompt, session.response.text))

    def end_session(self, session: Session) -> None:
        """Forgets a chat session's history and frees its KV blocks."""
        self._runtime.end_session(session.session_id)

    # ---- tokenizer ----------------------------------------------------------------------------
    def encode(self, text: str, add_bos: bool = True) -> List[int]:
        """Token ids of `text` with the model's tokenizer (add_bos: the tokenizer's special tokens)."""
        return self._runtime.encode(text, add_bos)

    def decode(self, token_ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        return self._runtime.decode(token_ids, skip_special_tokens)


def _check_unsupported(adapter_name, use_tqdm) -> None:
    if adapter_name is not None:
        raise ValueError("adapter_name: LoRA adapters are not supported")
    if not isinstance(use_tqdm, bool):
        raise TypeError(f"use_tqdm: expected a bool, got {use_tqdm!r}")


def pipeline(model_path, backend_config: Optional[EngineConfig] = None,
             chat_template_config: Optional[ChatTemplateConfig] = None, log_level: str = "WARNING",
             model_name: Optional[str] = None) -> Pipeline:
    """Deploys the Hugging Face model folder `model_path` (LMDeploy's `pipeline`). backend_config:
    TurbomindEngineConfig / EngineConfig (the deployment's engine keys; backend 'auto' by default);
    chat_template_config: ChatTemplateConfig; log_level: the runtime's log level (WARNING, INFO, ...)."""
    return Pipeline(model_path, backend_config=backend_config, chat_template_config=chat_template_config,
                    log_level=log_level, model_name=model_name)
