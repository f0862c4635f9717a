"""Walking a chain of providers: who to try, in which order, and what happened.

This is the simplest correct router (one try per provider, in order); the
resilience layer replaces its policy with retries, a circuit breaker and a
deadline without changing this interface.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import anyio

from aegis_llm._provider import Provider
from aegis_llm._results import Attempt, AttemptOutcome, ChatChunk
from aegis_llm._settings import AegisSettings
from aegis_llm.errors import (
    AegisLLMError,
    AllProvidersFailed,
    InvalidRequest,
    ProviderTimeout,
    StreamInterrupted,
    Unsupported,
)

__all__ = ["Router", "Target"]

_R = TypeVar("_R")


@dataclass(frozen=True)
class Target:
    """One chain member for one call: the provider (if installed) and its own model id."""

    name: str
    model: str
    provider: Provider | None
    unavailable: AegisLLMError | None = None


def _attempt(
    target: Target, outcome: AttemptOutcome, started: float, error: BaseException | None
) -> Attempt:
    return Attempt(
        provider=target.name,
        model=target.model,
        outcome=outcome,
        error_type=type(error).__name__ if error else None,
        error=str(error) if error else None,
        duration_seconds=time.monotonic() - started,
    )


class Router:
    """Tries each target in order; never fails over on ``InvalidRequest``."""

    def __init__(self, settings: AegisSettings) -> None:
        self._settings = settings

    async def run(
        self,
        op: str,
        targets: Sequence[Target],
        call: Callable[[Provider, str], Awaitable[_R]],
    ) -> tuple[_R, list[Attempt]]:
        attempts: list[Attempt] = []
        with anyio.move_on_after(self._settings.timeout) as scope:
            for target in targets:
                started = time.monotonic()
                if target.provider is None:
                    attempts.append(_attempt(target, "skipped", started, target.unavailable))
                    continue
                try:
                    result = await call(target.provider, target.model)
                except InvalidRequest:
                    raise
                except Unsupported as exc:
                    attempts.append(_attempt(target, "skipped", started, exc))
                    continue
                except AegisLLMError as exc:
                    attempts.append(_attempt(target, "error", started, exc))
                    continue
                attempts.append(_attempt(target, "success", started, None))
                return result, attempts
        if scope.cancelled_caught:
            deadline = ProviderTimeout(f"{op}: the deadline of {self._settings.timeout}s passed")
            attempts.append(
                Attempt(
                    provider="(deadline)",
                    outcome="error",
                    error_type="ProviderTimeout",
                    error=str(deadline),
                )
            )
        raise AllProvidersFailed(f"{op}: every provider in the chain failed", attempts=attempts)

    async def stream(
        self,
        targets: Sequence[Target],
        open_stream: Callable[[Provider, str], AsyncIterator[ChatChunk]],
    ) -> AsyncGenerator[ChatChunk, None]:
        attempts: list[Attempt] = []
        for target in targets:
            started = time.monotonic()
            if target.provider is None:
                attempts.append(_attempt(target, "skipped", started, target.unavailable))
                continue
            delivered: list[str] = []
            stream = open_stream(target.provider, target.model)
            try:
                async for chunk in stream:
                    if chunk.done:
                        attempts.append(_attempt(target, "success", started, None))
                        chunk = chunk.model_copy(update={"attempts": tuple(attempts)})
                    delivered.append(chunk.content)
                    yield chunk
            except InvalidRequest:
                raise
            except AegisLLMError as exc:
                if delivered:
                    partial = "".join(delivered)
                    raise StreamInterrupted(
                        f"the stream broke after {len(partial)} characters: {exc}",
                        partial=partial,
                        provider=target.name,
                        hint="the partial answer is in .partial; retry the request if you need all",
                    ) from exc
                skipped = isinstance(exc, Unsupported)
                attempts.append(_attempt(target, "skipped" if skipped else "error", started, exc))
            else:
                return
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
        raise AllProvidersFailed(
            "stream_chat: every provider in the chain failed", attempts=attempts
        )
