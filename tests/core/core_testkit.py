"""An in-process provider plugin whose behaviour each test scripts.

It lets core tests count calls (to prove bad input never reaches a provider)
and return exactly the results or errors a case needs, without a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from aegis_llm import (
    AegisSettings,
    AsyncClient,
    Capability,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Embeddings,
    EmbedRequest,
    HealthReport,
    ModelInfo,
    PluginHost,
    ProviderContext,
    ProviderInfo,
    ProviderSettings,
    hookimpl,
)
from aegis_llm.errors import AegisLLMError

ALL = frozenset(
    {
        Capability.CHAT,
        Capability.STREAM,
        Capability.EMBED,
        Capability.LIST_MODELS,
        Capability.HEALTH,
    }
)


class ScriptedSettings(ProviderSettings):
    greeting: str = "hello"


class Scripted:
    """A provider plugin instance; ``error`` makes every operation raise it."""

    def __init__(
        self,
        name: str,
        *,
        capabilities: Iterable[Capability] = ALL,
        error: AegisLLMError | None = None,
        words: tuple[str, ...] = ("hello", " world"),
    ) -> None:
        self.name = name
        self.capabilities = frozenset(capabilities)
        self.error = error
        self.words = words
        self.calls: list[str] = []

    def _enter(self, op: str) -> None:
        self.calls.append(op)
        if self.error is not None:
            raise self.error

    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        return ProviderInfo(
            name=self.name,
            version="1.0",
            capabilities=self.capabilities,
            settings_class=ScriptedSettings,
        )

    @hookimpl
    async def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
        self._enter("chat")
        return ChatResponse(
            content="".join(self.words),
            provider=ctx.name,
            model=request.model,
            finish_reason="stop",
        )

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        async def chunks() -> AsyncIterator[ChatChunk]:
            self._enter("stream")
            for word in self.words:
                yield ChatChunk(content=word, provider=ctx.name, model=request.model)
            yield ChatChunk(provider=ctx.name, model=request.model, done=True)

        return chunks()

    @hookimpl
    async def aegis_llm_embed(self, ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
        self._enter("embed")
        vectors = [[float(len(t)), 0.5, -0.5] for t in request.inputs]
        return Embeddings(vectors=vectors, dimensions=3, model=request.model, provider=ctx.name)

    @hookimpl
    async def aegis_llm_list_models(self, ctx: ProviderContext) -> list[ModelInfo]:
        self._enter("list_models")
        return [ModelInfo(id=f"{self.name}-model", provider=ctx.name, kind="chat", loaded=True)]

    @hookimpl
    async def aegis_llm_health(self, ctx: ProviderContext) -> HealthReport:
        self._enter("health")
        return HealthReport(provider=ctx.name, status="up", version="1.0")


def client_with(*plugins: object, **settings: object) -> AsyncClient:
    """A client that sees only the given in-code plugins (no entry points)."""
    config = AegisSettings.load(**settings)
    host = PluginHost(config, discover=False)
    for plugin in plugins:
        host.register(plugin, plugin.name)  # type: ignore[attr-defined]
    return AsyncClient(config, host=host)
