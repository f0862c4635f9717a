"""Raw `httpx.AsyncClient`: the baseline every ratio in the table is taken against."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from benchkit.clients._base import Api, Opener, Session
from benchkit.clients._wire import WIRES, Wire

__all__ = ["opener"]


class _RawHttpx:
    def __init__(self, client: httpx.AsyncClient, wire: Wire) -> None:
        self._client = client
        self._wire = wire

    async def chat(self) -> str:
        response = await self._client.post(
            self._wire.chat_path, json=self._wire.chat_body(stream=False)
        )
        response.raise_for_status()
        return self._wire.reply(response.json())

    async def stream(self) -> AsyncIterator[str]:
        body = self._wire.chat_body(stream=True)
        async with self._client.stream("POST", self._wire.chat_path, json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line:
                    continue
                token = self._wire.token(line)
                if token is None:
                    return
                if token:
                    yield token

    async def embed(self) -> int:
        response = await self._client.post(self._wire.embed_path, json=self._wire.embed_body())
        response.raise_for_status()
        return self._wire.vector_count(response.json())


def opener(api: Api, *, limits: httpx.Limits | None = None) -> Opener:
    """Sessions on a plain `httpx.AsyncClient` (pool sized for 64 requests in flight)."""

    @asynccontextmanager
    async def open_session(base_url: str) -> AsyncIterator[Session]:
        pool = limits or httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=base_url, limits=pool, timeout=60) as client:
            yield _RawHttpx(client, WIRES[api])

    return open_session
