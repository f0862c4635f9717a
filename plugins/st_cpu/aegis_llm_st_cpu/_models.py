"""From a request's model name to a loaded, shared model, for one client.

Name resolution (disk, maybe network) is remembered per client, because
settings (roots, aliases) are per client; the loaded model itself is shared
by the whole process through the registry.
"""

from __future__ import annotations

import time

import anyio

from aegis_llm import ProviderContext
from aegis_llm_st_cpu._registry import MODELS, ModelKey, ResidentModel
from aegis_llm_st_cpu._resolve import ModelSource, resolve
from aegis_llm_st_cpu._settings import StCpuSettings

__all__ = ["acquire", "known_sources", "limiter", "served_name"]


def served_name(ctx: ProviderContext, requested: str) -> str:
    """``AEGIS_LLM_ST_CPU_MODEL`` stands in for the core's default embed model, not for
    a model the caller named."""
    configured = ctx.settings_as(StCpuSettings).model
    if configured and requested == ctx.core.embed_model:
        return configured
    return requested


def known_sources(ctx: ProviderContext) -> dict[str, ModelSource]:
    """The names this client has resolved so far."""
    return ctx.resource("st_cpu.sources", dict[str, ModelSource])


def limiter(ctx: ProviderContext) -> anyio.CapacityLimiter:
    """The worker threads this client may occupy at once."""
    settings = ctx.settings_as(StCpuSettings)
    return ctx.resource("st_cpu.limiter", lambda: anyio.CapacityLimiter(settings.concurrency))


async def acquire(ctx: ProviderContext, requested: str) -> tuple[ResidentModel, float]:
    """The loaded model for ``requested`` and the seconds this call waited for it to load."""
    settings = ctx.settings_as(StCpuSettings)
    name = served_name(ctx, requested)
    sources = known_sources(ctx)
    source = sources.get(name)
    if source is None:
        source = await anyio.to_thread.run_sync(
            lambda: resolve(name, settings, provider=ctx.name), limiter=limiter(ctx)
        )
        sources[name] = source
    key = ModelKey(source.folder, settings.trust_remote_code)
    model = MODELS.get(key)
    if model is not None:
        return model, 0.0
    started = time.monotonic()
    model = await anyio.to_thread.run_sync(
        lambda: MODELS.get_or_load(key, name=source.name, provider=ctx.name), limiter=limiter(ctx)
    )
    return model, time.monotonic() - started
