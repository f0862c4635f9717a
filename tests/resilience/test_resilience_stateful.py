"""A Hypothesis state machine over provider outcomes and clock steps.

The machine scripts what each of three providers will do next (answer, refuse,
503, 429 with Retry-After, not have the model, answer slowly, hang, break a
stream) or from now on (up or down), moves the virtual clock, and makes chat
and stream calls through one client, so breakers carry state from call to
call. After every call it replays the calls the providers saw against its own
small model of the breakers and checks:

* no provider is tried more than ``max_attempts`` times in one call;
* no provider is called while its breaker is open;
* the answer comes from the first provider in chain order that could give
  one: each member before it was open, or failed, and nothing after it was
  called; a call that waits for a cooling provider only does so within its deadline;
* a stream's text comes from one provider, the last one called (no failover
  after the first chunk);
* no call outlasts its deadline;
* the attempts a reply or error carries account for every call made.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import anyio
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule
from resilience_clock import VirtualClock, backend_options
from resilience_fakes import (
    Answer,
    Call,
    Chunks,
    Fail,
    Hang,
    Outcome,
    ScriptedProvider,
    build_client,
)
from trio.testing import MockClock

from aegis_llm import Attempt, ChatChunk, ChatResponse
from aegis_llm.errors import (
    AllProvidersFailed,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
)

_T = TypeVar("_T")

NAMES = ("p0", "p1", "p2")
# A cool-down longer than the deadline, so a call that finds every provider
# cooling sometimes waits for the first recovery and sometimes fails fast.
TIMEOUT = 12.0
MAX_ATTEMPTS = 3
THRESHOLD = 2
COOLDOWN = 15.0
CLIENT_SETTINGS: dict[str, Any] = {
    "chain": list(NAMES),
    "timeout": TIMEOUT,
    "retry": {
        "max_attempts": MAX_ATTEMPTS,
        "backoff_initial": 0.5,
        "backoff_max": 2.0,
        "retry_after_max": 10.0,
    },
    "breaker": {"failure_threshold": THRESHOLD, "cooldown": COOLDOWN},
}
EPSILON = 1e-6


@dataclass(frozen=True)
class Step:
    """What a provider does on one call: ``kind`` with its number (seconds or chunk count)."""

    kind: str
    value: float = 0.0

    def outcome(self) -> Outcome:
        makers: dict[str, Callable[[], Outcome]] = {
            "ok": lambda: Answer("answer"),
            "slow": lambda: Answer("slow answer", after=self.value),
            "refused": lambda: Fail(ProviderUnavailable("refused")),
            "busy": lambda: Fail(ProviderError("503 busy", status_code=503)),
            "limited": lambda: Fail(RateLimited("429", retry_after=self.value)),
            "missing": lambda: Fail(ModelNotFound("no such model")),
            "hang": Hang,
            "broken": lambda: Chunks(("x",) * int(self.value), then=ProtocolError("cut")),
            "truncated": lambda: Chunks(("x",), done=False),
        }
        return makers[self.kind]()

    def cut(self, started: float, deadline: float) -> bool | None:
        """Whether the deadline ends this call before it answers (``None``: it may or not).

        An answer due exactly on the deadline races the deadline's timer, and
        virtual times do coincide (a cool-down plus a slow answer can equal a
        wait plus the timeout), so either result is right then.
        """
        if self.kind == "hang":
            return True
        if self.kind != "slow":
            return False
        due = started + self.value
        return None if abs(due - deadline) < EPSILON else due > deadline

    def healthy(self, op: str) -> bool:
        """Whether the breaker sees this call (up to any first chunk) as a success."""
        failing = {"refused", "busy", "limited"}
        if op == "stream" and self.kind == "broken" and not self.value:
            return False
        return self.kind not in failing

    def answers(self, op: str) -> bool:
        """Whether the call ends the chain: a chat answer, or a stream's first chunk."""
        if self.kind in ("ok", "slow", "truncated"):
            return True
        return self.kind == "broken" and (op == "chat" or self.value > 0)

    def breaks_after_text(self, op: str) -> bool:
        return op == "stream" and self.kind in ("broken", "truncated") and self.answers(op)


STEPS = st.one_of(
    st.sampled_from(["ok", "refused", "busy", "missing", "hang", "truncated"]).map(Step),
    st.builds(Step, st.just("limited"), st.sampled_from([0.0, 1.0, 8.0])),
    st.builds(Step, st.just("slow"), st.sampled_from([1.5, 30.0])),
    st.builds(Step, st.just("broken"), st.sampled_from([0.0, 2.0])),
)


@dataclass
class BreakerModel:
    """What a provider's breaker must be, rebuilt from the calls the provider saw."""

    failures: int = 0
    open_until: float | None = None

    def is_open(self, now: float) -> bool:
        return self.open_until is not None and now < self.open_until

    def record(self, now: float, *, healthy: bool) -> None:
        if healthy:
            self.failures, self.open_until = 0, None
            return
        probe = self.open_until is not None
        self.failures += 1
        if probe or self.failures >= THRESHOLD:
            self.open_until = now + COOLDOWN


