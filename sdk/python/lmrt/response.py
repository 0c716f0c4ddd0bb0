"""What a request returns (LMDeploy's Response)."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class Response:
    """The result of one prompt, or one piece of it when streaming.

    From pipe(...): the whole reply. From stream_infer / chat(stream_response=True): `text` and `token_ids`
    are what is new since the previous piece of the same prompt (the pieces concatenate to the whole
    reply), `generate_token_len` counts all tokens so far, and the last piece has `finish_reason`.

    finish_reason: 'stop' (EOS, a stop token or stop word), 'length' (max_new_tokens or session_len),
    'cancelled' (the pipeline was closed, or the request cancelled), None while streaming.
    logprobs (when GenerationConfig.logprobs is set): one {token_id: logprob} per token, the sampled token
    and the most likely alternatives. index: the prompt's position in the batch.
    """
    text: str
    generate_token_len: int
    input_token_len: int
    finish_reason: Optional[str] = None
    token_ids: List[int] = field(default_factory=list)
    logprobs: Optional[List[Dict[int, float]]] = None
    index: int = 0
