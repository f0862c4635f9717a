"""Loading and unloading models through LM Studio's REST API v1 (0.4+).

v1 deals in *instances*: ``POST /api/v1/models/load`` of a model that already has one
loads a second copy (``key:2``) and doubles the memory it takes, and ``unload`` wants
an instance id, which differs from the model key for second copies and custom
identifiers. So both operations look at ``GET /api/v1/models`` first: loading a loaded
model returns its instance, and unloading a model key unloads each of its instances.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aegis_llm import ModelInfo, ProviderContext
from aegis_llm.errors import ModelNotFound, ProtocolError, ProviderError, Unsupported
from aegis_llm_lmstudio._connection import Connection, connection
from aegis_llm_lmstudio._errors import NO_ROUTE
from aegis_llm_lmstudio._models import model_kind
from aegis_llm_lmstudio._values import amount, count, text

__all__ = ["load_model", "unload_model"]

_MODELS = "/api/v1/models"
_LOAD = "/api/v1/models/load"
_UNLOAD = "/api/v1/models/unload"
_LIST_HINT = "use a model key as `aegis-llm models` lists it"


async def load_model(ctx: ProviderContext, model: str) -> ModelInfo:
    """Load ``model`` with the server's default configuration, unless it is loaded already."""
    conn = connection(ctx)
    entry, instances = _find(await _listing(conn, model), model)
    if instances:
        return _instance_info(entry, instances[0], conn.provider)
    payload = await _send(conn, _LOAD, {"model": model}, model)
    # The docs show both shapes: {instance_id, load_config} and {model_instance_id, config}.
    config = payload.get("config", payload.get("load_config"))
    load_seconds = amount(payload.get("load_time_seconds"))
    return ModelInfo(
        id=text(payload.get("model_instance_id")) or text(payload.get("instance_id")) or model,
        provider=conn.provider,
        kind=model_kind(payload.get("type") or (entry or {}).get("type")),
        loaded=True,
        context_length=count(config.get("context_length")) if isinstance(config, dict) else None,
        details={} if load_seconds is None else {"load_time_seconds": load_seconds},
    )


async def unload_model(ctx: ProviderContext, model: str) -> None:
    """Unload every instance of the model key ``model``, or the one instance of that id.

    The first instance's id is usually the key itself; a key names the whole model, so
    that the model really leaves memory.

        A known model with no instance is already unloaded: nothing to do.
    """
    conn = connection(ctx)
    entry, instances = _find(await _listing(conn, model), model)
    if entry is None:
        raise ModelNotFound(
            f"the server has no model or loaded instance {model!r}",
            model=model,
            provider=conn.provider,
            hint=_LIST_HINT,
        )
    one = model in instances and model != entry["key"]
    for instance in [model] if one else instances:
        await _send(conn, _UNLOAD, {"instance_id": instance}, model)


async def _listing(conn: Connection, model: str) -> list[dict[str, Any]]:
    """The models of ``/api/v1/models``, each an object with a ``key``."""
    payload = await _send(conn, _MODELS, None, model)
    models = payload.get("models")
    if not isinstance(models, list) or not all(
        isinstance(entry, dict) and text(entry.get("key")) for entry in models
    ):
        raise ProtocolError(
            f"{_MODELS} is not a `models` list of models with keys", provider=conn.provider
        )
    return models


def _find(models: list[dict[str, Any]], wanted: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The entry ``wanted`` names (as key or as instance id) and its instance ids."""
    for entry in models:
        instances = _instance_ids(entry)
        if entry["key"] == wanted or wanted in instances:
            if wanted in instances:
                instances.remove(wanted)
                instances.insert(0, wanted)
            return entry, instances
    return None, []


def _instance_ids(entry: Mapping[str, Any]) -> list[str]:
    loaded = entry.get("loaded_instances")
    if not isinstance(loaded, list):
        return []
    return [i["id"] for i in loaded if isinstance(i, dict) and text(i.get("id"))]


def _instance_info(entry: Mapping[str, Any] | None, instance: str, provider: str) -> ModelInfo:
    """A loaded instance as ``load_model`` reports it, from the list's entry."""
    entry = entry or {}
    configs = [
        i.get("config")
        for i in entry.get("loaded_instances", [])
        if isinstance(i, dict) and i.get("id") == instance
    ]
    config = configs[0] if configs and isinstance(configs[0], dict) else {}
    return ModelInfo(
        id=instance,
        provider=provider,
        kind=model_kind(entry.get("type")),
        loaded=True,
        context_length=count(config.get("context_length")),
        details={"already_loaded": True},
    )


async def _send(
    conn: Connection, path: str, body: Mapping[str, Any] | None, model: str
) -> dict[str, Any]:
    """GET (no body) or POST ``path``; a server without the v1 API is ``Unsupported``."""
    try:
        payload = await conn.request("GET" if body is None else "POST", path, body, model=model)
    except ProviderError as exc:
        if exc.status_code not in NO_ROUTE:
            raise
        raise _unsupported(conn) from exc
    return conn.answer(payload)


def _unsupported(conn: Connection) -> Unsupported:
    return Unsupported(
        "this server cannot load or unload models over HTTP",
        provider=conn.provider,
        hint="LM Studio 0.4+ can; otherwise use the server's own tools (`lms load <model>`)",
    )
