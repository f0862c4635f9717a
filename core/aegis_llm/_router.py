"""Walking a chain of providers: who to try, in which order, and what happened.

The policy (DESIGN.md, "Fallback and retry"):

* Members are tried in order. One that lacks the operation (or a feature the
  request needs, such as tools), is not installed or whose circuit breaker is
  open is skipped without being called. One that is called and answers
  ``Unsupported`` declined: the chain moves on, and the attempt says so.
* A try that fails with something repeating can fix (``worth_repeating``) is
  repeated on the same provider by the retry policy; then the chain fails over.
  ``InvalidRequest`` (and an embedding-space mismatch) stops the whole chain:
  the same request would fail everywhere.
* One deadline bounds everything: tries, retry waits and the wait for a
  cooling provider. When every member is cooling down, the walk waits for the
  earliest recovery if it comes before the deadline, and fails fast otherwise.
* A stream fails over only until its first chunk of text reaches the caller;
  after that a failure raises ``StreamInterrupted`` with the partial text and
  reasoning.
* Every member tried, declining or skipped leaves an ``Attempt``; a reply
  carries them, and so does ``AllProvidersFailed``.

All times are the event loop's (``anyio.current_time``), so the layer runs on
virtual time under a mock clock.
"""

from __future__ import annotations

import math
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Sequence,
)
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

import anyio
from tenacity import RetryCallState
from tenacity.stop import stop_base

from aegis_llm._capabilities import Capability
from aegis_llm._inventory import HealthReport
from aegis_llm._provider import Provider
from aegis_llm._resilience import (
    Admission,
    AttemptLog,
    Breaker,
    BreakerBoard,
    Deadline,
    Gate,
    RetryPolicy,
    Verdict,
    judge,
    logger,
)
from aegis_llm._results import Attempt, AttemptOutcome, ChatChunk
from aegis_llm._settings import AegisSettings
from aegis_llm.errors import (
    AegisLLMError,
    AllProvidersFailed,
    ProtocolError,
    ProviderUnavailable,
    StreamInterrupted,
    Unsupported,
)

__all__ = ["Router", "Target"]

_R = TypeVar("_R")

Call = Callable[[Provider, str], Awaitable[_R]]
"""One try: the provider and its own id for the requested model."""


@dataclass(frozen=True, slots=True)
class Target:
    """One chain member for one call: the provider (if installed) and its own model id."""

    name: str
    model: str
    provider: Provider | None
    unavailable: AegisLLMError | None = None


@dataclass(frozen=True, slots=True)
class _Served(Generic[_R]):
    """What the walk found: who served, what, since when, after how many retries."""

    target: Target
    result: _R
    started: float
    retries: int


@dataclass(frozen=True, slots=True)
class _Opened:
    chunks: AsyncIterator[ChatChunk]
    first: ChatChunk


class _GiveUp(stop_base):
    """Stop retrying when the next wait would use up the deadline or the breaker has opened."""

    def __init__(self, deadline: Deadline, breaker: Breaker) -> None:
        self._deadline = deadline
        self._breaker = breaker

    def __call__(self, retry_state: RetryCallState) -> bool:
        now = anyio.current_time()
        return self._deadline.at - now <= retry_state.upcoming_sleep or self._breaker.is_open(now)


