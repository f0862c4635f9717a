"""Streams cancelled at random points leave nothing behind, under asyncio and trio.

Each stream is cancelled by an anyio cancel scope at a random point: while
connecting, while the server holds back its headers, after a few chunks, or
after a random delay. Afterwards the server must have seen every cancelled
answer's connection go, no connection may outlive the client, and nothing
may warn about a coroutine never awaited or a resource never closed.

250 streams per plugin and backend (1,000 in all) keep this in CI's budget;
the count is ``STREAMS``.
"""

from __future__ import annotations

import gc
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import anyio
import anyio.lowlevel
import pytest

from aegis_llm import AegisSettings, AsyncClient
from aegis_llm.testing.fakes import FakeOllama, FakeOpenAI, FakeServer, Fault

pytestmark = pytest.mark.anyio

STREAMS = 250
IN_FLIGHT = 50
MAX_CONNECTIONS = 16
TOKENS = 60
TOKEN_DELAY = 0.02  # a whole answer takes over a second: a cancelled one is always mid-way


@dataclass
class Cancellations:
    """How the streams of one run were cancelled."""

    mid_stream: int = 0
    before_text: int = 0
    completed: int = 0


@pytest.fixture(params=["ollama", "lmstudio"])
def server(request: pytest.FixtureRequest) -> Iterator[FakeServer]:
    fake: FakeServer = (
        FakeOllama(reply_tokens=TOKENS, stream_delay=TOKEN_DELAY, history=4 * STREAMS)
        if request.param == "ollama"
        else FakeOpenAI(reply_tokens=TOKENS, stream_delay=TOKEN_DELAY, history=4 * STREAMS)
    )
    with fake:
        yield fake


def plugin_of(server: FakeServer) -> str:
    return "ollama" if isinstance(server, FakeOllama) else "lmstudio"


def client(server: FakeServer) -> AsyncClient:
    plugin = plugin_of(server)
    model = "llama3.2:latest" if plugin == "ollama" else "llama-3.2-3b-instruct"
    core = AegisSettings.load(
        chain=[plugin], chat_model=model, max_connections=MAX_CONNECTIONS, first_byte_timeout=30
    )
    return AsyncClient(core, provider_settings={plugin: {"base_url": server.url}})


async def one_stream(llm: AsyncClient, chooser: random.Random, tally: Cancellations) -> None:
    """Open a stream and cancel it at a point drawn from ``chooser``."""
    after_chunks = chooser.choice([None, 1, 2, 3, 5])
    delay = chooser.uniform(0, 0.05)
    received = 0
    with anyio.CancelScope() as scope:
        if after_chunks is None:
            scope.deadline = anyio.current_time() + delay
        async with llm.stream_chat(f"question {chooser.random()}") as stream:
            async for chunk in stream:
                received += 1 if chunk.content else 0
                if received == after_chunks:
                    scope.cancel()
                    await anyio.lowlevel.checkpoint()
    if not scope.cancelled_caught:
        tally.completed += 1
    elif received:
        tally.mid_stream += 1
    else:
        tally.before_text += 1


async def test_cancelled_streams_leave_nothing_behind(server: FakeServer) -> None:
    chooser = random.Random(STREAMS)
    # Some answers hold back their headers, so cancellations also land while waiting for them.
    server.faults.add(Fault.stall_before_headers(0.03), times=STREAMS // 5)
    tally = Cancellations()
    limiter = anyio.CapacityLimiter(IN_FLIGHT)

    async def limited(llm: AsyncClient) -> None:
        async with limiter:
            await one_stream(llm, chooser, tally)

    gc.collect()  # earlier tests' garbage must not warn inside this test's window
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm = client(server)
        async with anyio.create_task_group() as group:
            for _ in range(STREAMS):
                group.start_soon(limited, llm)
        # Every answer the client walked away from ended on the server's side too.
        server.stats.wait_until(
            lambda stats: all(exchange.outcome != "pending" for exchange in stats.history)
        )
        assert server.stats.open_connections <= MAX_CONNECTIONS
        await llm.aclose()
        server.stats.wait_until(lambda stats: stats.open_connections == 0)
        del llm
        gc.collect()
    assert tally.completed == 0
    assert tally.mid_stream + tally.before_text == STREAMS
    assert tally.mid_stream > STREAMS // 2
    assert server.stats.client_disconnects >= tally.mid_stream
    assert server.stats.errors == []
    noisy = [w for w in caught if issubclass(w.category, (RuntimeWarning, ResourceWarning))]
    assert [f"{w.category.__name__}: {w.message}" for w in noisy] == []
