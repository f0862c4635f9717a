"""Incremental decoders for the two streaming dialects local servers speak.

Bytes are split on complete lines before UTF-8 decoding, so a multibyte
character cut by a TCP chunk boundary is never mangled, and a line that grows
past ``max_line_bytes`` is an error instead of unbounded memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

from aegis_llm.errors import ProtocolError

__all__ = ["NDJSONDecoder", "SSEDecoder", "SSEEvent", "parse_json"]


def parse_json(data: bytes | str, *, what: str = "response") -> Any:
    """JSON exactly as the standard library reads it, whose only failure is ``ProtocolError``.

    orjson parses first: a stream pays one parse per token, and the standard
    library's 3 µs for a chat chunk was the largest cost per token after the
    transport (orjson: under 1 µs); embeddings' floats parse faster too. Two
    things keep the result the standard library's:

    * what orjson refuses but ``json`` reads (``NaN``, ``Infinity``, numbers
      beyond a double, lone surrogates; servers have sent all of them) is
      parsed again by ``json``;
    * orjson turns an integer beyond 64 bits into a float without a word, so a
      text with a run of 19 digits or more (the shortest integer that may not
      fit; shortest-form floats never have one) goes to ``json`` directly.

    JSON on the wire is UTF-8 (RFC 8259), so bytes are decoded as such.
    """
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if _LONG_DIGIT_RUN not in raw.translate(_DIGITS_AS_ZEROS):
        try:  # a try costs nothing; contextlib.suppress cost 1 µs a call here
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, RecursionError) as exc:
        preview = data[:80] if isinstance(data, str) else data[:80].decode("utf-8", "replace")
        raise ProtocolError(f"malformed JSON in {what}: {exc} (starts {preview!r})") from None


_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19


class _LineSplitter:
    """Complete lines out of arbitrary chunks.

    An unfinished line grows in a ``bytearray`` and is split only once a
    newline arrives, so a long line fed in small chunks costs linear time,
    not a re-copy and re-scan of everything buffered on every chunk.
    """

    def __init__(self, max_line_bytes: int) -> None:
        self._max = max_line_bytes
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        if self._buffer:
            self._buffer += data
            if b"\n" not in data:
                self.check(len(self._buffer))
                return []
            size = len(self._buffer)
            lines = bytes(self._buffer).split(b"\n")
        else:
            if b"\n" not in data:
                self._buffer += data
                self.check(len(data))
                return []
            size = len(data)
            lines = data.split(b"\n")
        rest = lines.pop()
        self._buffer = bytearray(rest)
        # No line is longer than what was split, which is usually well under the limit.
        if size > self._max:
            self.check(max(len(rest), *map(len, lines)))
        return lines

    def rest(self) -> bytes:
        rest, self._buffer = bytes(self._buffer), bytearray()
        return rest

    @property
    def empty(self) -> bool:
        """Nothing of an unfinished line is held."""
        return not self._buffer

    def check(self, longest: int) -> None:
        """Refuse a line of ``longest`` bytes if it is over the limit (decoders' fast paths too)."""
        if longest > self._max:
            raise ProtocolError(f"a stream line exceeded {self._max} bytes")


class NDJSONDecoder:
    """Ollama's framing: one JSON value per ``\\n``-terminated line, no terminator record."""

    def __init__(self, *, max_line_bytes: int = 8 * 1024 * 1024) -> None:
        self._lines = _LineSplitter(max_line_bytes)

    def feed(self, data: bytes) -> Iterator[Any]:
        """The values of the lines ``data`` completes, parsed one at a time.

        Lazy on purpose: a malformed line surfaces only after every good
        line before it was handed on, whatever the network's chunking.
        """
        if self._lines.empty and data.endswith(b"\n") and data.count(b"\n") == 1:
            # One whole line, as Ollama sends each token: no splitting needed.
            self._lines.check(len(data) - 1)
            if not data.isspace():
                yield parse_json(data, what="stream line")
            return
        for line in self._lines.feed(data):
            if line and not line.isspace():
                yield parse_json(line, what="stream line")

    def close(self) -> list[Any]:
        """Decode a final line that had no newline (servers may omit the last one)."""
        rest = self._lines.rest()
        return [parse_json(rest, what="stream line")] if rest.strip() else []


class SSEEvent(NamedTuple):
    """One server-sent event. ``error`` holds llama.cpp's non-standard ``error:`` field.

    A named tuple rather than a frozen dataclass: as immutable, and built four
    times faster, which counts at one event per token.
    """

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
        self._held_cr = False
        self._data: list[str] = []
        # Characters of the event so far, newlines between data lines included: an
        # endless run of empty ``data:`` lines must hit the limit too.
        self._size = 0
        self._event = ""
        self._id: str | None = None
        self._error: str | None = None
        self._idle = True  # no line, CR or event field pending from earlier pieces

    def feed(self, data: bytes) -> list[SSEEvent]:
        # Fast path: the piece is exactly one ``data:`` line and its blank line and
        # nothing is pending, which is how OpenAI-style servers send every token. It
        # skips line splitting and field dispatch; results and limits are those of
        # the general path (property tests hold the two together).
        if (
            self._idle
            and data.endswith(b"\n\n")
            and data.startswith(b"data: ")
            and data.count(b"\n") == 2
            and b"\r" not in data
        ):
            # The line's limit implies the event's: its value is 6 bytes shorter than the
            # line, and never has more characters than bytes.
            self._lines.check(len(data) - 2)
            return [SSEEvent(_utf8(data[6:-2]), "message", self._id)]
        if self._held_cr:
            data = b"\r" + data
        # A CR ending a chunk may be the first half of a CRLF split by the network:
        # turning it into a line end now would add a blank line and end the event early.
        self._held_cr = data.endswith(b"\r")
        if self._held_cr:
            data = data[:-1]
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        events = self._events(self._lines.feed(data))
        self._idle = (
            not (self._held_cr or self._data or self._event or self._error is not None)
            and self._lines.empty
        )
        return events

    def close(self) -> list[SSEEvent]:
        """Flush an event the server did not finish with a blank line."""
        events = self._events(self._lines.feed(b"\n")) if self._held_cr else []
        self._held_cr = False
        rest = self._lines.rest()
        if rest:
            self._line(rest)
        event = self._dispatch()
        self._idle = True
        return [*events, event] if event is not None else events

    def _events(self, lines: list[bytes]) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for raw in lines:
            event = self._line(raw)
            if event is not None:
                events.append(event)
        return events

    def _line(self, raw: bytes) -> SSEEvent | None:
        if not raw:
            return self._dispatch()
        line = _utf8(raw)
        if line.startswith("data: "):  # nearly every line of a chat stream
            name, value = "data", line[6:]
        elif line.startswith(":"):
            return None
        else:
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
        if name == "data":
            self._data.append(value)
            self._size += len(value) + 1
            self._check_event(self._size)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "error":
            self._error = value
        return None

    def _check_event(self, size: int) -> None:
        if size > self._max:
            raise ProtocolError(f"an SSE event exceeded {self._max} bytes")

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
        self._data, self._event, self._error, self._size = [], "", None, 0
        return event


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"stream line is not UTF-8: {exc}") from None
