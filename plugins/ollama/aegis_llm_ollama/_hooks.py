"""The hook implementations pluggy finds on this package.

Each operation imports its module on first call: discovery imports this
package for every ``aegis-llm`` command, and httpx with the HTTP kit should
cost only the programs that actually talk to Ollama.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable

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
    PullProgress,
    hookimpl,
)
from aegis_llm_ollama._settings import OllamaSettings

__all__ = [
    "VERSION",
    "aegis_llm_chat",
    "aegis_llm_embed",
    "aegis_llm_health",
    "aegis_llm_list_models",
    "aegis_llm_provider_info",
    "aegis_llm_pull",
    "aegis_llm_stream_chat",
]

VERSION = "0.1.0"


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="ollama",
        version=VERSION,
        capabilities=frozenset(
            {
                Capability.CHAT,
                Capability.STREAM,
                Capability.EMBED,
                Capability.LIST_MODELS,
                Capability.HEALTH,
                Capability.PULL,
                Capability.TOOLS,
            }
        ),
        settings_class=OllamaSettings,
        description="Ollama's native API: chat with tools and thinking, streaming, embeddings, "
        "models, health, pull",
        install_hint="pip install aegis-llm[ollama]",
    )


@hookimpl
def aegis_llm_chat(ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
    from aegis_llm_ollama import _chat

    return _chat.chat(ctx, request)


@hookimpl
def aegis_llm_stream_chat(ctx: ProviderContext, request: ChatRequest) -> AsyncIterator[ChatChunk]:
    from aegis_llm_ollama import _chat

    return _chat.stream_chat(ctx, request)


@hookimpl
def aegis_llm_embed(ctx: ProviderContext, request: EmbedRequest) -> Awaitable[Embeddings]:
    from aegis_llm_ollama import _embed

    return _embed.embed(ctx, request)


@hookimpl
def aegis_llm_list_models(ctx: ProviderContext) -> Awaitable[list[ModelInfo]]:
    from aegis_llm_ollama import _server

    return _server.list_models(ctx)


@hookimpl
def aegis_llm_health(ctx: ProviderContext) -> Awaitable[HealthReport]:
    from aegis_llm_ollama import _server

    return _server.health(ctx)


@hookimpl
def aegis_llm_pull(ctx: ProviderContext, model: str) -> AsyncIterator[PullProgress]:
    from aegis_llm_ollama import _server

    return _server.pull(ctx, model)
