"""A replaying HTTP/1.1 front for the fakes: each distinct request is answered by the fake
once, then replayed from memory.

The fakes build every answer (JSON encoding, 500 stream chunks, 262,144 floats), which
costs about as much as a lean client spends reading it. Benchmarks send the same request
again and again, so the first answer is recorded byte for byte and every later identical
request (same method, target and body) gets those bytes in one write: the server's cost
per request drops to a dictionary lookup, and what is measured is the client. The bytes
are still the fake's, so the wire format is whatever the fakes were checked to speak.

Only what the clients under test send is parsed: a request head and a Content-Length
body. Misses are counted, so a client whose requests never repeat shows up in the
server's cost instead of hiding in it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

__all__ = ["ReplayCounters", "ReplayFront"]

_HEAD_END: Final = b"\r\n\r\n"
_CLOSE_HEADER: Final = b"Connection: close\r\n"
_BAD_REQUEST: Final = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(slots=True)
class ReplayCounters:
    """How many requests were answered, and how many of them had to ask the fake."""

    requests: int = 0
    misses: int = 0


@dataclass(slots=True)
class ReplayFront:
    """Listens on 127.0.0.1 and answers from its recordings of the fake at `upstream`."""

    upstream_host: str
    upstream_port: int
    counters: ReplayCounters = field(default_factory=ReplayCounters)
    recordings: dict[bytes, bytes] = field(default_factory=dict)

    async def start(self) -> asyncio.Server:
        """Serve on an ephemeral loopback port."""
        loop = asyncio.get_running_loop()
        return await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0, backlog=1024)

    async def record(self, key: bytes, head: bytes, body: bytes) -> bytes:
        """Ask the fake once (on its own connection, closed after the answer) and keep it."""
        reader, writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        try:
            writer.write(_closing(head) + body)
            answer = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
        replay = answer.replace(_CLOSE_HEADER, b"", 1)
        self.recordings[key] = replay
        self.counters.misses += 1
        return replay


def _closing(head: bytes) -> bytes:
    """The request head with `Connection: close`, so the fake's answer ends at EOF."""
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + _HEAD_END


def _content_length(head: bytes) -> int | None:
    """The declared body size; None when the head announces a framing we do not read."""
    lowered = head.lower()
    if b"\r\ntransfer-encoding:" in lowered:
        return None
    start = lowered.find(b"\r\ncontent-length:")
    if start < 0:
        return 0
    start += len(b"\r\ncontent-length:")
    end = lowered.find(b"\r\n", start)
    value = lowered[start:] if end < 0 else lowered[start:end]
    try:
        return int(value)
    except ValueError:
        return None


class _Connection(asyncio.Protocol):
    """One client connection; requests on it are answered strictly in order."""

    def __init__(self, front: ReplayFront) -> None:
        self._front = front
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._recording: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._recording is not None:
            self._recording.cancel()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._recording is None:
            self._answer_buffered()

    def _answer_buffered(self) -> None:
        while self._transport is not None:
            end = self._buffer.find(_HEAD_END)
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            length = _content_length(head)
            if length is None:
                self._transport.write(_BAD_REQUEST)
                self._transport.close()
                return
            stop = end + len(_HEAD_END) + length
            if len(self._buffer) < stop:
                return
            body = bytes(self._buffer[end + len(_HEAD_END) : stop])
            del self._buffer[:stop]
            key = head[: head.find(b"\r\n")] + b"\n" + body
            self._front.counters.requests += 1
            recorded = self._front.recordings.get(key)
            if recorded is None:
                self._recording = asyncio.ensure_future(self._record_then_go_on(key, head, body))
                return
            self._transport.write(recorded)

    async def _record_then_go_on(self, key: bytes, head: bytes, body: bytes) -> None:
        answer = await self._front.record(key, head, body)
        self._recording = None
        if self._transport is not None:
            self._transport.write(answer)
            self._answer_buffered()
