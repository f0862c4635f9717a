"""The aiohttp-backed httpx transport prototype behaves like httpx's own where HttpApi cares.

The same answer and stream lines as the default transport, `httpx.ConnectError` for a
refused port (so aegis-llm fails over), `httpx.ReadTimeout` when the server stalls, and a
clear refusal under trio, where the default transport must be used.
"""

from __future__ import annotations

import httpx
import pytest

from aegis_llm.testing.fakes import Fault, refused_url
from aegis_llm.testing.fakes.ollama import FakeOllama

pytest.importorskip("aiohttp")
from benchkit.aiohttp_transport import AiohttpTransport

CHAT = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": False}


@pytest.mark.anyio
async def test_same_answer_as_the_default_transport() -> None:
    with FakeOllama(reply="one two three") as fake:
        async with httpx.AsyncClient(base_url=fake.url) as plain:
            expected = await plain.post("/api/chat", json=CHAT)
        async with httpx.AsyncClient(base_url=fake.url, transport=AiohttpTransport()) as client:
            answer = await client.post("/api/chat", json=CHAT)
            async with client.stream("POST", "/api/chat", json={**CHAT, "stream": True}) as r:
                lines = [line async for line in r.aiter_lines()]
    assert answer.status_code == 200
    assert answer.json()["message"] == expected.json()["message"]
    assert len(lines) == 4
    assert fake.stats.requests_received == 3


@pytest.mark.anyio
async def test_refused_connection_is_a_connect_error() -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(httpx.ConnectError):
            await client.post(f"{refused_url()}/api/chat", json=CHAT)


@pytest.mark.anyio
async def test_stalled_server_is_a_read_timeout() -> None:
    with FakeOllama() as fake:
        fake.faults.add(Fault.stall_before_headers(2.0))
        timeout = httpx.Timeout(5.0, read=0.2)
        async with httpx.AsyncClient(
            base_url=fake.url, transport=AiohttpTransport(), timeout=timeout
        ) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/api/chat", json=CHAT)


@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.anyio
async def test_refuses_trio() -> None:
    async with httpx.AsyncClient(transport=AiohttpTransport()) as client:
        with pytest.raises(RuntimeError, match="asyncio only"):
            await client.get("http://127.0.0.1:9/")
