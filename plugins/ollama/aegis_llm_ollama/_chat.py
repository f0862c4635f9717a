"""Chat through ``POST /api/chat``: one JSON answer, or an NDJSON stream ending at ``done``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from aegis_llm import ChatChunk, ChatRequest, ChatResponse, ProviderContext
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
    body = chat_body(ctx.settings_as(OllamaSettings), request, stream=False)
    with owned_by(ctx.name, request.model):
        record = await api(ctx).request_json("POST", "/api/chat", body, model=request.model)
        content, done = chat_piece(record)
        if not done:
            raise ProtocolError("Ollama's whole (stream: false) chat answer is not marked done")
    return ChatResponse(
        content=content,
        provider=ctx.name,
        model=_model(record, request.model),
        finish_reason=finish_reason(record),
        usage=usage(record),
    )


async def stream_chat(
    ctx: ProviderContext, request: ChatRequest
) -> AsyncGenerator[ChatChunk, None]:
    """Yield each piece of text as it arrives, then one ``done`` chunk with the usage.

    Empty pieces (a thinking model's reasoning, the load acknowledgement) are
    not passed on: a chunk tells the caller that text arrived, and the core
    fails over only until the first one. A failure before any text keeps its
    own type; after text, or reported by the server inside the stream, it
    becomes ``StreamInterrupted`` carrying the text so far.
    """
    body = chat_body(ctx.settings_as(OllamaSettings), request, stream=True)
    provider, model = ctx.name, request.model
    parts: list[str] = []
    last = None
    records = api(ctx).stream("/api/chat", body, "ndjson", model=model)
    try:
        async with aclosing(records):
            async for record in records:
                content, done = chat_piece(record)
                if done:
                    last = ChatChunk(
                        content=content,
                        provider=provider,
                        model=_model(record, model),
                        done=True,
                        finish_reason=finish_reason(record),
                        usage=usage(record),
                    )
                    await drain(records)
                    break
                if content:
                    parts.append(content)
                    yield ChatChunk(content=content, provider=provider, model=model)
    except ServerReported as exc:
        cause = f"Ollama reported: {exc.message}"
        raise interrupted(cause, "".join(parts), provider=provider) from None
    except AegisLLMError as exc:
        if parts:
            raise interrupted(str(exc), "".join(parts), provider=provider) from exc
        claim(exc, provider, model)
        raise
    if last is None:
        raise interrupted(
            "the stream ended without `done: true`", "".join(parts), provider=provider
        )
    yield last
