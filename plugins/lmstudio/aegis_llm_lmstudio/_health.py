"""Whether the server can answer now, as a report that never raises.

LM Studio has no health endpoint, so its model list stands in for one (and
tells which models are loaded). llama.cpp's server answers ``/v1/models``
while its model is still loading and says so only on ``/health`` (503
"Loading model"), so servers without LM Studio's native API are asked there
too; one without ``/health`` (llama-cpp-python, LM Studio) is simply not
asked twice.
"""

from __future__ import annotations

import time
from typing import Any

from aegis_llm import HealthReason, HealthReport, HealthStatus, LoadedModel, ProviderContext
from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from aegis_llm_lmstudio._connection import Connection, connection
from aegis_llm_lmstudio._errors import LOAD_HINT
from aegis_llm_lmstudio._models import model_infos

__all__ = ["health"]

_HEALTH = "/health"


async def health(ctx: ProviderContext) -> HealthReport:
    conn = connection(ctx)
    timeout = ctx.core.health_timeout
    started = time.monotonic()
    try:
        native, payload = await conn.models(timeout=timeout)
        if not native:
            await _still_loading(conn, timeout)
        models = model_infos(payload, conn.provider, native=native)
    except AegisLLMError as exc:
        status, reason = _diagnose(exc)
        return HealthReport(
            provider=conn.provider,
            status=status,
            reason=reason,
            message=str(exc),
            # A round trip only when the server answered (as the Ollama plugin reports it).
            latency_seconds=None
            if isinstance(exc, ProviderUnavailable)
            else time.monotonic() - started,
        )
    latency = time.monotonic() - started
    loaded = tuple(
        LoadedModel(name=model.id, context_length=model.context_length)
        for model in models
        if model.loaded
    )
    details: dict[str, Any] = {"api": "lmstudio" if native else "openai", "models": len(models)}
    if not models:
        return HealthReport(
            provider=conn.provider,
            status="degraded",
            reason="model_missing",
            message="the server has no models: download one (`lms get <model>`) and load it",
            latency_seconds=latency,
            details=details,
        )
    return HealthReport(
        provider=conn.provider,
        status="up",
        message=None if loaded or not native else f"no model loaded yet; {LOAD_HINT}",
        latency_seconds=latency,
        loaded_models=loaded,
        details=details,
    )


async def _still_loading(conn: Connection, timeout: float) -> None:
    """Raise llama.cpp's 503 "Loading model"; any other answer of ``/health`` means nothing."""
    try:
        await conn.api.request_bytes("GET", _HEALTH, timeout=timeout)
    except RateLimited:
        raise
    except AegisLLMError:
        return


def _diagnose(error: AegisLLMError) -> tuple[HealthStatus, HealthReason]:
    if isinstance(error, RateLimited):  # 429/503: up, but not serving now
        return "degraded", "loading" if "loading" in error.message.lower() else "busy"
    if isinstance(error, ProviderUnavailable):
        return "down", "unreachable"
    if isinstance(error, ProviderTimeout):
        return "down", "timeout"
    if isinstance(error, AuthenticationError):
        return "down", "auth"
    return "down", "error"
