"""The requests of a run and the one outcome each of them must end in.

A request ends exactly once, in an answer that is whole and correct or in a
typed SDK error. Anything else is a defect the run reports by name: a
different exception (untyped), an answer with text missing, repeated or
spliced from two providers (corrupt), no end before the watchdog (hung), or
no record at all (lost), as well as a second record for one request
(duplicated).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Literal

import anyio

from aegis_llm import AsyncClient, ChatResponse, Embeddings
from aegis_llm.errors import AegisLLMError

__all__ = ["CHAT_MODEL", "EMBED_DIMENSIONS", "EMBED_MODEL", "Kind", "Tally", "plan", "run"]

Kind = Literal["chat", "stream", "embed"]
CHAT_MODEL = "llama3.2-3b"
EMBED_MODEL = "nomic-embed-text"
EMBED_DIMENSIONS = 768
_KINDS: tuple[Kind, ...] = ("chat", "stream", "embed")


def plan(count: int, seed: int) -> list[Kind]:
    """A reproducible mix of the three operations, in equal shares."""
    chooser = random.Random(seed)
    return [chooser.choice(_KINDS) for _ in range(count)]


class Tally:
    """One record per request: its outcome and how long it took.

    Allocated in full up front, so the run's own bookkeeping does not grow
    while the client's memory is being watched.
    """

    def __init__(self, count: int, expected_text: str) -> None:
        self.expected_text = expected_text
        self.outcomes: list[str | None] = [None] * count
        self.seconds = [0.0] * count
        self.duplicated = 0
        self.kinds: Counter[str] = Counter()

    def record(self, index: int, outcome: str, seconds: float) -> None:
        if self.outcomes[index] is not None:
            self.duplicated += 1
        self.outcomes[index] = outcome
        self.seconds[index] = seconds

    def counts(self) -> Counter[str]:
        return Counter(outcome for outcome in self.outcomes if outcome is not None)

    def answered_seconds(self) -> list[float]:
        return [s for s, o in zip(self.seconds, self.outcomes, strict=True) if o == "answered"]


async def run(
    llm: AsyncClient,
    kinds: list[Kind],
    tally: Tally,
    *,
    concurrency: int,
    watchdog: float,
    on_done: Callable[[int], None],
) -> None:
    """Send every planned request with ``concurrency`` of them in flight at all times."""
    queue = iter(range(len(kinds)))
    done = 0

    async def worker() -> None:
        nonlocal done
        for index in queue:
            kind = kinds[index]
            tally.kinds[kind] += 1
            started = anyio.current_time()
            outcome = "hung"
            with anyio.move_on_after(watchdog):
                outcome = await _one(llm, kind, index, tally.expected_text)
            tally.record(index, outcome, anyio.current_time() - started)
            done += 1
            on_done(done)

    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)


async def _one(llm: AsyncClient, kind: Kind, index: int, expected: str) -> str:
    """``answered``, ``corrupt: ...``, the SDK error's type name, or ``untyped: ...``."""
    prompt = f"question {index}"
    try:
        if kind == "embed":
            return _check_vectors(await llm.embed([prompt, "second text"], model=EMBED_MODEL))
        if kind == "chat":
            reply = await llm.chat(prompt, model=CHAT_MODEL)
        else:
            async with llm.stream_chat(prompt, model=CHAT_MODEL) as stream:
                reply = await stream.collect()
        return _check_text(reply, expected)
    except AegisLLMError as exc:
        return type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - counting what escapes the SDK is the point
        return f"untyped: {type(exc).__name__}: {exc}"


def _check_text(reply: ChatResponse, expected: str) -> str:
    if reply.content != expected:
        return f"corrupt: text {reply.content!r}"
    if not reply.attempts or reply.attempts[-1].outcome != "success":
        return "corrupt: attempts do not end in success"
    return "answered"


def _check_vectors(result: Embeddings) -> str:
    if len(result.vectors) != 2 or {len(v) for v in result.vectors} != {EMBED_DIMENSIONS}:
        return f"corrupt: {len(result.vectors)} vectors of {result.dimensions}"
    return "answered"
