"""Every limit of the HTTP kit against a misbehaving server: a typed error, never a hang.

Each test also checks the server saw the connection go: a limit that raised
but left the socket open would leak one connection per sick answer.
"""

from __future__ import annotations

import itertools
import tracemalloc
from dataclasses import replace
from typing import Any, Literal

import anyio
import pytest
from reliability_kit import RECORD, SHORT, all_closed, api_for

from aegis_llm.errors import (
    InvalidRequest,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from aegis_llm.http import HttpApi
from aegis_llm.testing.fakes import FakeServer, Fault, StreamResponse, refused_url

pytestmark = pytest.mark.anyio

GIB = 1 << 30


async def consume(
    api: HttpApi,
    path: str,
    framing: Literal["ndjson", "sse"] = "ndjson",
    into: list[Any] | None = None,
) -> list[Any]:
    """Read a stream to its end into ``into``, which keeps what arrived before an error."""
    received = [] if into is None else into
    async for record in api.stream(path, {}, framing):
        received.append(record)
    return received


async def test_a_server_that_never_sends_headers_hits_first_byte_timeout(
    server: FakeServer,
) -> None:
    server.faults.add(Fault.stall_before_headers(60))
    api = api_for(server, replace(SHORT, first_byte_timeout=0.3))
    with pytest.raises(ProviderTimeout, match="no answer") as caught:
        await api.request_json("GET", "/x")
    assert "FIRST_BYTE_TIMEOUT" in str(caught.value)
    await api.aclose()
    all_closed(server)
    assert server.stats.client_disconnects == 1


async def test_a_stall_between_chunks_hits_idle_timeout(server: FakeServer) -> None:
    server.faults.add(Fault.stall_mid_body(60, after_bytes=3 * 16))
    api = api_for(server, replace(SHORT, idle_timeout=0.3))
    received: list[Any] = []
    with pytest.raises(ProviderTimeout, match="sent nothing"):
        await consume(api, "/ndjson/10", into=received)
    assert len(received) == 3
    await api.aclose()
    all_closed(server)
    assert server.stats.client_disconnects == 1


async def test_an_endless_stream_hits_stream_timeout(server: FakeServer) -> None:
    api = api_for(server, replace(SHORT, stream_timeout=0.5))
    received: list[Any] = []
    with pytest.raises(ProviderTimeout, match="in total"):
        await consume(api, "/ndjson/endless", into=received)
    assert received
    await api.aclose()
    all_closed(server)


async def test_a_slow_trickle_cannot_evade_the_total_cap(server: FakeServer) -> None:
    # 16 bytes every 20 ms: never idle for long, and 4000 records would take 80 s.
    server.faults.add(Fault.trickle(16, 0.02))
    api = api_for(server, replace(SHORT, idle_timeout=1.0, stream_timeout=0.8))
    received: list[Any] = []
    with pytest.raises(ProviderTimeout, match="in total"):
        await consume(api, "/ndjson/4000", into=received)
    assert 0 < len(received) < 4000
    await api.aclose()
    all_closed(server)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_gigabyte_answer_stops_at_max_response_bytes(
    server: FakeServer, chunked: bool
) -> None:
    server.faults.add(Fault.oversized(GIB, chunked=chunked))
    api = api_for(server)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="max_response_bytes"):
            await api.request_json("GET", "/x")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * (1 << 20)
    await api.aclose()
    all_closed(server)


async def test_a_stream_larger_than_max_response_bytes_is_cut() -> None:
    four_mib = StreamResponse(itertools.repeat(RECORD * 256, 1024))
    with FakeServer(lambda request: four_mib) as server:
        api = api_for(server, replace(SHORT, max_response_bytes=1 << 20, stream_timeout=60))
        received: list[Any] = []
        with pytest.raises(ProtocolError, match="max_response_bytes"):
            await consume(api, "/stream", into=received)
        assert 0 < len(received) <= (1 << 20) // len(RECORD)
        await api.aclose()
        all_closed(server)


@pytest.mark.parametrize("framing", ["ndjson", "sse"])
async def test_one_endless_line_hits_max_line_bytes(framing: Literal["ndjson", "sse"]) -> None:
    prefix = b"data: " if framing == "sse" else b""
    line = StreamResponse([prefix + b'{"token":"', *[b"x" * 4096] * 64, b'"}\n\n'])
    with FakeServer(lambda request: line) as server:
        api = api_for(server, replace(SHORT, max_line_bytes=16 * 1024))
        with pytest.raises(ProtocolError, match="exceeded 16384 bytes") as caught:
            await consume(api, "/stream", framing)
        assert caught.value.provider == "fake"
        await api.aclose()
        all_closed(server)


