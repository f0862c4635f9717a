"""Embeddings through ``/v1/embeddings`` (LM Studio has served it since 0.2.19)."""

from __future__ import annotations

import array
import base64
import binascii
import sys
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from pydantic import ValidationError

from aegis_llm import Embeddings, EmbedRequest, ProviderContext, Usage
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
            usage=_usage(payload, request.inputs),
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
    vectors = [_decoded(item.get("embedding"), provider) for _, item in ordered]
    width = len(vectors[0]) if isinstance(vectors[0], list) else 0
    if width == 0 or any(not isinstance(v, list) or len(v) != width for v in vectors):
        raise ProtocolError(
            "embeddings are empty, not lists, or of different lengths", provider=provider
        )
    return vectors


def _decoded(vector: object, provider: str) -> object:
    """A vector as numbers: ``encoding_format: base64`` (asked for through ``extra``) sends
    each one as base64 of little-endian float32s, as OpenAI's API does."""
    if not isinstance(vector, str):
        return vector
    try:
        raw = base64.b64decode(vector, validate=True)
    except binascii.Error:
        raise ProtocolError("an embedding is a string but not base64", provider=provider) from None
    if len(raw) % 4:
        raise ProtocolError(
            f"a base64 embedding of {len(raw)} bytes is not whole float32s", provider=provider
        )
    floats = array.array("f", raw)
    if sys.byteorder == "big":
        floats.byteswap()
    return floats.tolist()


def _usage(payload: dict[str, Any], inputs: Sequence[str]) -> Usage:
    """The server's token counts, unless they are the zeros old LM Studio builds report."""
    usage = usage_from(payload)
    if any(inputs) and not usage.prompt_tokens and not usage.total_tokens:
        return usage.model_copy(update={"prompt_tokens": None, "total_tokens": None})
    return usage
