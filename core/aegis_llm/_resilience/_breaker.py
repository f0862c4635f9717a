"""Circuit breakers: stop calling a provider that keeps failing, and probe it again later.

Times are plain floats from the event loop's clock, passed in by the caller,
so the state machine itself is synchronous and cheap: admitting a call to a
healthy provider is one attribute test, and skipping an open one costs no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import anyio

from aegis_llm._settings import BreakerSettings

__all__ = ["Admission", "Breaker", "BreakerBoard", "Gate"]


class Gate(Enum):
    """What the breaker allows for one call."""

    CALL = "call"
    """Closed: call the provider."""

    PROBE = "probe"
    """The cool-down is over and this caller holds the single trial (half-open)."""

    SKIP = "skip"
    """Open, or another caller is probing: do not call it now."""


@dataclass(frozen=True, slots=True)
class Admission:
    gate: Gate
    retry_at: float | None = None
    """For ``SKIP``: when the cool-down ends (``None`` while another caller probes)."""


_CALL = Admission(Gate.CALL)
_PROBE = Admission(Gate.PROBE)
_PROBING = Admission(Gate.SKIP)


class Breaker:
    """One provider's breaker, shared by every call of one client.

    Closed, it counts consecutive unhealthy failures; at ``failure_threshold``
    it opens for ``cooldown`` seconds. After that exactly one caller gets the
    trial call (half-open) while the others keep skipping, so a server that is
    still starting is not hit by every waiting request at once. The trial's
    success closes the breaker, its failure opens it for another cool-down.
    """

    __slots__ = ("_board", "_settings", "failures", "name", "open_until", "probing")

    def __init__(self, name: str, settings: BreakerSettings, board: BreakerBoard) -> None:
        self.name = name
        self._settings = settings
        self._board = board
        self.failures = 0
        self.open_until: float | None = None
        self.probing = False

    def admit(self, now: float) -> Admission:
        open_until = self.open_until
        if open_until is None:
            return _CALL
        if now < open_until:
            return Admission(Gate.SKIP, open_until)
        if self.probing:
            return _PROBING
        self.probing = True
        return _PROBE

    def is_open(self, now: float) -> bool:
        """Whether a new call would be refused right now (a retry must stop)."""
        return self.open_until is not None and (now < self.open_until or self.probing)

    def succeeded(self) -> None:
        """The provider answered (even "no such model" proves it is alive).

        Any success closes the breaker, the trial's or that of a call admitted
        before the breaker opened.
        """
        if self.failures == 0 and self.open_until is None:
            return
        self.failures = 0
        self.open_until = None
        self.probing = False
        self._board.changed()

    def failed(self, now: float, *, probe: bool) -> None:
        """The provider was unreachable, timed out, overloaded or answered garbage."""
        self.failures += 1
        tripped = self.failures >= self._settings.failure_threshold
        if probe or tripped or self.open_until is not None:
            self.open_until = now + self._settings.cooldown
            if probe:
                self.probing = False
            self._board.changed()

    def abandoned(self, *, probe: bool) -> None:
        """The call ended without a verdict (cancelled): let the next caller probe."""
        if probe and self.probing:
            self.probing = False
            self._board.changed()

    def describe(self, now: float) -> str:
        """Why a call is being skipped, for the attempt record and the final error."""
        cause = f"circuit open after {self.failures} failures in a row"
        if self.open_until is not None and now < self.open_until:
            return f"{cause}; cooling down, next probe in {self.open_until - now:.1f}s"
        return f"{cause}; another request is probing it now"

    def __repr__(self) -> str:
        return f"Breaker({self.name!r}, failures={self.failures}, open_until={self.open_until})"


class BreakerBoard:
    """Every provider's breaker for one client, and a way to wait until one changes."""

    def __init__(self, settings: BreakerSettings) -> None:
        self.settings = settings
        self._breakers: dict[str, Breaker] = {}
        self._waiters: list[anyio.Event] = []

    def __getitem__(self, name: str) -> Breaker:
        found = self._breakers.get(name)
        if found is None:
            found = self._breakers[name] = Breaker(name, self.settings, self)
        return found

    def breakers(self) -> list[Breaker]:
        return list(self._breakers.values())

    def changed(self) -> None:
        """Wake every waiter: a breaker opened, closed or gave up its probe."""
        waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.set()

    async def wait(self, until: float) -> None:
        """Sleep until the loop time ``until`` or until any breaker changes, if sooner.

        Each waiter makes its own event in the running loop, so the board
        itself holds no loop-bound object and outlives any one event loop.
        """
        event = anyio.Event()
        self._waiters.append(event)
        try:
            with anyio.CancelScope(deadline=until):
                await event.wait()
        finally:
            if event in self._waiters:
                self._waiters.remove(event)
