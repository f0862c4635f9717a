"""Prototype: an httpx transport that sends requests through aiohttp (asyncio only).

Why: under many requests in flight, httpx's own connection pool (httpcore) spends more
CPU per request than the rest of the stack together, while aiohttp's C-accelerated
HTTP parser and simpler pool do not. Plugging aiohttp in *under* httpx keeps every
line of aegis-llm's HTTP kit (`HttpApi`: typed errors, bounded bodies, timeouts) and
only swaps the layer that moves bytes. It is asyncio-only, so it must stay optional:
the default transport (httpcore over anyio) is what gives trio support.

Timeouts follow httpx's per-request `timeout` extension, read again before every body
read, because `HttpApi.stream` lowers the read timeout to the idle timeout once the
first byte has arrived by editing that dict.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final

import aiohttp
import httpx
import sniffio

__all__ = ["AiohttpTransport"]

_HOP_BY_HOP: Final = frozenset({"content-length", "transfer-encoding", "connection"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncClient(transport=AiohttpTransport())`: same API, aiohttp underneath.

    The aiohttp session is created on first use, inside the running event loop, and
    closed by `aclose` (which `httpx.AsyncClient.aclose` calls).
    """

    def __init__(self, *, max_connections: int = 100) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_this_loop()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() not in _HOP_BY_HOP
        ]
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
                ),
            )
        except aiohttp.ClientConnectorError as error:
            raise httpx.ConnectError(str(error), request=request) from error
        except aiohttp.ServerTimeoutError as error:
            raise httpx.ReadTimeout(str(error), request=request) from error
        except TimeoutError as error:
            raise httpx.ConnectTimeout(str(error), request=request) from error
        except aiohttp.ClientError as error:
            raise httpx.RemoteProtocolError(str(error), request=request) from error
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, timeouts, request),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
            request=request,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _session_for_this_loop(self) -> aiohttp.ClientSession:
        if self._session is None:
            if sniffio.current_async_library() != "asyncio":
                raise RuntimeError("AiohttpTransport runs under asyncio only; use the default")
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                auto_decompress=False,  # httpx decodes Content-Encoding itself
            )
        return self._session


class _Body(httpx.AsyncByteStream):
    """The response body, read with the (possibly changed) read timeout each time."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        timeouts: dict[str, float | None],
        request: httpx.Request,
    ) -> None:
        self._response = response
        self._timeouts = timeouts
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                async with asyncio.timeout(self._timeouts.get("read")):
                    data = await content.readany()
                if not data:
                    return
                yield data
        except TimeoutError as error:
            raise httpx.ReadTimeout(
                "no data within the read timeout", request=self._request
            ) from error
        except aiohttp.ClientError as error:
            raise httpx.RemoteProtocolError(str(error), request=self._request) from error

    async def aclose(self) -> None:
        response = self._response
        if response.content.at_eof():
            response.release()
        else:
            response.close()
