"""The replaying front answers a repeated request from memory, byte for byte as the fake did."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from benchkit.replay import ReplayFront

from aegis_llm.testing.fakes.ollama import FakeOllama

pytestmark = pytest.mark.anyio


async def test_second_identical_request_is_replayed_not_forwarded() -> None:
    with FakeOllama(reply_tokens=5) as fake:
        front = ReplayFront(fake.host, fake.port)
        server = await front.start()
        port = server.sockets[0].getsockname()[1]
        body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            first = await client.post("/api/chat", json={**body, "stream": False})
            second = await client.post("/api/chat", json={**body, "stream": False})
            streamed = await client.post("/api/chat", json={**body, "stream": True})
        server.close()
        await server.wait_closed()
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.json()["message"]["content"]
    assert len(streamed.text.splitlines()) == 6  # five tokens and the done line
    assert front.counters.requests == 3
    assert front.counters.misses == 2
    assert fake.stats.requests_received == 2


async def test_keep_alive_survives_replay() -> None:
    """The fake's `Connection: close` (asked for while recording) is not replayed."""
    with FakeOllama() as fake:
        front = ReplayFront(fake.host, fake.port)
        server = await front.start()
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = b"GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n"
        for _ in range(2):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            assert b"connection: close" not in head.lower()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    assert front.counters.requests == 2
