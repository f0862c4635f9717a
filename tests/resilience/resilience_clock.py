"""Virtual time for the resilience tests, under both backends anyio runs on.

The resilience layer reads the event loop's clock (``anyio.current_time``) and
sleeps with ``anyio.sleep``, so running it on a loop whose clock is virtual
makes retries, cool-downs and deadlines instant and exact. Trio ships such a
clock (``MockClock`` with autojump); for asyncio, ``VirtualTimeLoop`` jumps
its clock to the next timer whenever nothing is ready to run.

Only for tests without real I/O: a loop that jumps while a thread or socket
is still working would fire timeouts early.
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

from trio.testing import MockClock

__all__ = ["VirtualClock", "VirtualTimeLoop", "backend_options"]


class VirtualClock:
    """The time of one or more ``VirtualTimeLoop``s; tests may also move it by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def jump(self, seconds: float) -> None:
        self.now += seconds


class _JumpingSelector(selectors.DefaultSelector):
    """Polls instead of blocking while a timer is pending, and jumps to that timer."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(None if timeout is None else 0)
        if not ready and timeout:
            self._clock.jump(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock | None = None) -> None:
        self._virtual = clock if clock is not None else VirtualClock()
        super().__init__(_JumpingSelector(self._virtual))

    def time(self) -> float:
        return self._virtual.now


def backend_options(backend: str, clock: VirtualClock | MockClock) -> dict[str, Any]:
    """``anyio.run`` options that put ``backend`` on ``clock``."""
    if backend == "trio":
        return {"clock": clock}
    assert isinstance(clock, VirtualClock)
    return {"loop_factory": lambda: VirtualTimeLoop(clock)}
