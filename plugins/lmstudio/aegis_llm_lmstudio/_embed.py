"""Embeddings through ``/v1/embeddings`` (LM Studio has served it since 0.2.19)."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from pydantic import ValidationError

from aegis_llm import Embeddings, EmbedRequest, ProviderContext
from aegis_llm.errors import ProtocolError, ProviderError
from aegis_llm_lmstudio._connection import connection
from aegis_llm_lmstudio._payload import check_embed, embed_body
from aegis_llm_lmstudio._usage import usage_from
from aegis_llm_lmstudio._values import text

__all__ = ["embed"]

_EMBEDDINGS = "/v1/embeddings"


async def embed(ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
    """One vector per input, in input order whatever order the server listed them in.

    ``normalized`` stays unknown: llama.cpp normalises, llama-cpp-python does
    not, and neither says so in the answer.
    """
    conn = connection(ctx)
    check_embed(request, conn.provider)
    payload = conn.answer(
        await conn.request("POST", _EMBEDDINGS, embed_body(request), model=request.model)
    )
    vectors = _vectors(payload, len(request.inputs), conn.provider)
    dimensions = len(vectors[0])
    if request.dimensions is not None and dimensions != request.dimensions:
        raise ProviderError(
            f"asked for {request.dimensions} dimensions, the server returned {dimensions}",
            provider=conn.provider,
            hint="this server or model ignores `dimensions`; leave it unset",
        )
    try:
        return Embeddings(
            vectors=vectors,
            dimensions=dimensions,
            model=text(payload.get("model")) or request.model,
            provider=conn.provider,
            usage=usage_from(payload),
        )
    except ValidationError:
        raise ProtocolError(
            "an embedding holds something other than numbers", provider=conn.provider
        ) from None


def _vectors(payload: dict[str, Any], expected: int, provider: str) -> list[Any]:
    """The ``embedding`` of each ``data`` item, ordered by its ``index``."""
    items = payload.get("data")
    if not isinstance(items, list) or len(items) != expected:
        raise ProtocolError(
            f"expected {expected} embeddings in `data`, got "
            f"{len(items) if isinstance(items, list) else 'none'}",
            provider=provider,
        )
    if not all(isinstance(item, dict) for item in items):
        raise ProtocolError("an embedding item is not a JSON object", provider=provider)
    indexes = [item.get("index", position) for position, item in enumerate(items)]
    if any(type(i) is not int for i in indexes) or set(indexes) != set(range(expected)):
        raise ProtocolError("embedding indexes are missing or repeated", provider=provider)
    ordered = sorted(zip(indexes, items, strict=True), key=itemgetter(0))
    vectors = [item.get("embedding") for _, item in ordered]
    width = len(vectors[0]) if isinstance(vectors[0], list) else 0
    if width == 0 or any(not isinstance(v, list) or len(v) != width for v in vectors):
        raise ProtocolError(
            "embeddings are empty, not lists, or of different lengths", provider=provider
        )
    return vectors
