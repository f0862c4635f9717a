"""Reading a response body piece by piece within the idle, total and size bounds.

Not an async generator on purpose: the reader is closed explicitly (shielded
from cancellation), so a stream abandoned or cancelled at any point closes its
connection at once instead of waiting for garbage collection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import suppress

import anyio
import httpx

from aegis_llm.errors import ProtocolError, ProviderTimeout
from aegis_llm.http._limits import Deadlines
from aegis_llm.http._secrets import Scrubber

__all__ = ["BoundedBody"]


class BoundedBody:
    """The body of one response, read under its exchange's deadlines and a byte cap.

    ``cap`` bounds the bytes read in total; over it, ``ProtocolError`` ends the
    read before another piece is buffered, and a declared ``Content-Length``
    over it fails before the first read. ``cap=None`` is for reading a bounded
    prefix only (``read(limit)``), as of an error answer.
    """

    def __init__(
        self,
        response: httpx.Response,
        deadlines: Deadlines,
        *,
        cap: int | None,
        provider: str,
        scrubber: Scrubber | None = None,
    ) -> None:
        self._response = response
        self._deadlines = deadlines
        self._cap = cap
        self._provider = provider
        self._scrubber = scrubber
        self._size = 0
        self._pieces = _pieces_of(response)
        self._exhausted = False
        # httpx's transports (and ours, for aiohttp) read this per-request dict before
        # every socket read, so setting "read" bounds each wait without a cancel scope
        # per piece (measured: a scope per piece was the largest cost of a long stream).
        # A custom transport that ignores it gets no idle or total bound.
        self._timeouts: dict[str, float | None] = response.request.extensions.setdefault(
            "timeout", {}
        )
        if scrubber is None:
            self.next = self._next_raw  # type: ignore[method-assign]  # one frame less per piece

    def check_declared_size(self) -> None:
        """Refuse a body whose ``Content-Length`` is over the cap, before reading any of it."""
        declared = self._response.headers.get("content-length", "")
        if self._cap is not None and declared.isdigit() and int(declared) > self._cap:
            raise ProtocolError(
                f"the answer declares {declared} bytes, over max_response_bytes={self._cap}",
                provider=self._provider,
                hint="raise AEGIS_LLM_MAX_RESPONSE_BYTES if such answers are expected",
            )

    async def next(self) -> bytes | None:
        """The next piece of the body (credentials masked), ``None`` at its end."""
        scrubber = self._scrubber
        if scrubber is None:
            return await self._next_raw()
        while (piece := await self._next_raw()) is not None:
            masked = scrubber.feed(piece)
            if masked:
                return masked
        return scrubber.flush() or None

    async def _next_raw(self) -> bytes | None:
        deadlines = self._deadlines
        remaining = deadlines.end_at - deadlines.clock()
        if remaining <= 0:
            raise self._timed_out(total=True)
        wait = min(deadlines.idle, remaining)
        self._timeouts["read"] = wait
        try:
            piece = await self._pieces.__anext__()
        except StopAsyncIteration:
            piece = None
        except httpx.ReadTimeout:
            raise self._timed_out(total=wait == remaining) from None
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise ProtocolError(
                f"the answer broke off: {type(exc).__name__}",
                provider=self._provider,
                hint="the server closed the connection mid-answer; check its log",
            ) from exc
        if piece is None:
            self._exhausted = True
            return None
        self._size += len(piece)
        if self._cap is not None and self._size > self._cap:
            raise ProtocolError(
                f"the answer exceeded max_response_bytes={self._cap}",
                provider=self._provider,
                hint="raise AEGIS_LLM_MAX_RESPONSE_BYTES if such answers are expected",
            )
        return piece

    async def read(self, limit: int | None = None) -> bytes:
        """The rest of the body, or with ``limit`` at most that many bytes of it."""
        parts: list[bytes] = []
        size = 0
        while limit is None or size < limit:
            piece = await self.next()
            if piece is None:
                break
            parts.append(piece)
            size += len(piece)
        data = b"".join(parts)
        return data if limit is None else data[:limit]

    async def aclose(self) -> None:
        """Release the connection, even while the caller is being cancelled."""
        with anyio.CancelScope(shield=True):
            if not self._exhausted:
                await self._unwind()
            await self._response.aclose()

    async def _unwind(self) -> None:
        """End httpx's chain of body generators from the inside.

        The body is read through five nested async generators (httpx, then
        httpcore); closing the outermost leaves the inner ones suspended, and
        trio warns about each one later collected unfinished. A read in an
        already-cancelled scope makes the innermost socket read raise, which
        unwinds every generator above it and closes the connection (an
        unfinished answer cannot be reused). Bytes already buffered come out
        first, at most one socket read's worth, and are dropped.
        """
        with anyio.CancelScope() as scope:
            scope.cancel()
            with suppress(StopAsyncIteration, httpx.TransportError, httpx.StreamError):
                while True:
                    await anext(self._pieces)

    def _timed_out(self, *, total: bool) -> ProviderTimeout:
        deadlines = self._deadlines
        if total:
            return ProviderTimeout(
                f"the answer took longer than {deadlines.total_budget:g}s in total",
                provider=self._provider,
                hint="raise AEGIS_LLM_STREAM_TIMEOUT for longer answers",
            )
        return ProviderTimeout(
            f"the server sent nothing for {deadlines.idle:g}s in the middle of an answer",
            provider=self._provider,
            hint="the server may be overloaded; raise AEGIS_LLM_IDLE_TIMEOUT if it is just slow",
        )


def _pieces_of(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as the transport delivers it, unless it was compressed anyway.

    ``HttpApi`` asks for ``identity``, so the body is normally the bytes on the
    wire and httpx's decoding and re-chunking layers (two generators per piece,
    measurable at one piece per token) have nothing to do. A server that
    compresses regardless still gets decoded.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    stream = response.stream
    if encoding in ("", "identity") and isinstance(stream, httpx.AsyncByteStream):
        return stream.__aiter__()
    return response.aiter_bytes()
