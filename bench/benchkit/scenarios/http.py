"""Chat latency, 500-token streaming, 64 requests in flight, and 256 x 1024 embeddings.

Every client runs against the same loopback server with the same workload
(`benchkit.workload`); each round checks what came back (the reply text, all 500
tokens, all 256 vectors), so a client cannot look fast by doing less.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from benchkit import workload
from benchkit.clients import Candidate, Session
from benchkit.loopback import Loopback
from benchkit.results import Measurement
from benchkit.scenarios._rounds import Entrant, Samples, open_entrants, run_rounds
from benchkit.stats import percentile, summarise

__all__ = ["SCENARIOS", "Sizes", "measure", "measurements_of"]


Metric = tuple[str, str, str, str]
"""(metric name, sample series, statistic "median" or "p99", unit)."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each round does; `--quick` shrinks these."""

    rounds: int = 10
    chats: int = 100
    streams: int = 10
    throughput_rounds: int = 5
    throughput_requests: int = 640
    embed_rounds: int = 5
    embeds: int = 4


class WrongAnswer(Exception):
    """A client returned less than the workload asks for."""


async def _chat(session: Session) -> str:
    reply = await session.chat()
    if not reply:
        raise WrongAnswer("empty chat reply")
    return reply


async def _stream(session: Session) -> tuple[float, float]:
    """(time to first token, total time) of one 500-token stream."""
    started = time.perf_counter()
    first = 0.0
    count = 0
    async for _token in session.stream():
        if not count:
            first = time.perf_counter()
        count += 1
    ended = time.perf_counter()
    if count != workload.STREAM_REPLY_TOKENS:
        raise WrongAnswer(f"{count} tokens instead of {workload.STREAM_REPLY_TOKENS}")
    return first - started, ended - started


async def _embed(session: Session) -> int:
    count = await session.embed()
    if count != len(workload.EMBED_TEXTS):
        raise WrongAnswer(f"{count} vectors instead of {len(workload.EMBED_TEXTS)}")
    return count


async def _timed(
    times: int, op: Callable[[Session], Awaitable[object]], session: Session
) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await op(session)
        samples.append(time.perf_counter() - started)
    return samples


def _chat_body(sizes: Sizes) -> Callable[[Session], Awaitable[Samples]]:
    async def body(session: Session) -> Samples:
        return {"latency": await _timed(sizes.chats, _chat, session)}

    return body


def _stream_body(sizes: Sizes) -> Callable[[Session], Awaitable[Samples]]:
    async def body(session: Session) -> Samples:
        pairs = [await _stream(session) for _ in range(sizes.streams)]
        return {"ttft": [p[0] for p in pairs], "total": [p[1] for p in pairs]}

    return body


def _throughput_body(sizes: Sizes) -> Callable[[Session], Awaitable[Samples]]:
    """Requests per second with `IN_FLIGHT` workers each sending its share in a loop."""

    async def body(session: Session) -> Samples:
        share = max(sizes.throughput_requests // workload.IN_FLIGHT, 1)

        async def worker() -> None:
            for _ in range(share):
                await _chat(session)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workload.IN_FLIGHT)))
        elapsed = time.perf_counter() - started
        return {"rps": [share * workload.IN_FLIGHT / elapsed]}

    return body


def _embed_body(sizes: Sizes) -> Callable[[Session], Awaitable[Samples]]:
    async def body(session: Session) -> Samples:
        return {"latency": await _timed(sizes.embeds, _embed, session)}

    return body


@dataclass(frozen=True, slots=True)
class _Scenario:
    name: str
    rounds: Callable[[Sizes], int]
    warmup: Callable[[Session], Awaitable[object]]
    body: Callable[[Sizes], Callable[[Session], Awaitable[Samples]]]
    metrics: tuple[Metric, ...]


async def _warm_chat(session: Session) -> None:
    for _ in range(3):
        await _chat(session)


async def _warm_stream(session: Session) -> None:
    await _stream(session)


SCENARIOS: dict[str, _Scenario] = {
    "chat": _Scenario(
        "chat",
        lambda s: s.rounds,
        _warm_chat,
        _chat_body,
        (("median", "latency", "median", "s"), ("p99", "latency", "p99", "s")),
    ),
    "stream": _Scenario(
        "stream",
        lambda s: s.rounds,
        _warm_stream,
        _stream_body,
        (("ttft", "ttft", "median", "s"), ("total", "total", "median", "s")),
    ),
    "throughput": _Scenario(
        "throughput",
        lambda s: s.throughput_rounds,
        _warm_chat,
        _throughput_body,
        (("rps", "rps", "median", "req/s"),),
    ),
    "embed": _Scenario(
        "embed",
        lambda s: s.embed_rounds,
        _embed,
        _embed_body,
        (("median", "latency", "median", "s"),),
    ),
}


def _statistic(values: list[float], statistic: str) -> float:
    return percentile(values, 0.99) if statistic == "p99" else summarise(values).median


def measurements_of(
    scenario: str, metrics: Sequence[Metric], entrants: Sequence[Entrant]
) -> list[Measurement]:
    """One measurement per entrant and metric; "not measured" with the reason if none."""
    found = []
    for entrant in entrants:
        candidate = entrant.candidate
        for metric, series, statistic, unit in metrics:
            values = entrant.samples.get(series, [])
            if entrant.missing is not None or not values:
                found.append(
                    Measurement(
                        scenario,
                        metric,
                        unit,
                        candidate.family,
                        candidate.label,
                        candidate.api,
                        missing=entrant.missing or "no samples",
                    )
                )
                continue
            found.append(
                Measurement(
                    scenario,
                    metric,
                    unit,
                    candidate.family,
                    candidate.label,
                    candidate.api,
                    value=_statistic(values, statistic),
                    samples=len(values),
                    server_cpu_per_request=entrant.server_cpu_per_request,
                    detail={"server_misses": float(entrant.server.misses)},
                )
            )
    return found


async def measure(
    name: str, candidates: Sequence[Candidate], loopback: Loopback, sizes: Sizes
) -> list[Measurement]:
    """Run one scenario over every candidate in interleaved rounds."""
    scenario = SCENARIOS[name]
    async with AsyncExitStack() as stack:
        entrants = await open_entrants(stack, candidates, loopback.urls)
        await run_rounds(
            entrants, scenario.rounds(sizes), loopback, scenario.warmup, scenario.body(sizes)
        )
    return measurements_of(scenario.name, scenario.metrics, entrants)
