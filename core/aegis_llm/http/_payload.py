"""What HttpApi sends: strict JSON, handed to httpx as a stream that needs no finalizing.

httpx wraps request bytes in an async generator; when a request is cancelled
while its body is being written, that generator is left suspended, and trio
warns about every one later collected unfinished. A plain async iterator has
nothing to finalize.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from aegis_llm.errors import InvalidRequest

__all__ = ["OneShot", "encode_json"]


def encode_json(body: Any, *, provider: str) -> bytes:
    """Strict JSON, so a value no server can read fails here as the caller's mistake."""
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequest(
            f"the request cannot be sent as JSON: {exc}",
            provider=provider,
            hint="pass only JSON values (str, number, bool, None, list, dict) in extra",
        ) from None


class OneShot(httpx.AsyncByteStream):
    """A request body sent as one piece (empty for a request without one)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _Once(self._data)


class _Once:
    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _Once:
        return self

    async def __anext__(self) -> bytes:
        data, self._data = self._data, None
        if data is None:
            raise StopAsyncIteration
        return data
