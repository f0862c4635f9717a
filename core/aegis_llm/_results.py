"""What providers hand back, and the record of how the SDK got it.

Results are frozen: the resilience layer adds ``attempts`` with
``model_copy`` instead of mutating what a plugin returned.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt

from aegis_llm._tools import ToolCall

__all__ = [
    "Attempt",
    "AttemptOutcome",
    "ChatChunk",
    "ChatResponse",
    "Embeddings",
    "FinishReason",
    "Usage",
]

_FROZEN = ConfigDict(frozen=True)

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "load", "unload", "other"]
AttemptOutcome = Literal["success", "error", "declined", "skipped"]


class Usage(BaseModel):
    """Token counts and timings, normalised to seconds whatever unit the server used."""

    model_config = _FROZEN

    prompt_tokens: NonNegativeInt | None = None
    completion_tokens: NonNegativeInt | None = None
    total_tokens: NonNegativeInt | None = None
    prompt_seconds: NonNegativeFloat | None = None
    completion_seconds: NonNegativeFloat | None = None
    load_seconds: NonNegativeFloat | None = None
    total_seconds: NonNegativeFloat | None = None
    time_to_first_token_seconds: NonNegativeFloat | None = None
    tokens_per_second: NonNegativeFloat | None = None


class Attempt(BaseModel):
    """One try at one provider: what a caller reads to learn what happened.

    ``outcome`` tells a provider that was called and answered that it cannot
    serve this request (``declined``: it raised ``Unsupported``, e.g. Ollama's
    400 '"x" does not support tools') from one the chain never called
    (``skipped``: not installed, lacking a declared capability, its breaker
    open, the deadline passed). Only a decline says something about the
    provider's models, and only a decline took the provider's time.
    """

    model_config = _FROZEN

    provider: str
    model: str | None = None
    outcome: AttemptOutcome
    error_type: str | None = None
    error: str | None = None
    duration_seconds: NonNegativeFloat = 0.0
    retries: NonNegativeInt = 0


class ChatResponse(BaseModel):
    """A whole answer; ``provider`` and ``model`` say who actually produced it.

    ``tool_calls`` are the functions the model asked to call (``finish_reason``
    is then ``tool_calls``); ``reasoning`` is a thinking model's reasoning,
    kept apart from ``content`` (``None``: the model gave none).
    """

    model_config = _FROZEN

    content: str
    provider: str
    model: str
    finish_reason: FinishReason | None = None
    usage: Usage = Usage()
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str | None = None
    attempts: tuple[Attempt, ...] = ()


class ChatChunk(BaseModel):
    """A piece of a streamed answer. The last chunk has ``done`` set and may carry usage.

    A chunk carries answer text (``content``) or reasoning text
    (``reasoning``), never both empty unless it is the last. Tool calls come
    whole, on the last chunk: servers that stream their arguments in
    fragments are reassembled by the plugin, so a caller never sees half a call.
    """

    model_config = _FROZEN

    content: str = ""
    provider: str
    model: str
    done: bool = False
    reasoning: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    attempts: tuple[Attempt, ...] = ()


class Embeddings(BaseModel):
    """One vector per input, in input order.

    ``normalized`` tells whether vectors are unit length (``None``: the server
    did not say); ``truncated`` lists the inputs the model cut to fit.
    """

    model_config = _FROZEN

    vectors: list[list[float]]
    dimensions: NonNegativeInt
    model: str
    provider: str
    normalized: bool | None = None
    truncated: tuple[int, ...] = ()
    usage: Usage = Usage()
    attempts: tuple[Attempt, ...] = Field(default=())
