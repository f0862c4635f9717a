"""aegis-llm provider: sentence-transformers embeddings in this process, on the CPU.

It needs no server and leaves the GPU to the chat model. Importing this
module (plugin discovery) stays light: torch and sentence-transformers are
imported by the first embed, in a worker thread, and the loaded model is
shared by every client in the process.
"""

from __future__ import annotations

from collections.abc import Awaitable

from aegis_llm import (
    Capability,
    Embeddings,
    EmbedRequest,
    HealthReport,
    ModelInfo,
    ProviderContext,
    ProviderInfo,
    hookimpl,
)
from aegis_llm_st_cpu import _embed, _inventory
from aegis_llm_st_cpu._names import BUILTIN_ALIASES
from aegis_llm_st_cpu._settings import StCpuSettings

__all__ = [
    "BUILTIN_ALIASES",
    "StCpuSettings",
    "aegis_llm_embed",
    "aegis_llm_health",
    "aegis_llm_list_models",
    "aegis_llm_provider_info",
]

__version__ = "0.1.0"


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="st_cpu",
        version=__version__,
        capabilities=frozenset({Capability.EMBED, Capability.LIST_MODELS, Capability.HEALTH}),
        settings_class=StCpuSettings,
        description="sentence-transformers embeddings in this process, on the CPU",
        install_hint="pip install aegis-llm[st-cpu]",
    )


@hookimpl
def aegis_llm_embed(ctx: ProviderContext, request: EmbedRequest) -> Awaitable[Embeddings]:
    return _embed.embed(ctx, request)


@hookimpl
def aegis_llm_list_models(ctx: ProviderContext) -> Awaitable[list[ModelInfo]]:
    return _inventory.list_models(ctx)


@hookimpl
def aegis_llm_health(ctx: ProviderContext) -> Awaitable[HealthReport]:
    return _inventory.health(ctx)