class Router:
    """Walks provider chains for one client; its breakers outlive single calls."""

    def __init__(self, settings: AegisSettings) -> None:
        self._settings = settings
        self._retry = RetryPolicy(settings.retry)
        self.breakers = BreakerBoard(settings.breaker)
        self._probe_by_health = settings.breaker.probe == "health"

    async def run(
        self,
        op: str,
        capability: Capability,
        targets: Sequence[Target],
        call: Call[_R],
        *,
        features: Collection[Capability] = (),
        timeout: float | None = None,
    ) -> tuple[_R, list[Attempt]]:
        """Answer from the first member that can; raises ``AllProvidersFailed`` otherwise.

        ``features`` are capabilities the request needs besides ``capability``
        (tools offered): a member lacking one is skipped uncalled, like one
        lacking the operation, rather than called only to refuse.
        """
        log = AttemptLog(op)
        needs = (capability, *features)
        served = await self._walk(needs, targets, call, log, self._deadline(timeout, op))
        self._record_success(log, served)
        return served.result, log.attempts

    async def stream(
        self,
        targets: Sequence[Target],
        open_stream: Callable[[Provider, str], AsyncIterator[ChatChunk]],
        *,
        features: Collection[Capability] = (),
        timeout: float | None = None,
    ) -> AsyncGenerator[ChatChunk, None]:
        """Stream from the first member that produces text; the done chunk carries attempts.

        The deadline covers finding that member (tries, retries, waits) up to
        its first chunk; the rest of the stream is bounded by the provider's
        idle and total stream timeouts, since no failover can happen any more.
        ``features`` as for ``run``.
        """
        log = AttemptLog("stream_chat")

        async def open_first(provider: Provider, model: str) -> _Opened:
            chunks = open_stream(provider, model)
            try:
                return _Opened(chunks, await _first_chunk(chunks, provider.name))
            except BaseException:
                await _close(chunks)
                raise

        served = await self._walk(
            (Capability.STREAM, *features),
            targets,
            open_first,
            log,
            self._deadline(timeout, log.op),
        )
        chunks, chunk = served.result.chunks, served.result.first
        delivered: list[str] = []
        reasoned: list[str] = []
        try:
            while not chunk.done:
                delivered.append(chunk.content)
                reasoned.append(chunk.reasoning)
                yield chunk
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    cause: AegisLLMError = _ended_early(served.target.name)
                except AegisLLMError as exc:
                    cause = exc
                else:
                    continue
                text, reasoning = "".join(delivered), "".join(reasoned)
                raise self._interrupted(log, served, text, reasoning, cause) from cause
            self._record_success(log, served)
            yield chunk.model_copy(update={"attempts": tuple(log.attempts)})
        finally:
            await _close(chunks)

    async def watch(self, provider_of: Callable[[str], Provider | None]) -> None:
        """Probe cooling providers through their health hook as soon as their cool-downs end.

        Runs while the client is open as a context manager (``probe =
        "health"``), so a recovered provider is back in the chain before a
        request has to find out, and a request never waits for a probe.
        Providers without a health hook are left to the next request.
        """
        while True:
            wake = math.inf
            for breaker in self.breakers.breakers():
                provider = provider_of(breaker.name)
                if breaker.open_until is None or provider is None:
                    continue
                if not provider.supports(Capability.HEALTH):
                    continue
                admission = breaker.admit(anyio.current_time())
                if admission.gate is Gate.PROBE:
                    limit = self._settings.health_timeout
                    admission = await self._probe_health(provider, breaker, limit)
                if admission.retry_at is not None:
                    wake = min(wake, admission.retry_at)
            await self.breakers.wait(wake)

    def _deadline(self, timeout: float | None, op: str) -> Deadline:
        return Deadline.after(self._settings.timeout if timeout is None else timeout, op)

    async def _walk(
        self,
        needs: Sequence[Capability],
        targets: Sequence[Target],
        call: Call[_R],
        log: AttemptLog,
        deadline: Deadline,
    ) -> _Served[_R]:
        while True:
            recovery = math.inf  # when the first cooling member may be probed again
            probing_elsewhere = tried = False
            last: AegisLLMError | None = None
            for target in targets:
                provider = target.provider
                if provider is None:
                    log.add(target.name, target.model, "skipped", target.unavailable)
                    continue
                lacking = next((need for need in needs if not provider.supports(need)), None)
                if lacking is not None:
                    log.add(target.name, target.model, "skipped", _lacks(provider, lacking))
                    continue
                now = anyio.current_time()
                if now >= deadline.at:
                    log.add(target.name, target.model, "skipped", deadline.expired())
                    continue
                breaker = self.breakers[target.name]
                admission = breaker.admit(now)
                probe = admission.gate is Gate.PROBE
                if probe and self._probe_by_health and provider.supports(Capability.HEALTH):
                    limit = min(self._settings.health_timeout, deadline.at - now)
                    admission = await self._probe_health(provider, breaker, limit)
                    probe = False
                if admission.gate is Gate.SKIP:
                    log.add(target.name, target.model, "skipped", _cooling(breaker))
                    if admission.retry_at is None:
                        probing_elsewhere = True
                    else:
                        recovery = min(recovery, admission.retry_at)
                    continue
                tried = True
                try:
                    return await self._serve(
                        target, provider, call, breaker, probe, log, deadline, now
                    )
                except AegisLLMError as exc:
                    if judge(exc) is Verdict.FATAL:
                        raise
                    last = exc
            if tried or not (probing_elsewhere or recovery < deadline.at):
                raise _all_failed(log, tried, recovery, deadline) from last
            await self.breakers.wait(min(recovery, deadline.at))

    async def _serve(
        self,
        target: Target,
        provider: Provider,
        call: Call[_R],
        breaker: Breaker,
        probe: bool,
        log: AttemptLog,
        deadline: Deadline,
        started: float,
    ) -> _Served[_R]:
        """Use one member, repeating failed tries the retry policy considers worth it."""
        tries = 0

        async def once() -> _R:
            nonlocal tries
            tries += 1
            return await self._try(target, provider, call, breaker, probe and tries == 1, deadline)

        try:
            try:
                result = await once()
            except AegisLLMError as exc:
                if not self._retry.should_retry(exc):
                    raise
                result = await self._retry.resume(
                    exc,
                    once,
                    give_up=_GiveUp(deadline, breaker),
                    before_sleep=partial(log.retrying, target.name, target.model),
                )
        except AegisLLMError as exc:
            outcome: AttemptOutcome = "declined" if isinstance(exc, Unsupported) else "error"
            duration = anyio.current_time() - started
            log.add(target.name, target.model, outcome, exc, duration=duration, retries=tries - 1)
            raise
        return _Served(target, result, started, tries - 1)

    async def _try(
        self,
        target: Target,
        provider: Provider,
        call: Call[_R],
        breaker: Breaker,
        probe: bool,
        deadline: Deadline,
    ) -> _R:
        """One call to one provider, under the deadline, reported to its breaker."""
        settled = False
        try:
            with anyio.CancelScope(deadline=deadline.at):
                try:
                    result = await call(provider, target.model)
                except AegisLLMError as exc:
                    settled = True
                    if judge(exc) is Verdict.UNHEALTHY:
                        breaker.failed(anyio.current_time(), probe=probe)
                    else:
                        breaker.succeeded()
                    raise
                settled = True
                breaker.succeeded()
                return result
            raise deadline.expired(target.name)
        finally:
            if not settled:
                breaker.abandoned(probe=probe)

    async def _probe_health(self, provider: Provider, breaker: Breaker, limit: float) -> Admission:
        """Ask a cooling provider's health hook whether it is back, instead of risking a request.

        The caller holds the breaker's probe. No answer within ``limit``
        seconds, or any error from a hook that must not raise, counts as down.
        """
        report: HealthReport | None = None
        try:
            with anyio.move_on_after(limit):
                report = await provider.health()
        except AegisLLMError as exc:
            logger.debug("%s: the health hook raised, counted as down: %s", provider.name, exc)
        except Exception:  # noqa: BLE001 - a crash in a background probe would end the client
            logger.exception("%s: the health hook crashed, counted as down", provider.name)
        except BaseException:
            breaker.abandoned(probe=True)
            raise
        now = anyio.current_time()
        if report is not None and report.status != "down":
            breaker.succeeded()
            return Admission(Gate.CALL)
        breaker.failed(now, probe=True)
        return breaker.admit(now)

    def _record_success(self, log: AttemptLog, served: _Served[_R]) -> None:
        target = served.target
        duration = anyio.current_time() - served.started
        log.add(target.name, target.model, "success", duration=duration, retries=served.retries)

    def _interrupted(
        self,
        log: AttemptLog,
        served: _Served[_R],
        partial_text: str,
        partial_reasoning: str,
        cause: AegisLLMError,
    ) -> StreamInterrupted:
        """Record a stream that broke after text reached the caller; never fail over now.

        What the caller got is taken from the chunks passed on, not from the
        cause: that may be any error (a timeout, a stream ending early), and a
        plugin's own ``StreamInterrupted`` may predate ``partial_reasoning``.
        """
        target = served.target
        if judge(cause) is Verdict.UNHEALTHY:
            self.breakers[target.name].failed(anyio.current_time(), probe=False)
        duration = anyio.current_time() - served.started
        retries = served.retries
        log.add(target.name, target.model, "error", cause, duration=duration, retries=retries)
        return StreamInterrupted(
            f"the stream broke after {len(partial_text)} characters: {cause.message}",
            partial=partial_text,
            partial_reasoning=partial_reasoning,
            provider=target.name,
        )


