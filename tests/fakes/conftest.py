"""Fixtures for the fake servers' own tests: started fakes that must not have crashed, and
raw socket clients that show the bytes and framing a fake really sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rawhttp import RawClient

from aegis_llm.testing.fakes import FakeServer
from aegis_llm.testing.fakes.ollama import FakeOllama
from aegis_llm.testing.fakes.openai import FakeOpenAI


@pytest.fixture
def fake_ollama() -> Iterator[FakeOllama]:
    """A default FakeOllama, running; it must not have crashed by the end."""
    with FakeOllama() as server:
        yield server
    assert server.stats.errors == [], "the fake itself failed while serving"


@pytest.fixture
def make_ollama() -> Iterator[Callable[..., FakeOllama]]:
    """Start a FakeOllama with custom arguments; all are stopped and checked afterwards."""
    started: list[FakeOllama] = []

    def make(*args: Any, **kwargs: Any) -> FakeOllama:
        server = FakeOllama(*args, **kwargs)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()
        assert server.stats.errors == []


@pytest.fixture
def make_openai() -> Iterator[Callable[..., FakeOpenAI]]:
    """Start a FakeOpenAI with custom arguments; all are stopped and checked afterwards."""
    started: list[FakeOpenAI] = []

    def make(*args: Any, **kwargs: Any) -> FakeOpenAI:
        server = FakeOpenAI(*args, **kwargs)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()
        assert server.stats.errors == []


@pytest.fixture
def raw() -> Iterator[Callable[[FakeServer], RawClient]]:
    """Open raw socket connections to a fake; all are closed afterwards."""
    clients: list[RawClient] = []

    def connect(server: FakeServer) -> RawClient:
        client = RawClient(server.port)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
