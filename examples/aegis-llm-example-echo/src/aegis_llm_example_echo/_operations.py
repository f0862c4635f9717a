"""The provider operations, on one pooled ``HttpApi`` per client.

``aegis_llm.http.HttpApi`` already turns refused connections, timeouts, HTTP
statuses, oversized and malformed bodies into the SDK's errors, so this module
only says what EchoLM's requests and answers look like and what its stream's
end is. It never retries: the core has the one retry layer.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, contextmanager

from aegis_llm import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Embeddings,
    EmbedRequest,
    HealthReport,
    ModelInfo,
    ProviderContext,
)
from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    StreamInterrupted,
)
from aegis_llm.http import HttpApi, HttpLimits
from aegis_llm_example_echo import _protocol
from aegis_llm_example_echo._settings import EchoSettings

__all__ = ["chat", "embed", "health", "list_models", "stream_chat"]

_START_HINT = "is EchoLM running? start it with `echolm serve`"


def _api(ctx: ProviderContext) -> HttpApi:
    """The client's connection to EchoLM, built on first use and closed with the client."""

    def build() -> HttpApi:
        settings = ctx.settings_as(EchoSettings)
        headers = {}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        return HttpApi(
            provider=ctx.name,
            base_url=settings.base_url,
            start_hint=_START_HINT,
            limits=HttpLimits.from_context(ctx),
            headers=headers,
            classify=_protocol.classify,
        )

    return ctx.resource("http", build)


@contextmanager
def _claimed(ctx: ProviderContext) -> Iterator[None]:
    """Errors raised while reading an answer name this provider instance."""
    try:
        yield
    except AegisLLMError as exc:
        if exc.provider is None:
            exc.provider = ctx.name
        raise


async def chat(ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
    body = _protocol.reply_body(request, stream=False)
    answer = await _api(ctx).request_json("POST", "/v1/reply", body, model=request.model)
    with _claimed(ctx):
        reply = _protocol.read_reply(answer)
    return ChatResponse(
        content=reply.text,
        provider=ctx.name,
        model=reply.model,
        finish_reason="length" if reply.cut else "stop",
        usage=reply.usage,
    )


async def stream_chat(ctx: ProviderContext, request: ChatRequest) -> AsyncIterator[ChatChunk]:
    """Yield each delta as it arrives; the connection closes with this generator.

    ``aclosing`` matters: without it, a caller that stops reading early leaves
    the HTTP response open until garbage collection.
    """
    body = _protocol.reply_body(request, stream=True)
    received: list[str] = []
    records = _api(ctx).stream("/v1/reply", body, "ndjson", model=request.model)
    async with aclosing(records):
        try:
            async for value in records:
                with _claimed(ctx):
                    record = _protocol.read_record(value)
                if isinstance(record, _protocol.Failure):
                    raise ProviderError(
                        f"EchoLM failed while answering: {record.message}",
                        provider=ctx.name,
                        hint="retry the request",
                    )
                if isinstance(record, _protocol.End):
                    yield ChatChunk(
                        provider=ctx.name,
                        model=request.model,
                        done=True,
                        finish_reason="length" if record.cut else "stop",
                        usage=record.usage,
                    )
                    return
                received.append(record.text)
                yield ChatChunk(content=record.text, provider=ctx.name, model=request.model)
            raise ProtocolError("EchoLM's stream ended without its end record", provider=ctx.name)
        except AegisLLMError as exc:
            if not received:
                raise
            raise StreamInterrupted(
                f"the stream broke after {len(received)} pieces: {exc}",
                partial="".join(received),
                provider=ctx.name,
                hint="the text so far is in .partial; send the request again for all of it",
            ) from exc


async def embed(ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
    body = _protocol.vectors_body(request)
    answer = await _api(ctx).request_json("POST", "/v1/vectors", body, model=request.model)
    with _claimed(ctx):
        vectors = _protocol.read_vectors(answer, len(request.inputs))
        sizes = {len(vector) for vector in vectors}
        if len(sizes) != 1 or 0 in sizes:
            raise ProtocolError(f"EchoLM returned vectors of sizes {sorted(sizes)}")
    return Embeddings(
        vectors=vectors,
        dimensions=sizes.pop(),
        model=request.model,
        provider=ctx.name,
        normalized=True,
    )


async def list_models(ctx: ProviderContext) -> list[ModelInfo]:
    answer = await _api(ctx).request_json("GET", "/v1/models")
    with _claimed(ctx):
        return _protocol.read_models(answer, ctx.name)


_REASONS = (
    (ProviderUnavailable, "unreachable"),
    (ProviderTimeout, "timeout"),
    (AuthenticationError, "auth"),
)


async def health(ctx: ProviderContext) -> HealthReport:
    """Ask ``/v1/status`` within ``health_timeout``; a failure is a report, never an error."""
    started = time.monotonic()
    try:
        answer = await _api(ctx).request_json("GET", "/v1/status", timeout=ctx.core.health_timeout)
        ready, version = _protocol.read_status(answer)
    except AegisLLMError as exc:
        reason = next((name for kind, name in _REASONS if isinstance(exc, kind)), "error")
        return HealthReport(provider=ctx.name, status="down", reason=reason, message=str(exc))
    return HealthReport(
        provider=ctx.name,
        status="up" if ready else "degraded",
        reason=None if ready else "loading",
        latency_seconds=time.monotonic() - started,
        version=version,
    )
