"""The server under the fakes: lifecycle, connection and request counting, and noticing a
client that goes away in the middle of a stream."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import anyio
import httpx
import pytest

from aegis_llm.testing.fakes import FakeServer, Request, Response, StreamResponse
from aegis_llm.testing.fakes.ollama import FakeOllama

CHAT = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}


def _hello(request: Request) -> Response | StreamResponse:
    return Response(200, f"{request.method} {request.path}?{request.query}".encode(), "text/plain")


def test_context_manager_serves_on_loopback_and_stops() -> None:
    with FakeServer(_hello) as server:
        url = server.url
        assert server.running
        assert httpx.get(f"{url}/a/b?c=1").text == "GET /a/b?c=1"

    assert not server.running
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_restart_reuses_the_port() -> None:
    server = FakeServer(_hello).start()
    try:
        port = server.port
        server.stop()
        server.start()
        assert server.port == port
        assert httpx.get(server.url).status_code == 200
    finally:
        server.stop()


def test_port_is_unknown_before_start() -> None:
    with pytest.raises(RuntimeError, match="not been started"):
        _ = FakeServer(_hello).port


def test_starting_twice_is_an_error() -> None:
    with FakeServer(_hello) as server, pytest.raises(RuntimeError, match="already running"):
        server.start()


def test_open_connections_are_counted(fake_ollama: FakeOllama) -> None:
    clients = [httpx.Client(base_url=fake_ollama.url) for _ in range(3)]
    try:
        for client in clients:
            client.get("/api/version")
        fake_ollama.stats.wait_until(lambda stats: stats.open_connections == 3)
    finally:
        for client in clients:
            client.close()

    fake_ollama.stats.wait_until(lambda stats: stats.open_connections == 0)
    assert fake_ollama.stats.connections_accepted == 3
    assert fake_ollama.stats.responses_completed == 3


def test_stop_closes_idle_keep_alive_connections() -> None:
    server = FakeOllama().start()
    with httpx.Client(base_url=server.url) as client:
        client.get("/")
        server.stop()
        assert server.stats.open_connections == 0


def test_idle_keep_alive_connections_are_closed_like_node(
    make_ollama: Callable[..., FakeOllama],
) -> None:
    server = make_ollama(idle_timeout=0.3)

    with httpx.Client(base_url=server.url) as client:
        client.get("/")
        server.stats.wait_until(lambda stats: stats.open_connections == 0)
        assert client.get("/").status_code == 200, "the client has to reconnect"

    assert server.stats.connections_accepted == 2


def test_client_leaving_mid_stream_is_reported(make_ollama: Callable[..., FakeOllama]) -> None:
    server = make_ollama(reply_tokens=200, stream_delay=0.005)

    with (
        httpx.Client(base_url=server.url) as client,
        client.stream("POST", "/api/chat", json=CHAT) as response,
    ):
        lines = response.iter_lines()
        first = json.loads(next(lines))

    server.stats.wait_until(lambda stats: stats.client_disconnects == 1)
    exchange = server.stats.history[-1]
    assert first["done"] is False
    assert exchange.outcome == "client_disconnected"
    assert exchange.body_bytes > 0
    assert server.stats.open_connections == 0
    assert server.stats.responses_completed == 0


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Cancellation must close the connection under both backends."""
    backend: str = request.param
    return backend


@pytest.mark.anyio
async def test_cancelled_async_stream_closes_its_connection(
    make_ollama: Callable[..., FakeOllama],
) -> None:
    server = make_ollama(reply_tokens=500, stream_delay=0.005)
    received: list[str] = []

    async with httpx.AsyncClient(base_url=server.url) as client:
        with anyio.move_on_after(0.2):
            async with client.stream("POST", "/api/chat", json=CHAT) as response:
                async for line in response.aiter_lines():
                    received.append(line)

    server.stats.wait_until(lambda stats: stats.open_connections == 0)
    assert 0 < len(received) < 501
    assert server.stats.client_disconnects == 1


def test_a_crashing_app_answers_500_and_is_recorded() -> None:
    def broken(request: Request) -> Response | StreamResponse:
        raise ZeroDivisionError("bug in the fake")

    with FakeServer(broken) as server:
        answer = httpx.get(server.url)

    assert answer.status_code == 500
    assert "bug in the fake" in answer.text
    assert isinstance(server.stats.errors[0], ZeroDivisionError)


def test_a_stream_failing_halfway_resets_the_connection() -> None:
    def half(request: Request) -> Response | StreamResponse:
        def chunks() -> Iterator[bytes]:
            yield b"one\n"
            raise RuntimeError("generator bug")

        return StreamResponse(chunks(), content_type="text/plain")

    with FakeServer(half) as server, httpx.Client(base_url=server.url) as client:
        with pytest.raises(httpx.HTTPError):
            client.get("/").read()
        server.stats.wait_until(lambda stats: len(stats.errors) == 1)

    assert server.stats.history[-1].outcome == "dropped"


def test_history_is_bounded_and_stats_reset() -> None:
    with FakeServer(_hello, history=2) as server, httpx.Client(base_url=server.url) as client:
        for path in ("/1", "/2", "/3"):
            client.get(path)
        paths = [exchange.request.path for exchange in server.stats.history]
        server.stats.reset()

    assert paths == ["/2", "/3"]
    assert server.stats.requests_received == 0
    assert list(server.stats.history) == []


def test_wait_until_times_out(fake_ollama: FakeOllama) -> None:
    with pytest.raises(TimeoutError, match="not met"):
        fake_ollama.stats.wait_until(lambda stats: stats.requests_received > 0, timeout=0.05)


def test_requests_are_recorded_with_their_bodies(fake_ollama: FakeOllama) -> None:
    httpx.post(f"{fake_ollama.url}/api/show", json={"model": "llama3.2"})

    request = fake_ollama.stats.history[-1].request
    assert (request.method, request.path) == ("POST", "/api/show")
    assert request.json() == {"model": "llama3.2"}
    assert request.headers["content-type"] == "application/json"
    assert fake_ollama.stats.history[-1].status == 200


def test_an_endless_stream_without_interval_stops_when_the_client_leaves() -> None:
    # With no sleep between chunks, nothing but the client's departure can end it; it
    # must stop writing then instead of spinning the server's loop forever.
    written = 0
    release = threading.Event()  # ends the stream if the server never stops by itself

    def endless(request: Request) -> Response | StreamResponse:
        def chunks() -> Iterator[bytes]:
            nonlocal written
            while not release.is_set():
                written += 1
                yield b"x" * 64 + b"\n"

        return StreamResponse(chunks(), content_type="text/plain")

    with FakeServer(endless) as server:
        try:
            with httpx.Client(base_url=server.url) as client, client.stream("GET", "/") as answer:
                next(answer.iter_bytes())
            server.stats.wait_until(lambda stats: stats.client_disconnects == 1, timeout=5)
            settled = written
            time.sleep(0.2)
            assert written == settled, "the server kept writing after the client left"
            assert server.stats.history[0].outcome == "client_disconnected"
        finally:
            release.set()