async def test_an_sse_event_of_empty_data_lines_hits_max_line_bytes() -> None:
    flood = StreamResponse([b"data:\n" * 1024] * 64, content_type="text/event-stream")
    with FakeServer(lambda request: flood) as server:
        api = api_for(server, replace(SHORT, max_line_bytes=16 * 1024))
        with pytest.raises(ProtocolError, match="SSE event exceeded"):
            await consume(api, "/stream", "sse")
        await api.aclose()
        all_closed(server)


async def test_a_crlf_split_by_the_network_keeps_an_sse_event_whole() -> None:
    pieces = [b"data: one\r", b"\ndata: two\r", b"\n\r", b"\ndata: [DONE]\r\n\r\n"]
    with FakeServer(lambda request: StreamResponse(pieces)) as server:
        api = api_for(server)
        events = await consume(api, "/stream", "sse")
        await api.aclose()
    assert [event.data for event in events] == ["one\ntwo", "[DONE]"]


async def test_nothing_listening_is_refused_and_unavailable() -> None:
    api = HttpApi(provider="fake", base_url=refused_url(), start_hint="start the fake")
    with pytest.raises(ProviderUnavailable, match="start the fake") as caught:
        await api.request_json("GET", "/x")
    assert caught.value.refused
    assert not caught.value.retryable
    await api.aclose()


async def test_a_hang_up_before_the_answer_is_unavailable_and_worth_a_retry(
    server: FakeServer,
) -> None:
    server.faults.add(Fault.refuse(reset=True))
    api = api_for(server)
    with pytest.raises(ProviderUnavailable, match="dropped") as caught:
        await api.request_json("GET", "/x")
    assert not caught.value.refused
    assert caught.value.retryable
    await api.aclose()
    all_closed(server)


async def test_an_answer_cut_short_is_a_protocol_error(server: FakeServer) -> None:
    server.faults.add(Fault.drop_after(20), times=2)
    api = api_for(server)
    with pytest.raises(ProtocolError, match="broke off"):
        await api.request_json("GET", "/ndjson/10")
    received: list[Any] = []
    with pytest.raises(ProtocolError, match="broke off"):
        await consume(api, "/ndjson/10", into=received)
    assert len(received) == 1
    await api.aclose()
    all_closed(server)


async def test_a_per_call_timeout_caps_the_limits(server: FakeServer) -> None:
    server.faults.add(Fault.stall_before_headers(60))
    api = api_for(server)
    with pytest.raises(ProviderTimeout, match=r"within 0\.2s"):
        await api.request_json("GET", "/x", timeout=0.2)
    await api.aclose()
    all_closed(server)


@pytest.mark.parametrize(
    "body", [{"x": float("nan")}, {"x": object()}, {"x": b"bytes"}], ids=["nan", "object", "bytes"]
)
async def test_a_body_that_is_not_json_fails_before_any_io(server: FakeServer, body: Any) -> None:
    api = api_for(server)
    with pytest.raises(InvalidRequest, match="JSON"):
        await api.request_json("POST", "/x", body)
    await api.aclose()
    assert server.stats.connections_accepted == 0


@pytest.mark.parametrize("path", ["/v1/models/a\nb", "http://127.0.0.2:9/x", "https://x.test/"])
async def test_a_path_that_would_leave_the_server_fails_before_any_io(
    server: FakeServer, path: str
) -> None:
    api = api_for(server)
    with pytest.raises(InvalidRequest):
        await api.request_json("GET", path)
    await api.aclose()
    assert server.stats.connections_accepted == 0


async def test_redirects_are_errors_not_followed(server: FakeServer) -> None:
    location = (("Location", "http://127.0.0.1:9/elsewhere"),)
    server.faults.add(Fault.respond(307, b"", headers=location))
    api = api_for(server)
    with pytest.raises(ProviderError, match="redirect") as caught:
        await api.request_json("GET", "/x")
    assert caught.value.status_code == 307
    assert not caught.value.retryable
    await api.aclose()


async def test_the_pool_never_opens_more_than_max_connections() -> None:
    peak = 0

    def slow(request: object) -> StreamResponse:
        nonlocal peak
        peak = max(peak, server.stats.open_connections)
        return StreamResponse([b'{"a":1}\n'] * 3, interval=0.02)

    with FakeServer(slow) as server:
        api = api_for(server, replace(SHORT, max_connections=4))
        async with anyio.create_task_group() as group:
            for _ in range(40):
                group.start_soon(consume, api, "/x")
        await api.aclose()
        all_closed(server)
    assert server.stats.requests_received == 40
    assert peak == 4
