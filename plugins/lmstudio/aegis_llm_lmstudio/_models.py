"""The server's models as ``aegis-llm models`` lists them.

LM Studio's native ``/api/v0/models`` is the only list that tells loaded from
merely downloaded (with JIT loading on, ``/v1/models`` lists both alike) and
chat from embedding models; other servers only have ``/v1/models``, where
llama.cpp adds a ``meta`` object with the context length and size.
"""

from __future__ import annotations

from typing import Any

from aegis_llm import ModelInfo, ModelKind, ProviderContext
from aegis_llm.errors import ProtocolError
from aegis_llm_lmstudio._connection import connection
from aegis_llm_lmstudio._values import count, text

__all__ = ["list_models", "model_infos", "model_kind"]

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


def model_kind(value: object) -> ModelKind:
    """The SDK's kind for LM Studio's ``type`` (v0 says ``embeddings``, v1 ``embedding``)."""
    return _KINDS.get(value, "unknown") if isinstance(value, str) else "unknown"


def _native_model(entry: dict[str, Any], provider: str) -> ModelInfo:
    state = entry.get("state")
    return ModelInfo(
        id=entry["id"],
        provider=provider,
        kind=model_kind(entry.get("type")),
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