async def _first_chunk(chunks: AsyncIterator[ChatChunk], provider: str) -> ChatChunk:
    """The first chunk worth delivering: with text (answer or reasoning), or the final one.

    Leading chunks without text (an OpenAI-style role-only chunk) are dropped,
    so they do not pin the stream to a provider before it has said anything.
    Reasoning pins it like answer text: both are this model's answer.
    """
    async for chunk in chunks:
        if chunk.content or chunk.reasoning or chunk.done:
            return chunk
    raise _ended_early(provider)


def _ended_early(provider: str) -> ProtocolError:
    return ProtocolError(
        "the stream ended without its final (done) chunk",
        provider=provider,
        hint="the server closed the stream early; check its log, or retry",
    )


async def _close(chunks: AsyncIterator[ChatChunk]) -> None:
    """Release a provider's stream, even while the caller is being cancelled."""
    closer = getattr(chunks, "aclose", None)
    if closer is not None:
        with anyio.CancelScope(shield=True):
            await closer()


def _lacks(provider: Provider, capability: Capability) -> Unsupported:
    return Unsupported(
        f"lacks the {capability.value} capability; skipped",
        provider=provider.name,
        hint="leave it out of this chain, or use a provider that can",
    )


def _cooling(breaker: Breaker) -> ProviderUnavailable:
    return ProviderUnavailable(
        breaker.describe(anyio.current_time()),
        provider=breaker.name,
        hint="it failed repeatedly; check the server, or wait for the breaker to probe it",
    )


def _all_failed(
    log: AttemptLog, tried: bool, recovery: float, deadline: Deadline
) -> AllProvidersFailed:
    if tried or math.isinf(recovery):
        message = f"{log.op}: every provider in the chain failed"
    else:
        wait = recovery - anyio.current_time()
        message = (
            f"{log.op}: every provider is cooling down after repeated failures; the first "
            f"recovers in {wait:.1f}s, after the deadline of {deadline.budget:g}s"
        )
    return AllProvidersFailed(message, attempts=log.attempts)
