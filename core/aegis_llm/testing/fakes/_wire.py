"""Byte-level encodings shared by the fakes: compact JSON, NDJSON lines, SSE events, timestamps.

Every real server in scope (Go's encoding/json, Node's JSON.stringify, nlohmann::json,
pydantic) writes compact JSON with raw UTF-8, so the fakes do too: a client that only
works with ASCII-escaped or pretty-printed bodies would pass here and fail in production
otherwise. One module-level encoder is reused because `json.dumps` with keyword
arguments builds a fresh encoder on every call, which a 500-token benchmark would feel.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Final

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

JSON_UTF8: Final = "application/json; charset=utf-8"
NDJSON: Final = "application/x-ndjson"
EVENT_STREAM: Final = "text/event-stream"
TEXT_UTF8: Final = "text/plain; charset=utf-8"

SSE_DONE: Final = b"data: [DONE]\n\n"
SSE_PING: Final = b": ping\n\n"


def json_bytes(value: object) -> bytes:
    """Encode `value` as compact UTF-8 JSON."""
    return _ENCODER.encode(value).encode()


def json_int(value: object) -> int | None:
    """`value` if it is a JSON integer (not a bool, which Python counts as one), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def ndjson_line(value: object) -> bytes:
    """One newline-terminated JSON object, as Ollama streams them."""
    return _ENCODER.encode(value).encode() + b"\n"


def sse_event(value: object, field: str = "data") -> bytes:
    """One SSE event whose `field` carries `value` as JSON.

    `field` is `data` for every OpenAI-style server; llama.cpp reports a mid-stream
    failure in a non-standard `error` field instead, which standard decoders skip.
    """
    return f"{field}: {_ENCODER.encode(value)}\n\n".encode()


class RawJSON(bytes):
    """Already-encoded JSON that `json_object` splices in unchanged (cached vectors)."""


def json_object(fields: Mapping[str, object]) -> bytes:
    """Encode an object whose values may be `RawJSON`; keys keep their order."""
    parts = [
        _ENCODER.encode(key).encode()
        + b":"
        + (value if isinstance(value, RawJSON) else _ENCODER.encode(value).encode())
        for key, value in fields.items()
    ]
    return b"{" + b",".join(parts) + b"}"


def raw_array(items: Iterable[bytes]) -> RawJSON:
    """A JSON array of already-encoded items."""
    return RawJSON(b"[" + b",".join(items) + b"]")


HOLE: Final = "\x00hole\x00"
"""Marks a value in a `Template` that each chunk fills in."""


class Template:
    """A JSON object encoded once, with `HOLE`s that `fill` encodes per chunk.

    A 500-token stream repeats the same object 500 times with one or two changing
    values; encoding only those keeps the fake's cost per token low enough for a
    benchmark to measure the client rather than the server.
    """

    __slots__ = ("_parts",)

    def __init__(self, value: object, *, prefix: bytes = b"", suffix: bytes = b"") -> None:
        encoded = prefix + json_bytes(value) + suffix
        self._parts = encoded.split(json_bytes(HOLE))

    def fill(self, *values: object) -> bytes:
        """The object with each hole replaced, in order, by the JSON of `values`."""
        parts = self._parts
        pieces = [parts[0]]
        for value, part in zip(values, parts[1:], strict=True):
            pieces += (_ENCODER.encode(value).encode(), part)
        return b"".join(pieces)


class _SecondStamp:
    """The last second formatted, as one (second, text) pair so threads never mix them."""

    pair = (-1, "")


_LAST_SECOND: Final = _SecondStamp()


def go_timestamp(now_ns: int | None = None) -> str:
    """UTC time the way Go's `time.Time` marshals it (RFC 3339, nanoseconds, zeros trimmed).

    Streams stamp every token, so the part up to the second is formatted once a second.
    """
    ns = time.time_ns() if now_ns is None else now_ns
    seconds, fraction = divmod(ns, 1_000_000_000)
    cached_second, text = _LAST_SECOND.pair
    if seconds != cached_second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _LAST_SECOND.pair = (seconds, text)
    if fraction:
        return f"{text}.{fraction:09d}".rstrip("0") + "Z"
    return text + "Z"
