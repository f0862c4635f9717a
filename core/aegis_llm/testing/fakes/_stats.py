"""What a fake server observed: connections, requests, disconnects, and its own crashes.

Updated on the server's thread and read from the test's, so every change notifies a
condition: a test waits for "all connections closed" with `wait_until` instead of sleeping.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ._faults import Fault
from ._http import Request

Outcome = Literal["pending", "complete", "client_disconnected", "dropped", "refused"]


@dataclass(slots=True)
class Exchange:
    """One request and what became of its answer.

    `outcome` is "client_disconnected" when the client went away before the answer was
    fully written (a cancelled stream), "dropped" when a fault (or the server stopping)
    cut it, "refused" when a fault hung up at once. `body_bytes` counts body bytes written,
    before chunk framing. Plain answers, hang-ups and drops are recorded before the client
    can see them; a streamed answer is "complete" just after its last bytes go out, so
    check that with `Stats.wait_until`.
    """

    request: Request
    fault: Fault | None
    status: int | None = None
    body_bytes: int = 0
    outcome: Outcome = "pending"


class Stats:
    """Counters and a bounded history of exchanges for one server."""

    def __init__(self, history: int) -> None:
        self._changed = threading.Condition()
        self.open_connections = 0
        self.connections_accepted = 0
        self.requests_received = 0
        self.responses_completed = 0
        self.client_disconnects = 0
        self.history: deque[Exchange] = deque(maxlen=history)
        self.errors: list[BaseException] = []

    def wait_until(self, predicate: Callable[[Stats], bool], timeout: float = 5.0) -> None:
        """Block until `predicate(stats)` holds; `TimeoutError` after `timeout` seconds.

        For outcomes that happen on the server's thread after the client returned, such as
        the server noticing a closed connection.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self), timeout):
                raise TimeoutError(f"condition not met within {timeout} s: {self!r}")

    def reset(self) -> None:
        """Zero the cumulative counters and forget the history (open connections stay)."""
        with self._changed:
            self.connections_accepted = 0
            self.requests_received = 0
            self.responses_completed = 0
            self.client_disconnects = 0
            self.history.clear()
            self.errors.clear()

    def __repr__(self) -> str:
        return (
            f"Stats(open_connections={self.open_connections}, "
            f"connections_accepted={self.connections_accepted}, "
            f"requests_received={self.requests_received}, "
            f"responses_completed={self.responses_completed}, "
            f"client_disconnects={self.client_disconnects}, errors={len(self.errors)})"
        )

    # Updates, made by the server's thread.

    def connection_opened(self) -> None:
        with self._changed:
            self.open_connections += 1
            self.connections_accepted += 1
            self._changed.notify_all()

    def connection_closed(self, unfinished: Exchange | None) -> None:
        with self._changed:
            self.open_connections -= 1
            if unfinished is not None:
                unfinished.outcome = "client_disconnected"
                self.client_disconnects += 1
            self._changed.notify_all()

    def request_received(self, request: Request, fault: Fault | None) -> Exchange:
        exchange = Exchange(request, fault)
        with self._changed:
            self.requests_received += 1
            self.history.append(exchange)
            self._changed.notify_all()
        return exchange

    def exchange_ended(self, exchange: Exchange, outcome: Outcome) -> None:
        with self._changed:
            exchange.outcome = outcome
            if outcome == "complete":
                self.responses_completed += 1
            self._changed.notify_all()

    def server_error(self, error: BaseException) -> None:
        with self._changed:
            self.errors.append(error)
            self._changed.notify_all()
