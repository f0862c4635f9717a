"""A test-only provider that echoes: proves discovery through a real entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aegis_llm import (
    Capability,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Embeddings,
    EmbedRequest,
    HealthReport,
    ModelInfo,
    ProviderContext,
    ProviderInfo,
    ProviderSettings,
    hookimpl,
)


class EchoSettings(ProviderSettings):
    prefix: str = "echo: "


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="echo",
        version="0.0.1",
        capabilities=frozenset(
            {
                Capability.CHAT,
                Capability.STREAM,
                Capability.EMBED,
                Capability.LIST_MODELS,
                Capability.HEALTH,
            }
        ),
        settings_class=EchoSettings,
        description="echoes the last message (test only)",
    )


def _answer(ctx: ProviderContext, request: ChatRequest) -> str:
    return ctx.settings_as(EchoSettings).prefix + request.messages[-1].content


@hookimpl
async def aegis_llm_chat(ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
    return ChatResponse(
        content=_answer(ctx, request), provider=ctx.name, model=request.model, finish_reason="stop"
    )


@hookimpl
def aegis_llm_stream_chat(ctx: ProviderContext, request: ChatRequest) -> AsyncIterator[ChatChunk]:
    async def chunks() -> AsyncIterator[ChatChunk]:
        for word in _answer(ctx, request).split(" "):
            yield ChatChunk(content=word + " ", provider=ctx.name, model=request.model)
        yield ChatChunk(provider=ctx.name, model=request.model, done=True, finish_reason="stop")

    return chunks()


@hookimpl
async def aegis_llm_embed(ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
    vectors = [[float(len(text)), 1.0] for text in request.inputs]
    return Embeddings(vectors=vectors, dimensions=2, model=request.model, provider=ctx.name)


@hookimpl
async def aegis_llm_list_models(ctx: ProviderContext) -> list[ModelInfo]:
    return [ModelInfo(id="echo-1", provider=ctx.name, kind="chat", loaded=True)]


@hookimpl
async def aegis_llm_health(ctx: ProviderContext) -> HealthReport:
    return HealthReport(provider=ctx.name, status="up", version="0.0.1")
