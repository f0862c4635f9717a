"""Incremental decoders for the two streaming dialects local servers speak.

Bytes are split on complete lines before UTF-8 decoding, so a multibyte
character cut by a TCP chunk boundary is never mangled, and a line that grows
past ``max_line_bytes`` is an error instead of unbounded memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aegis_llm.errors import ProtocolError

__all__ = ["NDJSONDecoder", "SSEDecoder", "SSEEvent", "parse_json"]


def parse_json(data: bytes | str, *, what: str = "response") -> Any:
    """``json.loads`` whose only failure is ``ProtocolError``."""
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        preview = data[:80] if isinstance(data, str) else data[:80].decode("utf-8", "replace")
        raise ProtocolError(f"malformed JSON in {what}: {exc} (starts {preview!r})") from None


class _LineSplitter:
    def __init__(self, max_line_bytes: int) -> None:
        self._max = max_line_bytes
        self._buffer = b""

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer + data if self._buffer else data
        lines = buffer.split(b"\n")
        self._buffer = lines.pop()
        if len(self._buffer) > self._max:
            raise ProtocolError(f"a stream line exceeded {self._max} bytes")
        for line in lines:
            if len(line) > self._max:
                raise ProtocolError(f"a stream line exceeded {self._max} bytes")
        return lines

    def rest(self) -> bytes:
        rest, self._buffer = self._buffer, b""
        return rest


class NDJSONDecoder:
    """Ollama's framing: one JSON value per ``\\n``-terminated line, no terminator record."""

    def __init__(self, *, max_line_bytes: int = 8 * 1024 * 1024) -> None:
        self._lines = _LineSplitter(max_line_bytes)

    def feed(self, data: bytes) -> list[Any]:
        return [
            parse_json(line, what="stream line") for line in self._lines.feed(data) if line.strip()
        ]

    def close(self) -> list[Any]:
        """Decode a final line that had no newline (servers may omit the last one)."""
        rest = self._lines.rest()
        return [parse_json(rest, what="stream line")] if rest.strip() else []


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event. ``error`` holds llama.cpp's non-standard ``error:`` field."""

    data: str
    event: str = "message"
    id: str | None = None
    error: str | None = None


class SSEDecoder:
    """Server-sent events (WHATWG): ``field: value`` lines, events end at a blank line.

    Comment lines (``: ping``) are dropped; lines may end in CRLF, LF or CR.
    """

    def __init__(self, *, max_line_bytes: int = 8 * 1024 * 1024) -> None:
        self._lines = _LineSplitter(max_line_bytes)
        self._max = max_line_bytes
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None
        self._error: str | None = None

    def feed(self, data: bytes) -> list[SSEEvent]:
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events: list[SSEEvent] = []
        for raw in self._lines.feed(data):
            event = self._line(raw)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[SSEEvent]:
        """Flush an event the server did not finish with a blank line."""
        rest = self._lines.rest()
        if rest:
            self._line(rest)
        event = self._dispatch()
        return [event] if event is not None else []

    def _line(self, raw: bytes) -> SSEEvent | None:
        if not raw:
            return self._dispatch()
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"stream line is not UTF-8: {exc}") from None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            if sum(map(len, self._data)) > self._max:
                raise ProtocolError(f"an SSE event exceeded {self._max} bytes")
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "error":
            self._error = value
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data and self._error is None:
            self._event = ""
            return None
        event = SSEEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            error=self._error,
        )
        self._data, self._event, self._error = [], "", None
        return event
