"""Clients wired to st_cpu alone, and direct calls that bypass the chain (errors stay typed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aegis_llm import AegisSettings, AsyncClient, Embeddings, EmbedRequest, Provider

__all__ = ["embed_direct", "st_cpu", "st_cpu_client"]


def st_cpu_client(**settings: Any) -> AsyncClient:
    """A client whose embed chain is st_cpu, with these st_cpu settings."""
    return AsyncClient(
        AegisSettings.load(embed_chain=["st_cpu"]), provider_settings={"st_cpu": settings}
    )


def st_cpu(client: AsyncClient) -> Provider:
    return client.provider("st_cpu")


async def embed_direct(
    client: AsyncClient, texts: Sequence[str], model: str, **fields: Any
) -> Embeddings:
    """Embed through the provider, so its own error reaches the test unwrapped."""
    request = EmbedRequest(model=model, inputs=tuple(texts), **fields)
    return await st_cpu(client).embed(request)
