"""aegis-llm provider for EchoLM, a toy HTTP model server that echoes what it is told.

The worked example of docs/plugin-authors.md: a third-party provider plugin
written only against aegis-llm's public API. EchoLM speaks a small protocol of
its own (see ``_protocol``), so everything a real plugin does is here: settings
with a secret, one pooled connection per client, mapping the server's errors,
validating what only this server rejects before sending anything, a stream that
releases its connection when closed early, and a health check that never raises.

This module holds only the hook implementations; importing it stays cheap
because discovery imports it: the operations (and with them httpx) are
imported by the first hook that needs them.
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
    hookimpl,
)
from aegis_llm_example_echo._settings import EchoSettings

__all__ = [
    "EchoSettings",
    "aegis_llm_chat",
    "aegis_llm_embed",
    "aegis_llm_health",
    "aegis_llm_list_models",
    "aegis_llm_provider_info",
    "aegis_llm_stream_chat",
]

__version__ = "0.1.0"


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="example_echo",
        version=__version__,
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
        description="EchoLM, the toy echo server of the plugin authors' guide",
        install_hint="pip install aegis-llm-example-echo",
    )


@hookimpl
def aegis_llm_chat(ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
    from aegis_llm_example_echo import _operations

    return _operations.chat(ctx, request)


@hookimpl
def aegis_llm_stream_chat(ctx: ProviderContext, request: ChatRequest) -> AsyncIterator[ChatChunk]:
    from aegis_llm_example_echo import _operations

    return _operations.stream_chat(ctx, request)


@hookimpl
def aegis_llm_embed(ctx: ProviderContext, request: EmbedRequest) -> Awaitable[Embeddings]:
    from aegis_llm_example_echo import _operations

    return _operations.embed(ctx, request)


@hookimpl
def aegis_llm_list_models(ctx: ProviderContext) -> Awaitable[list[ModelInfo]]:
    from aegis_llm_example_echo import _operations

    return _operations.list_models(ctx)


@hookimpl
def aegis_llm_health(ctx: ProviderContext) -> Awaitable[HealthReport]:
    from aegis_llm_example_echo import _operations

    return _operations.health(ctx)
