"""Interleaved rounds: every client measured once per round, in a rotating order.

Machine noise (another process waking up, a frequency change) then lands on every
client alike instead of on whichever ran during the bad minute; rotating the order
also cancels any advantage of running first or last in a round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TypeVar

from benchkit.clients import Candidate, Session, Unavailable
from benchkit.loopback import Loopback, ServerUsage

__all__ = ["Entrant", "Samples", "open_entrants", "rotate", "run_rounds"]

_T = TypeVar("_T")

Samples = dict[str, list[float]]
"""Named sample series one round produced (e.g. {"ttft": [...], "total": [...]})."""


@dataclass(slots=True)
class Entrant:
    """One candidate during one scenario: its open session, samples, and server usage."""

    candidate: Candidate
    session: Session | None = None
    missing: str | None = None
    samples: Samples = field(default_factory=dict)
    server: ServerUsage = field(default_factory=lambda: ServerUsage(0.0, 0, 0))

    @property
    def server_cpu_per_request(self) -> float | None:
        return self.server.cpu_seconds / self.server.requests if self.server.requests else None


def rotate(items: Sequence[_T], offset: int) -> list[_T]:
    """`items` starting at `offset` (mod length) and wrapping around."""
    if not items:
        return []
    start = offset % len(items)
    return [*items[start:], *items[:start]]


async def open_entrants(
    stack: AsyncExitStack, candidates: Sequence[Candidate], urls: dict[str, str]
) -> list[Entrant]:
    """Open a session per candidate; one that cannot run is kept with the reason."""
    entrants = []
    for candidate in candidates:
        entrant = Entrant(candidate)
        try:
            entrant.session = await stack.enter_async_context(candidate.open(urls[candidate.api]))
        except Unavailable as error:
            entrant.missing = str(error)
        entrants.append(entrant)
    return entrants


async def run_rounds(
    entrants: Sequence[Entrant],
    rounds: int,
    loopback: Loopback,
    warmup: Callable[[Session], Awaitable[object]],
    body: Callable[[Session], Awaitable[Samples]],
) -> None:
    """Run `body` once per round per entrant (after `warmup`), collecting its samples.

    A client that raises is dropped from the remaining rounds and reported with the
    error instead of a number: a crash is a result too, never a silent gap.
    """
    for index in range(rounds):
        for entrant in rotate([e for e in entrants if e.session is not None], index):
            session = entrant.session
            assert session is not None
            try:
                await warmup(session)
                before = loopback.usage()
                produced = await body(session)
                entrant.server = entrant.server + (loopback.usage() - before)
            except Exception as error:
                entrant.session = None
                entrant.missing = f"failed: {type(error).__name__}: {error}"[:200]
                continue
            for name, values in produced.items():
                entrant.samples.setdefault(name, []).extend(values)
