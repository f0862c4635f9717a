"""Raw `aiohttp.ClientSession`: the asyncio-only reference for what the HTTP layer can do."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from benchkit.clients._base import Api, Opener, Session
from benchkit.clients._wire import WIRES, Wire

__all__ = ["opener"]


class _RawAiohttp:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, wire: Wire) -> None:
        self._session = session
        self._base = base_url
        self._wire = wire

    async def chat(self) -> str:
        body = self._wire.chat_body(stream=False)
        async with self._session.post(self._base + self._wire.chat_path, json=body) as response:
            response.raise_for_status()
            return self._wire.reply(json.loads(await response.read()))

    async def stream(self) -> AsyncIterator[str]:
        body = self._wire.chat_body(stream=True)
        async with self._session.post(self._base + self._wire.chat_path, json=body) as response:
            response.raise_for_status()
            async for line in response.content:
                if not line.strip():
                    continue
                token = self._wire.token(line)
                if token is None:
                    return
                if token:
                    yield token

    async def embed(self) -> int:
        body = self._wire.embed_body()
        async with self._session.post(self._base + self._wire.embed_path, json=body) as response:
            response.raise_for_status()
            return self._wire.vector_count(json.loads(await response.read()))


def opener(api: Api) -> Opener:
    @asynccontextmanager
    async def open_session(base_url: str) -> AsyncIterator[Session]:
        connector = aiohttp.TCPConnector(limit=100)
        async with aiohttp.ClientSession(connector=connector) as session:
            yield _RawAiohttp(session, base_url, WIRES[api])

    return open_session
