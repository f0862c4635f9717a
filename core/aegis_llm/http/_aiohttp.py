"""An httpx transport that moves the bytes with aiohttp: opt-in, asyncio only.

Why it exists: with many requests in flight, httpcore's connection pool costs
more CPU per request than the rest of the stack together (it walks every
pooled connection on every request and release), while aiohttp's pool and C
parser do not. Plugged in *under* httpx, it leaves all of ``HttpApi`` as it is
(typed errors, bounded bodies, deadlines, redirect and credential rules) and
swaps only the layer that moves bytes. Why it is not the default: aiohttp runs
on asyncio only; httpcore over anyio is what serves trio.

What ``HttpApi`` relies on, and so what this keeps equal to httpx's own
transport: failures arrive as httpx's exceptions (a refused port is a
``ConnectError``, so failover is unchanged); nothing is done twice or behind
httpx's back (no redirects, no proxy or cookies of aiohttp's own, no
decompression; httpx's request already carries every header aiohttp would
add); the ``timeout`` extension is read again before every body read, since
``HttpApi`` changes it while reading; and a body closed before its end closes
its connection before ``aclose`` returns.

Importing this module imports aiohttp, so ``HttpApi`` imports it only when chosen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final

import httpx

from aegis_llm.errors import ConfigurationError

try:
    import aiohttp
    import yarl
except ImportError as exc:
    raise ConfigurationError(
        f"http_transport 'aiohttp' needs the aiohttp package, which is missing ({exc})",
        hint='pip install "aegis-llm[aiohttp]", or leave AEGIS_LLM_HTTP_TRANSPORT unset',
    ) from exc

__all__ = ["AiohttpTransport"]

_FRAMING: Final = frozenset({"content-length", "transfer-encoding"})
"""Headers aiohttp writes itself, from the body it actually sends."""

_KEEPALIVE_SECONDS: Final = 5.0
"""httpx's keep-alive expiry: an idle connection is given up as early as by default."""

_ERRORS: Final[tuple[tuple[type[aiohttp.ClientError], type[httpx.TransportError]], ...]] = (
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ClientError, httpx.RemoteProtocolError),
)
"""aiohttp's failures as httpx's, most specific first. ``HttpApi`` needs one
distinction only: nothing answered the connect (failover: refused) against
anything later (the server was there). A connect timeout is the former, as
with httpcore; a hang-up, a reset or a malformed answer is the latter."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=AiohttpTransport(...))``: httpx's API, aiohttp's pool.

    At most ``max_connections`` connections, like the default pool. The aiohttp
    session is created at the first request, in the running loop (aiohttp binds
    it there, and a client may be built before any loop runs); that is also where
    trio is refused. ``aclose``, which ``httpx.AsyncClient.aclose`` calls, closes
    every connection.
    """

    def __init__(self, *, max_connections: int) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open_session()
        # The same dict HttpApi edits between body reads: each read sees the value of its time.
        timeouts: dict[str, float | None] = request.extensions.setdefault("timeout", {})
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() not in _FRAMING
        ]
        body = await request.aread()
        try:
            # A read timeout set before sending bounds the wait for the head, connecting
            # included: aiohttp offers no seam between the two (HttpApi sets none there).
            async with asyncio.timeout(timeouts.get("read")):
                response = await session.request(
                    request.method,
                    yarl.URL(str(request.url), encoded=True),
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(sock_connect=timeouts.get("connect")),
                )
        except aiohttp.ClientError as error:
            raise _as_httpx(error, request) from error
        except TimeoutError as error:
            raise httpx.ReadTimeout("no answer within the read timeout", request=request) from error
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=_Body(response, timeouts, request),
            request=request,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            await _socket_closed()

    def _open_session(self) -> aiohttp.ClientSession:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "http_transport 'aiohttp' runs on asyncio only",
                hint="leave AEGIS_LLM_HTTP_TRANSPORT unset (httpx) to run under trio",
            ) from None
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=_KEEPALIVE_SECONDS
            ),
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            trust_env=False,
        )
        return self._session


class _Body(httpx.AsyncByteStream):
    """An answer's body, each read bounded by the read timeout of that moment."""

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
        content, timeouts = self._response.content, self._timeouts
        try:
            while True:
                async with asyncio.timeout(timeouts.get("read")):
                    piece = await content.readany()
                if not piece:
                    return
                yield piece
        except aiohttp.ClientError as error:
            raise _as_httpx(error, self._request) from error
        except TimeoutError as error:
            raise httpx.ReadTimeout(
                "nothing arrived within the read timeout", request=self._request
            ) from error

    async def aclose(self) -> None:
        # A body received to its end has already given its connection back to the
        # pool; any other's connection cannot carry another request and is closed.
        unfinished = self._response.connection is not None
        self._response.close()
        if unfinished:
            await _socket_closed()


def _as_httpx(error: aiohttp.ClientError, request: httpx.Request) -> httpx.TransportError:
    kind = next(target for source, target in _ERRORS if isinstance(error, source))
    return kind(str(error) or type(error).__name__, request=request)


async def _socket_closed() -> None:
    """Let the sockets just closed really close before returning, as anyio's streams do.

    asyncio closes a transport's socket at the loop's next turn; without taking that
    turn, a caller that goes on without yielding (or a server watching for the hang-up)
    still sees the connection open.
    """
    await asyncio.sleep(0)
