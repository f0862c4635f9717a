"""The one pooled HTTP connection per provider instance (imports httpx: load on first use)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import suppress
from typing import Any

import httpx

from aegis_llm import ProviderContext
from aegis_llm.errors import AegisLLMError
from aegis_llm.http import HttpApi, HttpLimits
from aegis_llm_ollama._errors import START_HINT, classify
from aegis_llm_ollama._settings import OllamaSettings

__all__ = ["RESOURCE", "api", "build_api", "drain"]

RESOURCE = "ollama.http"


def build_api(ctx: ProviderContext, transport: httpx.AsyncBaseTransport | None = None) -> HttpApi:
    """An ``HttpApi`` for this instance; ``transport`` lets tests replace the network."""
    settings = ctx.settings_as(OllamaSettings)
    headers = {}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    return HttpApi(
        provider=ctx.name,
        base_url=settings.base_url,
        start_hint=START_HINT,
        limits=HttpLimits.from_context(ctx),
        headers=headers,
        classify=classify,
        transport=transport,
    )


def api(ctx: ProviderContext) -> HttpApi:
    """The instance's connection, opened on first use and closed with the client."""
    return ctx.resource(RESOURCE, lambda: build_api(ctx))


async def drain(records: AsyncGenerator[Any, None]) -> None:
    """Read what follows a stream's last record (Ollama sends only the end of the body).

    Ollama ends the body right after its final object; reading that end
    returns the connection to the pool instead of closing it, which is most
    of a short call's cost. The answer is already complete, so a failure
    here changes nothing for the caller and is dropped.
    """
    with suppress(AegisLLMError):
        async for _ in records:
            pass
