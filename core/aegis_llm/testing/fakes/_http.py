"""HTTP/1.1 for the fakes: the request and response values, an incremental request parser
and the bytes of response heads and chunks.

Hand-written instead of `http.server` because the fakes must control framing byte for byte
(Content-Length or chunked, one chunk per flush, a chunk cut in half by a fault) and must
cost little enough that a benchmark measures the client, not the server.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

Headers = tuple[tuple[str, str], ...]

_MAX_HEAD: Final = 64 * 1024
_CRLF: Final = b"\r\n"
_LAST_CHUNK: Final = b"0\r\n\r\n"


class HTTPParseError(Exception):
    """The client sent bytes that are not an HTTP/1.1 request this server can read."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True, slots=True)
class Request:
    """One request as the fake received it.

    `path` is as sent (percent-escapes kept, query split off into `query`); `headers` has
    lower-case names, repeated headers joined with ", ".
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    version: str = "HTTP/1.1"

    def json(self) -> object:
        """The body decoded as JSON (raises `ValueError` when it is not)."""
        return json.loads(self.body)

    @property
    def keep_alive(self) -> bool:
        """Whether the client wants the connection kept after the response."""
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


@dataclass(frozen=True, slots=True)
class Response:
    """A complete answer, body known up front.

    `chunked=True` sends the body as a single chunk with chunked framing instead of a
    Content-Length: that is what Go's net/http (Ollama) does once a handler writes more
    than 2 KiB in one go, and clients must read both.
    """

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json; charset=utf-8"
    headers: Headers = ()
    chunked: bool = False


@dataclass(frozen=True, slots=True)
class StreamResponse:
    """An answer produced piece by piece; each item of `chunks` is flushed on its own.

    With `content_length=None` every item becomes one HTTP chunk, as real servers flush one
    token or progress line at a time. With a `content_length` the items are written raw
    under that length (how the fakes send very large bodies without holding them in memory).
    `interval` pauses before every item but the first, to pace a stream like a model would.
    `error_tail` says how this protocol reports a failure once the status line is out,
    returning the bytes to send before the stream ends; fault injection uses it.
    `error_head` is the answer that replaces the stream when it fails before its first
    item, for protocols that still report an error status then (Ollama's 500 and JSON
    body); without it such a failure is reported through `error_tail`, like a later one.
    """

    chunks: Iterable[bytes]
    status: int = 200
    content_type: str | None = "application/json; charset=utf-8"
    headers: Headers = ()
    interval: float = 0.0
    content_length: int | None = None
    error_tail: Callable[[str], Sequence[bytes]] | None = field(default=None, compare=False)
    error_head: Callable[[str], Response] | None = field(default=None, compare=False)


Answer = Response | StreamResponse
Handler = Callable[[Request], Answer]


class RequestParser:
    """Incremental request parser: `feed` bytes as they arrive, `next_request` when ready.

    Bodies are read by Content-Length or chunked transfer encoding. Pipelined requests stay
    buffered until the server asks for the next one.
    """

    __slots__ = ("_buffer", "_head", "continue_pending")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._head: tuple[str, str, str, dict[str, str], int] | None = None
        self.continue_pending = False

    def feed(self, data: bytes) -> None:
        """Append bytes read from the socket."""
        self._buffer += data

    def next_request(self) -> Request | None:
        """The next complete request, or None until more bytes arrive."""
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD:
                    raise HTTPParseError(431, "request head too large")
                return None
            self._head = _parse_head(bytes(self._buffer[:end]), end + 4)
            self.continue_pending = self._head[3].get("expect", "").lower() == "100-continue"
        method, target, version, headers, start = self._head
        parsed = self._read_body(headers, start)
        if parsed is None:
            return None
        body, end = parsed
        del self._buffer[:end]
        self._head = None
        self.continue_pending = False
        path, _, query = target.partition("?")
        return Request(method, path, query, headers, body, version)

    def _read_body(self, headers: dict[str, str], start: int) -> tuple[bytes, int] | None:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return _read_chunked(self._buffer, start)
        length_text = headers.get("content-length", "0")
        if not length_text.isdigit():
            raise HTTPParseError(400, "bad Content-Length")
        end = start + int(length_text)
        if len(self._buffer) < end:
            return None
        return bytes(self._buffer[start:end]), end


def _parse_head(head: bytes, body_start: int) -> tuple[str, str, str, dict[str, str], int]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HTTPParseError(400, "bad request line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HTTPParseError(400, "bad header line")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return parts[0], parts[1], parts[2], headers, body_start


def _read_chunked(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    body = bytearray()
    position = start
    while True:
        line_end = buffer.find(_CRLF, position)
        if line_end < 0:
            return None
        size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HTTPParseError(400, "bad chunk size") from None
        position = line_end + 2
        if size == 0:
            trailers_end = buffer.find(b"\r\n\r\n", line_end)
            if trailers_end < 0:
                return None
            return bytes(body), trailers_end + 4
        if len(buffer) < position + size + 2:
            return None
        body += buffer[position : position + size]
        position += size + 2


class HeadWriter:
    """Builds response heads; caches the Date header per second and the status lines."""

    __slots__ = ("_date", "_date_second", "_status_lines")

    def __init__(self) -> None:
        self._date_second = -1
        self._date = ""
        self._status_lines: dict[int, str] = {}

    def head(
        self,
        status: int,
        content_type: str | None,
        headers: Headers,
        content_length: int | None,
        *,
        close: bool,
    ) -> bytes:
        """Status line and headers; `content_length=None` announces chunked framing."""
        second = int(time.time())
        if second != self._date_second:
            self._date_second = second
            self._date = email.utils.formatdate(second, usegmt=True)
        lines = [self._status_line(status)]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}\r\n")
        lines.extend(f"{name}: {value}\r\n" for name, value in headers)
        lines.append(f"Date: {self._date}\r\n")
        if content_length is None:
            lines.append("Transfer-Encoding: chunked\r\n")
        else:
            lines.append(f"Content-Length: {content_length}\r\n")
        if close:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _status_line(self, status: int) -> str:
        line = self._status_lines.get(status)
        if line is None:
            try:
                reason = HTTPStatus(status).phrase
            except ValueError:
                reason = "Unknown"
            line = f"HTTP/1.1 {status} {reason}\r\n"
            self._status_lines[status] = line
        return line


def chunk_header(size: int) -> bytes:
    """The size line that opens one chunk (lower-case hex, as Go and Node write it)."""
    return b"%x\r\n" % size


def frame_chunk(data: bytes) -> bytes:
    """One whole chunk: size line, data, CRLF."""
    return b"%x\r\n%b\r\n" % (len(data), data)


CHUNK_END: Final = _CRLF
LAST_CHUNK: Final = _LAST_CHUNK
CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
