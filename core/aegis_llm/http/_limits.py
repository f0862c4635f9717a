"""The size and time bounds every HTTP exchange with a model server lives within.

Local servers crash, reload models and occasionally answer garbage; an SDK
that waits or buffers without limit turns one sick server into a hung or
out-of-memory application. Every bound here is a core setting with a default
meant for real local servers (generous first byte: models load cold).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import sniffio

from aegis_llm._context import ProviderContext
from aegis_llm._settings import HttpTransport

__all__ = ["Deadlines", "HttpLimits", "loop_clock"]


def loop_clock() -> Callable[[], float]:
    """The running event loop's clock, as ``anyio.current_time`` reads it, minus the lookup.

    ``anyio.current_time`` finds the async library on every call (1.3 µs);
    a stream reads the clock once per piece, up to once per token. The same
    clock, so deadlines stay comparable with cancel scopes and mock clocks.
    """
    library = sniffio.current_async_library()
    if library == "asyncio":
        return asyncio.get_running_loop().time
    if library == "trio":
        return sys.modules["trio"].current_time  # type: ignore[no-any-return]
    return anyio.current_time


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Time and size bounds for one server. Every value is a core setting.

    ``first_byte_timeout`` runs from sending the request to the end of the
    response head (waiting for a pooled connection and connecting included);
    ``idle_timeout`` is the longest silence between two pieces of a body;
    ``stream_timeout`` bounds one whole exchange, streamed or not, so a server
    trickling a byte at a time cannot keep a caller forever.
    ``max_response_bytes`` bounds a whole body (a stream too) and
    ``max_line_bytes`` one NDJSON line or SSE event. ``transport`` is not a
    bound but travels with them, as every plugin already hands these to its
    ``HttpApi``: choosing aiohttp then needs no change in any plugin.
    """

    connect_timeout: float = 3.0
    first_byte_timeout: float = 120.0
    idle_timeout: float = 60.0
    stream_timeout: float = 900.0
    max_response_bytes: int = 64 * 1024 * 1024
    max_line_bytes: int = 8 * 1024 * 1024
    max_connections: int = 100
    transport: HttpTransport = "httpx"

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> HttpLimits:
        core = ctx.core
        return cls(
            connect_timeout=core.connect_timeout,
            first_byte_timeout=core.first_byte_timeout,
            idle_timeout=core.idle_timeout,
            stream_timeout=core.stream_timeout,
            max_response_bytes=core.max_response_bytes,
            max_line_bytes=core.max_line_bytes,
            max_connections=core.max_connections,
            transport=core.http_transport,
        )


@dataclass(frozen=True, slots=True)
class Deadlines:
    """The limits of one exchange as points on the event loop's clock.

    Absolute times, taken when the request starts, are what make the total
    bound hold: a relative timeout re-armed on every read would let a slow
    trickle run forever.
    """

    head_at: float
    end_at: float
    idle: float
    first_byte_budget: float
    total_budget: float
    clock: Callable[[], float]

    @classmethod
    def start(cls, limits: HttpLimits, cap: float | None = None) -> Deadlines:
        """Deadlines from now; ``cap`` (a per-call timeout) shortens all of them."""
        first = limits.first_byte_timeout if cap is None else min(cap, limits.first_byte_timeout)
        total = limits.stream_timeout if cap is None else min(cap, limits.stream_timeout)
        clock = loop_clock()
        now = clock()
        return cls(
            head_at=now + min(first, total),
            end_at=now + total,
            idle=limits.idle_timeout,
            first_byte_budget=min(first, total),
            total_budget=total,
            clock=clock,
        )
