"""The server itself: its models, its health, and pulling new models."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from aegis_llm import (
    HealthReason,
    HealthReport,
    HealthStatus,
    ModelInfo,
    ProviderContext,
    PullProgress,
)
from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)
from aegis_llm.http import HttpApi
from aegis_llm_ollama._connection import api, drain
from aegis_llm_ollama._errors import EndpointMissing, ServerReported, model_not_found, owned_by
from aegis_llm_ollama._inventory import (
    loaded_models,
    model_infos,
    pull_step,
    server_version,
    tag_names,
)
from aegis_llm_ollama._names import name_key
from aegis_llm_ollama._settings import OllamaSettings

__all__ = ["health", "list_models", "pull"]


async def _running(connection: HttpApi, timeout: float | None = None) -> Any | None:
    """``/api/ps``, or ``None`` on servers before v0.1.38 that lack it."""
    try:
        return await connection.request_json("GET", "/api/ps", timeout=timeout)
    except EndpointMissing:
        return None


async def list_models(ctx: ProviderContext) -> list[ModelInfo]:
    connection = api(ctx)
    with owned_by(ctx.name):
        tags = await connection.request_json("GET", "/api/tags")
        return model_infos(tags, await _running(connection), ctx.name)


def _expected(ctx: ProviderContext) -> list[str]:
    """The default models the application configured for the chains this instance is in.

    Only models set explicitly (argument, environment, config file) count: the
    core's built-in default embedding model is meant for ``st_cpu``, and an
    instance that was merely put in a chain is not expected to have it.
    """
    core = ctx.core
    chosen = core.model_fields_set
    wanted = []
    for chain, field in ((core.chain, "chat_model"), (core.embed_chain, "embed_model")):
        model = getattr(core, field)
        if model and field in chosen and ctx.name in chain:
            wanted.append(core.aliases.get(model, {}).get(ctx.name, model))
    return wanted


async def _missing(connection: HttpApi, ctx: ProviderContext, timeout: float) -> list[str]:
    wanted = _expected(ctx)
    if not wanted:
        return []
    names = tag_names(await connection.request_json("GET", "/api/tags", timeout=timeout))
    return [model for model in wanted if name_key(model) not in names]


_DOWN: tuple[tuple[type[AegisLLMError], HealthStatus, HealthReason], ...] = (
    (ProviderUnavailable, "down", "unreachable"),
    (ProviderTimeout, "down", "timeout"),
    (RateLimited, "degraded", "busy"),
    (AuthenticationError, "down", "auth"),
)


def _failed(provider: str, exc: AegisLLMError, latency: float | None) -> HealthReport:
    status, reason = next(
        ((s, r) for kind, s, r in _DOWN if isinstance(exc, kind)), ("down", "error")
    )
    return HealthReport(
        provider=provider, status=status, reason=reason, message=str(exc), latency_seconds=latency
    )


async def health(ctx: ProviderContext) -> HealthReport:
    """Version and latency from ``/api/version``, resident models from ``/api/ps``.

    A configured default model that is not pulled makes the report
    ``degraded`` / ``model_missing``: the server is up but cannot serve what
    this application will ask of it.
    """
    connection = api(ctx)
    timeout = ctx.core.health_timeout
    latency = None
    started = time.monotonic()
    try:
        with owned_by(ctx.name):
            answer = await connection.request_json("GET", "/api/version", timeout=timeout)
            version = server_version(answer)
            latency = time.monotonic() - started
            running = await _running(connection, timeout)
            loaded = () if running is None else loaded_models(running)
            missing = await _missing(connection, ctx, timeout)
    except AegisLLMError as exc:
        return _failed(ctx.name, exc, latency)
    return HealthReport(
        provider=ctx.name,
        status="degraded" if missing else "up",
        reason="model_missing" if missing else None,
        message=str(model_not_found(missing[0], f"not pulled: {', '.join(missing)}"))
        if missing
        else None,
        latency_seconds=latency,
        version=version,
        loaded_models=loaded,
        memory_bytes=None if running is None else sum(m.size_bytes or 0 for m in loaded),
        details={"base_url": ctx.settings_as(OllamaSettings).base_url},
    )


async def pull(ctx: ProviderContext, model: str) -> AsyncGenerator[PullProgress, None]:
    """Stream ``/api/pull`` progress until ``success``; a re-run resumes the download."""
    body = {"model": model, "stream": True}
    records = api(ctx).stream("/api/pull", body, "ndjson", model=model)
    with owned_by(ctx.name, model):
        try:
            async with aclosing(records):
                async for record in records:
                    step = pull_step(record)
                    if step.status == "success":
                        await drain(records)
                        yield step
                        return
                    yield step
        except ServerReported as exc:
            raise _pull_failed(model, exc.message) from None
        except ProviderError as exc:
            # Reported before any progress line, the same failure arrives as an HTTP status.
            if exc.status_code is None or exc.status_code < 500 or not _unknown(exc.message):
                raise
            raise _pull_failed(model, exc.message) from None
        raise ProtocolError(
            f"the pull of {model!r} ended before Ollama reported success",
            hint="run the pull again; Ollama resumes where it stopped",
        )


def _unknown(message: str) -> bool:
    """Whether a pull failed because the registry has no such model or tag."""
    text = message.lower()
    return (
        "file does not exist" in text
        or "manifest unknown" in text
        or ("manifest" in text and "not found" in text)
    )


def _pull_failed(model: str, message: str) -> AegisLLMError:
    if _unknown(message):
        missing = model_not_found(model, f"the registry has no model {model!r}: {message}")
        missing.hint = "check the name and tag on https://ollama.com/library"
        return missing
    return ProviderError(
        f"the pull of {model!r} failed: {message}",
        hint="run the pull again; Ollama resumes where it stopped",
    )