class ChainMachine(RuleBasedStateMachine):
    backend: ClassVar[str] = "asyncio"

    def __init__(self) -> None:
        super().__init__()
        self.clock: VirtualClock | MockClock = (
            MockClock(autojump_threshold=0) if self.backend == "trio" else VirtualClock()
        )
        self.journal: list[Call] = []
        self.providers = {name: ScriptedProvider(name, journal=self.journal) for name in NAMES}
        self.scripts: dict[str, deque[Step]] = {name: deque() for name in NAMES}
        self.defaults = dict.fromkeys(NAMES, Step("ok"))
        self.breakers = {name: BreakerModel() for name in NAMES}
        self.llm = build_client(*self.providers.values(), **CLIENT_SETTINGS)

    def _now(self) -> float:
        clock = self.clock
        return clock.current_time() if isinstance(clock, MockClock) else clock.now

    def _run(self, call: Callable[[], Awaitable[_T]]) -> _T:
        options = backend_options(self.backend, self.clock)
        return anyio.run(call, backend=self.backend, backend_options=options)

    @rule(name=st.sampled_from(NAMES), steps=st.lists(STEPS, min_size=1, max_size=4))
    def script(self, name: str, steps: list[Step]) -> None:
        self.scripts[name].extend(steps)
        self.providers[name].then(*(step.outcome() for step in steps))

    @rule(name=st.sampled_from(NAMES), step=st.sampled_from([Step("ok"), Step("refused")]))
    def from_now_on(self, name: str, step: Step) -> None:
        """A provider goes down (or comes back) for good: what it does once its script is used."""
        self.defaults[name] = step
        self.providers[name].default = step.outcome()

    @rule(seconds=st.sampled_from([0.5, 3.0, 10.0, 25.0]))
    def wait(self, seconds: float) -> None:
        self.clock.jump(seconds)

    @rule()
    def chat(self) -> None:
        async def ask() -> ChatResponse | AllProvidersFailed:
            try:
                return await self.llm.chat("hi", model="m")
            except AllProvidersFailed as exc:
                return exc

        started, mark = self._now(), len(self.journal)
        result = self._run(ask)
        answered_by = result.provider if isinstance(result, ChatResponse) else None
        served = self._replay("chat", self.journal[mark:], started, answered_by)
        if isinstance(result, ChatResponse):
            assert served == result.provider
        else:
            assert served is None
        _check_attempts(result.attempts, self.journal[mark:])

    @rule()
    def stream(self) -> None:
        chunks: list[ChatChunk] = []

        async def read() -> BaseException | None:
            try:
                async for chunk in self.llm.stream_chat("hi", model="m"):
                    chunks.append(chunk)
            except (AllProvidersFailed, StreamInterrupted) as exc:
                return exc
            return None

        started, mark = self._now(), len(self.journal)
        error = self._run(read)
        calls = self.journal[mark:]
        answered_by = chunks[0].provider if chunks else None
        served = self._replay("stream", calls, started, answered_by)
        assert {chunk.provider for chunk in chunks} <= {served}
        if isinstance(error, StreamInterrupted):
            assert error.partial == "".join(c.content for c in chunks)
        elif error is None:
            assert chunks[-1].done
            _check_attempts(chunks[-1].attempts, calls)
        else:
            assert served is None
            assert isinstance(error, AllProvidersFailed)
            _check_attempts(error.attempts, calls)

    def _replay(
        self, op: str, calls: list[Call], started: float, answered_by: str | None
    ) -> str | None:
        """Check the calls of one request against the breaker model; who answered, if anyone.

        ``answered_by`` (what the client said) only settles a race with the deadline.
        """
        deadline = started + TIMEOUT
        assert self._now() <= deadline + EPSILON
        if calls and all(self.breakers[name].is_open(started) for name in NAMES):
            recovery = min(m.open_until or 0.0 for m in self.breakers.values())
            assert calls[0].at == recovery, "a call waits exactly for the first recovery"
            event("waited for a cooling provider")
        previous = -1
        for number, call in enumerate(calls):
            index = NAMES.index(call.provider)
            assert index >= previous, "a chain is walked in order"
            for skipped in NAMES[previous + 1 : index]:
                assert self.breakers[skipped].is_open(call.at), f"{skipped} skipped while closed"
            previous = index
            assert sum(c.provider == call.provider for c in calls) <= MAX_ATTEMPTS
            model = self.breakers[call.provider]
            assert not model.is_open(call.at), f"{call.provider} called while open"
            script = self.scripts[call.provider]
            step = script.popleft() if script else self.defaults[call.provider]
            last = number == len(calls) - 1
            cut = step.cut(call.at, deadline)
            if cut is None:
                cut = not (last and answered_by == call.provider)
            if cut:
                assert last, "nothing is tried once the deadline has passed"
                assert abs(self._now() - deadline) < EPSILON
                event("a try cut by the deadline")
                return None
            model.record(call.at, healthy=step.healthy(op))
            if step.answers(op):
                assert last, "nothing is called after an answer (or a stream's first chunk)"
                if step.breaks_after_text(op):
                    event("a stream interrupted after its first chunk")
                    model.record(call.at, healthy=False)
                event(f"{op} answered by {call.provider}")
                return call.provider
        now = self._now()
        out_of_time = now >= deadline - EPSILON
        for skipped in NAMES[previous + 1 :]:
            assert out_of_time or self.breakers[skipped].is_open(now), f"{skipped} left out"
        if not calls:
            recovery = min(m.open_until or 0.0 for m in self.breakers.values())
            assert now == started, "with no recovery before the deadline, fail fast"
            assert recovery >= deadline - EPSILON
            event("failed fast: every provider cooling past the deadline")
        return None


def _check_attempts(attempts: tuple[Attempt, ...] | list[Attempt], calls: list[Call]) -> None:
    tried = [a for a in attempts if a.outcome != "skipped"]
    assert sum(1 + a.retries for a in tried) == len(calls)


_SETTINGS = settings(
    max_examples=75,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class TestChainUnderAsyncio(ChainMachine.TestCase):  # type: ignore[name-defined,misc]
    settings = _SETTINGS


class _TrioMachine(ChainMachine):
    backend = "trio"


class TestChainUnderTrio(_TrioMachine.TestCase):  # type: ignore[name-defined,misc]
    settings = _SETTINGS
