"""Embeddings through ``POST /api/embed``, or ``/api/embeddings`` on servers older than v0.2.6.

Decision: vectors from the legacy endpoint are cut to ``dimensions`` and
L2-normalised here, which is exactly what ``/api/embed`` does on the server.
A caller then gets unit vectors from the same model whatever the server's
age, so an index filled from an old and a new Ollama stays one vector space.
"""

from __future__ import annotations

import math

from aegis_llm import Embeddings, EmbedRequest, ProviderContext
from aegis_llm.errors import InvalidRequest, Unsupported
from aegis_llm.http import HttpApi
from aegis_llm_ollama._connection import api
from aegis_llm_ollama._errors import EndpointMissing, owned_by
from aegis_llm_ollama._settings import OllamaSettings
from aegis_llm_ollama._wire import (
    check_vectors,
    embed_body,
    embed_usage,
    legacy_embed_body,
    legacy_vector,
    vectors,
)

__all__ = ["embed", "fit"]


async def embed(ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
    settings = ctx.settings_as(OllamaSettings)
    connection = api(ctx)
    with owned_by(ctx.name, request.model):
        try:
            answer = await connection.request_json(
                "POST", "/api/embed", embed_body(settings, request), model=request.model
            )
        except EndpointMissing:
            return await _legacy(ctx.name, connection, settings, request)
        found = vectors(answer, len(request.inputs))
        if request.dimensions is not None and len(found[0]) != request.dimensions:
            # A server between v0.2.6 and the one that learnt `dimensions` ignores the field.
            found = [fit(vector, request.dimensions) for vector in found]
    return Embeddings.model_construct(
        vectors=found,
        dimensions=len(found[0]),
        model=request.model,
        provider=ctx.name,
        normalized=True,
        usage=embed_usage(answer),
    )


async def _legacy(
    provider: str, connection: HttpApi, settings: OllamaSettings, request: EmbedRequest
) -> Embeddings:
    """One call per input; ``truncate=False`` cannot be honoured, so it is refused."""
    if not request.truncate:
        raise Unsupported(
            "this Ollama predates /api/embed (v0.2.6) and cannot refuse over-long inputs "
            "(truncate=False)",
            provider=provider,
            hint="upgrade Ollama, or embed with truncate=True",
        )
    found = []
    for text in request.inputs:
        body = legacy_embed_body(settings, request, text)
        answer = await connection.request_json("POST", "/api/embeddings", body, model=request.model)
        found.append(legacy_vector(answer))
    check_vectors(found, len(request.inputs))
    size = request.dimensions or len(found[0])
    return Embeddings.model_construct(
        vectors=[fit(vector, size) for vector in found],
        dimensions=size,
        model=request.model,
        provider=provider,
        normalized=True,
    )


def fit(vector: list[float], dimensions: int) -> list[float]:
    """Cut to ``dimensions`` and scale to unit length, as ``/api/embed`` does.

    A zero vector has no direction and is returned as it is.
    """
    if len(vector) < dimensions:
        raise InvalidRequest(
            f"the model gives {len(vector)}-dimensional vectors, fewer than "
            f"dimensions={dimensions}",
            hint=f"ask for at most {len(vector)} dimensions",
        )
    cut = vector[:dimensions]
    norm = math.hypot(*cut)
    return [x / norm for x in cut] if norm else cut
