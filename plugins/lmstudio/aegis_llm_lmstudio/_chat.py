"""Chat through ``/v1/chat/completions``, whole or streamed as server-sent events.

A whole answer from LM Studio goes through its native ``/api/v0`` twin, the
same body with ``stats`` (tokens per second, time to first token) added.

The stream loop runs once per token, so it does the least work that still
checks what it passes on: one JSON decode, a few type checks, one small
pydantic model (validating that model is cheaper than ``model_construct``).
Usage keys are only looked for in chunks without text, which is where every
server in scope puts them. Reasoning and tool-call fragments cost a text
chunk two dictionary lookups; only chunks that carry them do more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from aegis_llm import ChatChunk, ChatRequest, ChatResponse, FinishReason, ProviderContext
from aegis_llm.errors import AegisLLMError, ProtocolError, StreamInterrupted
from aegis_llm.http import parse_error_body, parse_json
from aegis_llm_lmstudio._connection import claim, connection, is_error
from aegis_llm_lmstudio._payload import chat_body, check_chat
from aegis_llm_lmstudio._tool_calls import (
    CallFragments,
    calls_in,
    finish_with_calls,
    reasoning_in,
)
from aegis_llm_lmstudio._usage import USAGE_KEYS, finish_reason, usage_from
from aegis_llm_lmstudio._values import text

__all__ = ["chat", "stream_chat"]

_CHAT = "/v1/chat/completions"
_NATIVE_CHAT = "/api/v0/chat/completions"
_DONE = "[DONE]"


async def chat(ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
    """One whole answer, with the calls it asks for and its reasoning kept apart."""
    conn = connection(ctx)
    check_chat(request, conn.provider)
    native = await conn.native()
    body = chat_body(request, stream=False, native=native)
    payload = conn.answer(
        await conn.request("POST", _NATIVE_CHAT if native else _CHAT, body, model=request.model)
    )
    choices = payload.get("choices")
    if not (isinstance(choices, list) and choices and isinstance(choices[0], dict)):
        raise ProtocolError("the answer has no choices", provider=conn.provider)
    choice = choices[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise ProtocolError("the answer's choice has no message", provider=conn.provider)
    content = message.get("content")
    if content is None:  # an answer made only of tool calls
        content = ""
    elif not isinstance(content, str):
        raise ProtocolError("the answer has no message text", provider=conn.provider)
    try:
        calls = calls_in(message)
        reasoning = reasoning_in(message, "the answer")
    except ProtocolError as exc:
        claim(exc, conn.provider, request.model)
        raise
    return ChatResponse(
        content=content,
        provider=conn.provider,
        model=_served(payload, request.model),
        finish_reason=finish_with_calls(finish_reason(choice.get("finish_reason")), calls),
        usage=usage_from(payload),
        tool_calls=calls,
        reasoning=reasoning,
    )


async def stream_chat(ctx: ProviderContext, request: ChatRequest) -> AsyncIterator[ChatChunk]:
    """Text and reasoning chunks as they arrive, then one ``done`` chunk with the
    finish reason, usage and the tool calls, reassembled from their fragments.

    Only ``data: [DONE]`` ends a stream well. Whatever else ends it (a cut, a
    timeout, garbage, an error the server sends inside the stream: a ``data``
    error object, wrapped or vLLM's flat one, or llama.cpp's ``error:`` field;
    a tool call fragment that cannot be placed) is raised as it is while no
    text has reached the caller, so failover can still help, and as
    ``StreamInterrupted`` carrying the text and reasoning once some has.
    Reasoning counts as text there: the router has pinned the stream to this
    provider once it passed reasoning on.
    """
    conn = connection(ctx)
    check_chat(request, conn.provider)
    body = chat_body(request, stream=True, native=await conn.native())
    provider = conn.provider
    model = request.model
    served: str | None = None
    parts: list[str] = []
    thoughts: list[str] = []  # reasoning that reached the caller: as binding as text
    fragments = CallFragments()
    finish: FinishReason | None = None
    tail: dict[str, Any] = {}
    try:
        opened = conn.api.stream(_CHAT, body, "sse", model=model)
        async with aclosing(opened) as events:
            async for event in events:
                if event.error is not None:
                    raise conn.reported(parse_error_body(event.error))
                if event.data == _DONE:
                    break
                chunk = parse_json(event.data, what="a stream event")
                content, reason, delta = _delta(chunk)
                if served is None:
                    served = _served(chunk, model)
                reasoning = None
                if delta is not None and (
                    "reasoning" in delta or "reasoning_content" in delta or "tool_calls" in delta
                ):
                    reasoning = reasoning_in(delta, "a stream event")
                    if delta.get("tool_calls") is not None:
                        fragments.add(delta["tool_calls"])
                if reasoning:
                    thoughts.append(reasoning)
                    if content:
                        parts.append(content)
                    yield ChatChunk(
                        content=content or "", reasoning=reasoning, provider=provider, model=served
                    )
                elif content:
                    parts.append(content)
                    yield ChatChunk(content=content, provider=provider, model=served)
                else:
                    if is_error(chunk):
                        raise conn.reported(parse_error_body(event.data))
                    for key in USAGE_KEYS:
                        if chunk.get(key):
                            tail[key] = chunk[key]
                if reason is not None:
                    finish = finish_reason(reason)
            else:
                raise ProtocolError(
                    "the stream ended without `data: [DONE]`",
                    hint="the server closed the stream early; check its log",
                )
        calls = fragments.calls()
    except AegisLLMError as exc:
        if not (parts or thoughts):
            claim(exc, provider, model)
            raise
        raise StreamInterrupted(
            f"the stream broke after {sum(map(len, parts))} characters: {exc.message}",
            partial="".join(parts),
            partial_reasoning="".join(thoughts),
            provider=provider,
        ) from exc
    yield ChatChunk(
        provider=provider,
        model=served or model,
        done=True,
        finish_reason=finish_with_calls(finish, calls),
        usage=usage_from(tail),
        tool_calls=calls,
    )


def _delta(chunk: Any) -> tuple[str | None, object, dict[str, Any] | None]:
    """The text, finish reason and delta of one stream chunk (usage chunks have none)."""
    if not isinstance(chunk, dict):
        raise ProtocolError("a stream event is not a JSON object")
    choices = chunk.get("choices")
    if not choices:  # [] or null: the usage chunk
        return None, None, None
    choice = choices[0] if isinstance(choices, list) else None
    if not isinstance(choice, dict):
        raise ProtocolError("a stream event has malformed choices")
    delta = choice.get("delta")
    if not isinstance(delta, dict):
        return None, choice.get("finish_reason"), None
    content = delta.get("content")
    if content is not None and not isinstance(content, str):
        raise ProtocolError("a stream event has non-text content")
    return content, choice.get("finish_reason"), delta


def _served(payload: dict[str, Any], requested: str) -> str:
    """The model that answered: one loaded model may serve any requested name."""
    return text(payload.get("model")) or requested
