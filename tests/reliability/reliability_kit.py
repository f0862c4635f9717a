"""Loopback servers and clients shared by the reliability tests."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

from aegis_llm import (
    AegisSettings,
    AsyncClient,
    Capability,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Embeddings,
    EmbedRequest,
    PluginHost,
    ProviderContext,
    ProviderInfo,
    ProviderSettings,
    hookimpl,
)
from aegis_llm.http import HttpApi, HttpLimits
from aegis_llm.testing.fakes import FakeServer, Request, Response, StreamResponse

RECORD = b'{"token":"abc"}\n'
SSE_RECORD = b'data: {"token":"abc"}\n\n'

SHORT = HttpLimits(
    connect_timeout=2.0,
    first_byte_timeout=5.0,
    idle_timeout=5.0,
    stream_timeout=20.0,
    max_response_bytes=1 << 20,
    max_line_bytes=64 * 1024,
    max_connections=8,
)
"""Limits small enough to hit in a test; each test shortens the one it is about."""


def records_app(request: Request) -> Response | StreamResponse:
    """``/ndjson/<n>`` and ``/sse/<n>`` stream n records (``endless``: forever); else JSON."""
    kind, _, count = request.path.strip("/").partition("/")
    if kind in ("ndjson", "sse") and count:
        record = RECORD if kind == "ndjson" else SSE_RECORD
        if count == "endless":
            return StreamResponse(itertools.repeat(record), interval=0.001)
        return StreamResponse(itertools.repeat(record, int(count)))
    return Response(200, b'{"ok":true}')


def api_for(
    server: FakeServer, limits: HttpLimits = SHORT, headers: dict[str, str] | None = None
) -> HttpApi:
    return HttpApi(
        provider="fake",
        base_url=server.url,
        start_hint="start the fake",
        limits=limits,
        headers=headers,
    )


def all_closed(server: FakeServer) -> None:
    """Wait until the server has seen every connection close (raises after 5 s)."""
    server.stats.wait_until(lambda stats: stats.open_connections == 0)


class Counting:
    """An in-process provider plugin that answers everything and counts the calls reaching it."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        return ProviderInfo(
            name=self.name,
            version="1",
            capabilities=frozenset({Capability.CHAT, Capability.STREAM, Capability.EMBED}),
            settings_class=ProviderSettings,
        )

    @hookimpl
    async def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        return ChatResponse(content="ok", provider=ctx.name, model=request.model)

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        self.calls += 1
        return _one_chunk(ctx.name, request.model)

    @hookimpl
    async def aegis_llm_embed(self, ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
        self.calls += 1
        # Honours ``dimensions`` as a real provider must, so only the front door is under test.
        size = request.dimensions or 2
        vectors = [[1.0] + [0.0] * (size - 1) for _ in request.inputs]
        return Embeddings(vectors=vectors, dimensions=size, model=request.model, provider=ctx.name)


async def _one_chunk(provider: str, model: str) -> AsyncIterator[ChatChunk]:
    yield ChatChunk(content="ok", provider=provider, model=model)
    yield ChatChunk(provider=provider, model=model, done=True)


def client_with(plugin: object, name: str) -> AsyncClient:
    """A client whose chains hold only ``plugin`` (registered as ``name``), without discovery."""
    settings = AegisSettings.load(chain=[name], embed_chain=[name], embed_model=None)
    host = PluginHost(settings, discover=False)
    host.register(plugin, name)
    return AsyncClient(settings, host=host)
