"""Giving an aegis-llm plugin another httpx transport, the way the core could offer it.

Today no setting chooses the transport, so the prototype seeds the plugin's connection
resource before first use, built by the plugin's own factory with `transport=`. Both
names it imports are private to the plugins: this is a measurement aid, and the report
in `bench/README.md` says how the core should make it a setting instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from benchkit.clients._base import Api

__all__ = ["preparer"]


def preparer(api: Api, transport: Callable[[], httpx.AsyncBaseTransport]) -> Callable[[Any], None]:
    """A hook for `_aegis.opener` that installs `transport()` under the API's plugin."""

    def prepare(client: Any) -> None:
        if api == "ollama":
            from aegis_llm_ollama import _connection as ollama_connection

            ctx = client.provider("ollama").ctx
            ctx.resource(
                ollama_connection.RESOURCE,
                lambda: ollama_connection.build_api(ctx, transport=transport()),
            )
        else:
            from aegis_llm_lmstudio import _connection as lmstudio_connection

            ctx = client.provider("lmstudio").ctx
            ctx.resource(
                lmstudio_connection.RESOURCE,
                lambda: lmstudio_connection.Connection(ctx, transport=transport()),
            )

    return prepare
