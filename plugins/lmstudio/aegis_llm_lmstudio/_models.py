"""The server's models: listing them, and loading or unloading one (LM Studio 0.4+).

LM Studio's native ``/api/v0/models`` is the only list that tells loaded from
merely downloaded (with JIT loading on, ``/v1/models`` lists both alike) and
chat from embedding models; other servers only have ``/v1/models``, where
llama.cpp adds a ``meta`` object with the context length and size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aegis_llm import ModelInfo, ModelKind, ProviderContext
from aegis_llm.errors import ProtocolError, ProviderError, Unsupported
from aegis_llm_lmstudio._connection import Connection, connection
from aegis_llm_lmstudio._errors import NO_ROUTE
from aegis_llm_lmstudio._values import amount, count, text

__all__ = ["list_models", "load_model", "model_infos", "unload_model"]

_LOAD = "/api/v1/models/load"
_UNLOAD = "/api/v1/models/unload"
_KINDS: dict[str, ModelKind] = {
    "llm": "chat",
    "vlm": "chat",
    "embeddings": "embedding",
    "embedding": "embedding",
}
_LOADED = {"loaded": True, "not-loaded": False}
_NATIVE_DETAILS = ("type", "publisher", "arch", "compatibility_type", "state", "capabilities")


async def list_models(ctx: ProviderContext) -> list[ModelInfo]:
    conn = connection(ctx)
    native, payload = await conn.models()
    return model_infos(payload, conn.provider, native=native)


def model_infos(payload: Any, provider: str, *, native: bool) -> list[ModelInfo]:
    """Models from a ``{"data": [...]}`` list, native (``/api/v0``) or OpenAI-style."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list) or not all(
        isinstance(entry, dict) and text(entry.get("id")) for entry in data
    ):
        raise ProtocolError(
            "the model list is not a `data` list of models with ids", provider=provider
        )
    read = _native_model if native else _openai_model
    return [read(entry, provider) for entry in data]


async def load_model(ctx: ProviderContext, model: str) -> ModelInfo:
    """Load ``model`` with the server's default configuration."""
    conn = connection(ctx)
    payload = await _manage(conn, _LOAD, {"model": model}, model)
    # The docs show both shapes: {instance_id, load_config} and {model_instance_id, config}.
    config = payload.get("config", payload.get("load_config"))
    load_seconds = amount(payload.get("load_time_seconds"))
    return ModelInfo(
        id=text(payload.get("model_instance_id")) or text(payload.get("instance_id")) or model,
        provider=conn.provider,
        kind=_kind(payload.get("type")),
        loaded=True,
        context_length=count(config.get("context_length")) if isinstance(config, dict) else None,
        details={} if load_seconds is None else {"load_time_seconds": load_seconds},
    )


async def unload_model(ctx: ProviderContext, model: str) -> None:
    """Unload the instance ``model`` (its id as listed, ``key`` or ``key:2``)."""
    await _manage(connection(ctx), _UNLOAD, {"instance_id": model}, model)


async def _manage(
    conn: Connection, path: str, body: Mapping[str, Any], model: str
) -> dict[str, Any]:
    try:
        payload = await conn.request("POST", path, body, model=model)
    except ProviderError as exc:
        if exc.status_code not in NO_ROUTE:
            raise
        raise Unsupported(
            "this server cannot load or unload models over HTTP",
            provider=conn.provider,
            hint="LM Studio 0.4+ can; otherwise use the server's own tools (`lms load <model>`)",
        ) from exc
    return conn.answer(payload)


def _kind(value: object) -> ModelKind:
    return _KINDS.get(value, "unknown") if isinstance(value, str) else "unknown"


def _native_model(entry: dict[str, Any], provider: str) -> ModelInfo:
    state = entry.get("state")
    return ModelInfo(
        id=entry["id"],
        provider=provider,
        kind=_kind(entry.get("type")),
        loaded=_LOADED.get(state) if isinstance(state, str) else None,
        context_length=count(entry.get("max_context_length")),
        quantization=text(entry.get("quantization")),
        details={key: entry[key] for key in _NATIVE_DETAILS if key in entry},
    )


def _openai_model(entry: dict[str, Any], provider: str) -> ModelInfo:
    meta = entry.get("meta")  # llama.cpp's server; null while the model loads
    if not isinstance(meta, dict):
        meta = {}
    details = {key: entry[key] for key in ("owned_by", "meta") if entry.get(key) is not None}
    return ModelInfo(
        id=entry["id"],
        provider=provider,
        context_length=count(meta.get("n_ctx_train")),
        size_bytes=count(meta.get("size")),
        details=details,
    )
