"""list_models and health: what is configured, what is loaded, what it costs.

Both stay cheap: they never load a model or import torch. A model's width
and token limit are known once it is loaded, so listings show them then.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec

from aegis_llm import HealthReport, LoadedModel, ModelInfo, ProviderContext
from aegis_llm_st_cpu import _models, _names
from aegis_llm_st_cpu._memory import process_rss
from aegis_llm_st_cpu._registry import MODELS, ModelKey, ResidentModel
from aegis_llm_st_cpu._settings import StCpuSettings

__all__ = ["health", "list_models"]

_ENGINE = ("sentence_transformers", "torch")


async def list_models(ctx: ProviderContext) -> list[ModelInfo]:
    """The models this client is configured for, then every other model loaded in the process.

    A loaded model is listed once, under the name this client configured for it
    when it has one (an alias, the default model): that is the name callers pass
    to ``embed`` here, while the Hugging Face id it was loaded under may come from
    another client, and a second entry would count its memory twice. A name this
    client has not resolved yet is matched by its alias target, which is the name
    a model is loaded under: resolving could touch the disk or the network, which
    a listing must not.
    """
    settings = ctx.settings_as(StCpuSettings)
    sources = _models.known_sources(ctx)
    configured = [settings.model or ctx.core.embed_model, *settings.aliases]
    by_key = {model.key: model for model in MODELS.resident()}
    by_name = {(model.name, model.key.trust_remote_code): model.key for model in by_key.values()}
    found: dict[str, ModelInfo] = {}
    for name in filter(None, configured):
        source = sources.get(name)
        if source is not None:
            key: ModelKey | None = ModelKey(source.folder, settings.trust_remote_code)
        else:
            target = _names.canonical(name, settings.aliases)
            key = by_name.get((target, settings.trust_remote_code))
        found[name] = _info(ctx, name, by_key.pop(key, None) if key else None)
    for model in by_key.values():
        found.setdefault(model.name, _info(ctx, model.name, model))
    return list(found.values())


async def health(ctx: ProviderContext) -> HealthReport:
    """Up when the engine is installed; loaded models with their memory, and the process RSS."""
    started = time.monotonic()
    missing = [module for module in _ENGINE if find_spec(module) is None]
    rss, rss_source = process_rss()
    if missing:
        return HealthReport(
            provider=ctx.name,
            status="down",
            reason="not_installed",
            message=f"{', '.join(missing)} not installed: pip install aegis-llm[st-cpu]",
            memory_bytes=rss,
            latency_seconds=time.monotonic() - started,
        )
    loaded = MODELS.resident()
    return HealthReport(
        provider=ctx.name,
        status="up",
        message=f"{len(loaded)} model(s) loaded" if loaded else "no model loaded yet",
        latency_seconds=time.monotonic() - started,
        version=_engine_version(),
        loaded_models=tuple(_loaded(model) for model in loaded),
        memory_bytes=rss,
        details={
            "device": "cpu",
            "rss_source": rss_source,
            "models_bytes": sum(model.weights.memory_bytes for model in loaded),
        },
    )


def _info(ctx: ProviderContext, name: str, model: ResidentModel | None) -> ModelInfo:
    if model is None:
        return ModelInfo(id=name, provider=ctx.name, kind="embedding", loaded=False)
    return ModelInfo(
        id=name,
        provider=ctx.name,
        kind="embedding",
        loaded=True,
        context_length=model.weights.max_seq_length,
        dimensions=model.weights.dimensions,
        size_bytes=model.weights.memory_bytes,
        details={"folder": str(model.key.folder)},
    )


def _loaded(model: ResidentModel) -> LoadedModel:
    remaining = model.expires_in()
    return LoadedModel(
        name=model.name,
        size_bytes=model.weights.memory_bytes,
        context_length=model.weights.max_seq_length,
        expires_at=None if remaining is None else datetime.now(UTC) + timedelta(seconds=remaining),
    )


def _engine_version() -> str | None:
    try:
        return f"sentence-transformers {version('sentence-transformers')}"
    except PackageNotFoundError:
        return None
