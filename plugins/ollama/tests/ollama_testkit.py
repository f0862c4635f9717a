"""Helpers for the Ollama plugin's tests: a provider context on a scripted transport.

``httpx.MockTransport`` hands the plugin exactly the byte chunks a test chose,
so framing (lines and UTF-8 characters cut across chunks) is exercised
without a socket; the tests against the loopback fake cover the real network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any

import httpx

from aegis_llm import AegisSettings, ProviderContext
from aegis_llm._settings import load_provider_settings
from aegis_llm_ollama import OllamaSettings
from aegis_llm_ollama._connection import RESOURCE, build_api

Handler = Callable[[httpx.Request], httpx.Response]


class Chunks(httpx.AsyncByteStream):
    """A response body delivered in exactly these pieces."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def context(
    handler: Handler | None = None,
    *,
    core: dict[str, Any] | None = None,
    **settings: Any,
) -> ProviderContext:
    """A context whose HTTP connection goes to ``handler`` (or to ``base_url`` if None)."""
    ctx = ProviderContext(
        name="ollama",
        plugin="ollama",
        settings=load_provider_settings(OllamaSettings, "ollama", {}, settings),
        core=AegisSettings.model_construct(**(core or {})),
    )
    if handler is not None:
        transport = httpx.MockTransport(handler)
        ctx.resource(RESOURCE, lambda: build_api(ctx, transport))
    return ctx


def ndjson(*records: object) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)


def chat_stream(pieces: Sequence[str], *, model: str = "llama3.2", **final: Any) -> bytes:
    """The NDJSON body Ollama streams for ``pieces``, ending with a done object."""
    message = {"role": "assistant", "content": ""}
    last = {
        "model": model,
        "created_at": "2025-01-01T00:00:00Z",
        "message": message,
        "done": True,
        "done_reason": "stop",
        **final,
    }
    return ndjson(
        *(
            {
                "model": model,
                "created_at": "2025-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": p},
                "done": False,
            }
            for p in pieces
        ),
        last,
    )


def answer(
    body: bytes | object,
    *,
    status: int = 200,
    chunks: Sequence[bytes] | None = None,
    seen: list[httpx.Request] | None = None,
) -> Handler:
    """A handler answering every request the same way (``chunks`` overrides ``body``)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, stream=Chunks(chunks if chunks is not None else [raw]))

    return handle


def routes(table: dict[str, Handler], seen: list[httpx.Request] | None = None) -> Handler:
    """Dispatch by path; unknown paths answer like Go's mux (plain-text 404)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        route = table.get(request.url.path)
        if route is None:
            return httpx.Response(404, text="404 page not found")
        return route(request)

    return handle


def sent(request: httpx.Request) -> Any:
    """The JSON body a request carried."""
    return json.loads(request.content)
