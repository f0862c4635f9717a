"""The two fake servers, in a child process of their own.

In another process the fakes neither share the client's interpreter lock nor
its memory, so the client's throughput and RSS are the client's. The parent
talks to the child over a pipe: ports once, then counters on request.
"""

from __future__ import annotations

import multiprocessing
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self

from aegis_llm.testing.fakes import FakeOllama, FakeOpenAI, FakeServer
from loadkit.faults import RandomFaults

__all__ = ["REPLY", "ServerCounters", "Servers"]

REPLY = "Retrieval über café naïve 日本 context answers stay whole"
"""What both fakes answer: multi-byte words, so a stream cut inside a character shows."""

_SETTLE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ServerCounters:
    """What one fake saw."""

    name: str
    requests: int
    faults: dict[str, int]
    open_connections: int
    client_disconnects: int
    server_errors: int


class Servers:
    """``with Servers(rate, seed, stall):``: LM Studio's and Ollama's fakes, faults armed."""

    def __init__(self, fault_rate: float, seed: int, stall: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, fault_rate, seed, stall), name="loadtest-fakes", daemon=True
        )
        self.urls: dict[str, str] = {}

    def __enter__(self) -> Self:
        self._process.start()
        self.urls = self._pipe.recv()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._pipe.send(("stop",))
        self._process.join(_SETTLE_SECONDS)
        if self._process.is_alive():
            self._process.kill()

    def counters(self, *, settle: bool = False) -> list[ServerCounters]:
        """Each fake's counters; ``settle`` first waits until it saw every connection close."""
        self._pipe.send(("counters", settle))
        counters: list[ServerCounters] = self._pipe.recv()
        return counters


def _serve(pipe: Connection, fault_rate: float, seed: int, stall: float) -> None:
    servers: dict[str, FakeServer] = {
        "lmstudio": FakeOpenAI("lmstudio", reply=REPLY, history=16),
        "ollama": FakeOllama(reply=REPLY, history=16),
    }
    tables = {}
    for offset, (name, server) in enumerate(servers.items()):
        tables[name] = server.faults = RandomFaults(fault_rate, seed + offset, stall)
        server.start()
    pipe.send({name: server.url for name, server in servers.items()})
    while True:
        command: tuple[Any, ...] = pipe.recv()
        if command[0] == "stop":
            break
        if command[1]:
            for server in servers.values():
                # Still open after the wait: reported below as open connections.
                with suppress(TimeoutError):
                    server.stats.wait_until(lambda s: s.open_connections == 0, _SETTLE_SECONDS)
        pipe.send(
            [
                ServerCounters(
                    name=name,
                    requests=server.stats.requests_received,
                    faults=dict(tables[name].injected),
                    open_connections=server.stats.open_connections,
                    client_disconnects=server.stats.client_disconnects,
                    server_errors=len(server.stats.errors),
                )
                for name, server in servers.items()
            ]
        )
    for server in servers.values():
        server.stop()
