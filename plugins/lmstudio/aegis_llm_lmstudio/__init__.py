"""aegis-llm provider for LM Studio and any other OpenAI-compatible server (llama.cpp, vLLM).

Plugin discovery imports this module, so it holds only the settings and thin
hook functions; each hook imports its implementation (and with it httpx) on
first use. One plugin serves many instances: ``[providers.vllm] plugin =
"lmstudio"`` makes another, configured like this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING

from aegis_llm import Capability, ProviderInfo, hookimpl
from aegis_llm_lmstudio._settings import LMStudioSettings

if TYPE_CHECKING:
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

__all__ = [
    "LMStudioSettings",
    "__version__",
    "aegis_llm_chat",
    "aegis_llm_embed",
    "aegis_llm_health",
    "aegis_llm_list_models",
    "aegis_llm_load_model",
    "aegis_llm_provider_info",
    "aegis_llm_stream_chat",
    "aegis_llm_unload_model",
]

__version__ = "0.1.0"


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="lmstudio",
        version=__version__,
        capabilities=frozenset(
            {
                Capability.CHAT,
                Capability.STREAM,
                Capability.TOOLS,
                Capability.EMBED,
                Capability.LIST_MODELS,
                Capability.HEALTH,
                Capability.LOAD,
                Capability.UNLOAD,
            }
        ),
        settings_class=LMStudioSettings,
        description="LM Studio and other OpenAI-compatible servers (llama.cpp, vLLM)",
        install_hint="pip install aegis-llm[lmstudio]",
    )


@hookimpl
def aegis_llm_chat(ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
    from aegis_llm_lmstudio._chat import chat

    return chat(ctx, request)


@hookimpl
def aegis_llm_stream_chat(ctx: ProviderContext, request: ChatRequest) -> AsyncIterator[ChatChunk]:
    from aegis_llm_lmstudio._chat import stream_chat

    return stream_chat(ctx, request)


@hookimpl
def aegis_llm_embed(ctx: ProviderContext, request: EmbedRequest) -> Awaitable[Embeddings]:
    from aegis_llm_lmstudio._embed import embed

    return embed(ctx, request)


@hookimpl
def aegis_llm_list_models(ctx: ProviderContext) -> Awaitable[list[ModelInfo]]:
    from aegis_llm_lmstudio._models import list_models

    return list_models(ctx)


@hookimpl
def aegis_llm_health(ctx: ProviderContext) -> Awaitable[HealthReport]:
    from aegis_llm_lmstudio._health import health

    return health(ctx)


@hookimpl
def aegis_llm_load_model(ctx: ProviderContext, model: str) -> Awaitable[ModelInfo]:
    from aegis_llm_lmstudio._loading import load_model

    return load_model(ctx, model)


@hookimpl
def aegis_llm_unload_model(ctx: ProviderContext, model: str) -> Awaitable[None]:
    from aegis_llm_lmstudio._loading import unload_model

    return unload_model(ctx, model)
