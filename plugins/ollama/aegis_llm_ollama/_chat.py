"""Chat through ``POST /api/chat``: one JSON answer, or an NDJSON stream ending at ``done``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from aegis_llm import ChatChunk, ChatRequest, ChatResponse, ProviderContext, ToolCall
from aegis_llm.errors import AegisLLMError, ProtocolError
from aegis_llm_ollama._connection import api, drain
from aegis_llm_ollama._errors import ServerReported, claim, interrupted, owned_by
from aegis_llm_ollama._settings import OllamaSettings
from aegis_llm_ollama._wire import chat_body, chat_piece, finish_reason, usage

__all__ = ["chat", "stream_chat"]


def _model(record: dict[str, Any], asked: str) -> str:
    """The name the server says answered (it echoes the request's spelling)."""
    model = record.get("model")
    return model if type(model) is str and model else asked


async def chat(ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
    with owned_by(ctx.name, request.model):
        body = chat_body(ctx.settings_as(OllamaSettings), request, stream=False)
        record = await api(ctx).request_json("POST", "/api/chat", body, model=request.model)
        content, thinking, calls, done = chat_piece(record)
        if not done:
            raise ProtocolError("Ollama's whole (stream: false) chat answer is not marked done")
    calls = calls or ()
    return ChatResponse(
        content=content,
        provider=ctx.name,
        model=_model(record, request.model),
        finish_reason=finish_reason(record, calls),
        usage=usage(record),
        tool_calls=calls,
        reasoning=thinking or None,
    )


async def stream_chat(
    ctx: ProviderContext, request: ChatRequest
) -> AsyncGenerator[ChatChunk, None]:
    """Yield text and reasoning as they arrive, then one ``done`` chunk with usage and calls.

    A thinking model's reasoning (``message.thinking``) comes as chunks with
    ``reasoning`` set, before its answer. Ollama sends each tool call whole,
    in a chunk of its own before ``done``; they are kept and delivered on the
    final chunk, where the core promises them. Pieces with neither text nor
    reasoning (a call, the load acknowledgement) yield nothing: a chunk tells
    the caller that the model said something, and the core fails over only
    until then. So a failure before the first chunk keeps its own type; after
    it (reasoning counts: the caller has seen this model answer), or reported
    by the server inside the stream, it is ``StreamInterrupted`` carrying the
    answer text and the reasoning so far.
    """
    provider, model = ctx.name, request.model
    with owned_by(provider, model):
        body = chat_body(ctx.settings_as(OllamaSettings), request, stream=True)
    parts: list[str] = []
    thoughts: list[str] = []
    calls: list[ToolCall] = []
    last = None
    records = api(ctx).stream("/api/chat", body, "ndjson", model=model)
    try:
        async with aclosing(records):
            async for record in records:
                content, thinking, called, done = chat_piece(record)
                if called:
                    calls += called
                if done:
                    last = ChatChunk(
                        content=content,
                        reasoning=thinking,
                        provider=provider,
                        model=_model(record, model),
                        done=True,
                        finish_reason=finish_reason(record, calls),
                        usage=usage(record),
                        tool_calls=tuple(calls),
                    )
                    await drain(records)
                    break
                if thinking:
                    thoughts.append(thinking)
                if content:
                    parts.append(content)
                elif not thinking:
                    continue
                yield ChatChunk(content=content, reasoning=thinking, provider=provider, model=model)
    except ServerReported as exc:
        cause = f"Ollama reported: {exc.message}"
        raise interrupted(cause, parts, thoughts, provider=provider) from None
    except AegisLLMError as exc:
        if parts or thoughts:
            raise interrupted(str(exc), parts, thoughts, provider=provider) from exc
        claim(exc, provider, model)
        raise
    if last is None:
        raise interrupted(
            "the stream ended without `done: true`", parts, thoughts, provider=provider
        )
    yield last
