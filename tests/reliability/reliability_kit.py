"""Loopback servers and clients shared by the reliability tests."""

from __future__ import annotations

import itertools

from aegis_llm.http import HttpApi, HttpLimits
from aegis_llm.testing.fakes import FakeServer, Request, Response, StreamResponse

RECORD = b'{"token":"abc"}\n'
SSE_RECORD = b'data: {"token":"abc"}\n\n'

SHORT = HttpLimits(
    connect_timeout=2.0,
    first_byte_timeout=5.0,
    idle_timeout=5.0,
    stream_timeout=20.0,
    max_response_bytes=1 << 20,
    max_line_bytes=64 * 1024,
    max_connections=8,
)
"""Limits small enough to hit in a test; each test shortens the one it is about."""


def records_app(request: Request) -> Response | StreamResponse:
    """``/ndjson/<n>`` and ``/sse/<n>`` stream n records (``endless``: forever); else JSON."""
    kind, _, count = request.path.strip("/").partition("/")
    if kind in ("ndjson", "sse") and count:
        record = RECORD if kind == "ndjson" else SSE_RECORD
        if count == "endless":
            return StreamResponse(itertools.repeat(record), interval=0.001)
        return StreamResponse(itertools.repeat(record, int(count)))
    return Response(200, b'{"ok":true}')


def api_for(
    server: FakeServer, limits: HttpLimits = SHORT, headers: dict[str, str] | None = None
) -> HttpApi:
    return HttpApi(
        provider="fake",
        base_url=server.url,
        start_hint="start the fake",
        limits=limits,
        headers=headers,
    )


def all_closed(server: FakeServer) -> None:
    """Wait until the server has seen every connection close (raises after 5 s)."""
    server.stats.wait_until(lambda stats: stats.open_connections == 0)
