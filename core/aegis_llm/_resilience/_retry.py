"""The SDK's one retry layer, on tenacity: when to repeat a try on the same provider, and when.

Plugins never retry, and neither does the SDK anywhere else, so waits cannot
stack the way they do when a framework retries around an SDK that retries too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState
from tenacity.retry import retry_if_exception
from tenacity.stop import stop_after_attempt, stop_base
from tenacity.wait import wait_base, wait_exponential_jitter

from aegis_llm._resilience._verdicts import worth_repeating
from aegis_llm._settings import RetrySettings
from aegis_llm.errors import AegisLLMError, RateLimited

__all__ = ["RetryPolicy"]

_R = TypeVar("_R")


class _ServerHintOrBackoff(wait_base):
    """Wait as long as the server asked (``Retry-After``), capped; else back off with jitter."""

    def __init__(self, settings: RetrySettings) -> None:
        self._backoff = wait_exponential_jitter(
            multiplier=settings.backoff_initial,
            max=settings.backoff_max,
            jitter=settings.backoff_initial,
        )
        self._cap = settings.retry_after_max

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self._cap)
        return self._backoff(retry_state)


class RetryPolicy:
    """Repeats a failed try while repeating can help and the caller's limits allow.

    The first try of every call runs outside tenacity (see ``resume``), so a
    call that succeeds at once never builds a retry object. Limits beyond the
    attempt count (the deadline, an open breaker) come in as an extra tenacity
    ``stop`` per call.
    """

    def __init__(self, settings: RetrySettings) -> None:
        self._max_attempts = settings.max_attempts
        self._enough = stop_after_attempt(settings.max_attempts)
        self._template = AsyncRetrying(
            sleep=anyio.sleep,
            wait=_ServerHintOrBackoff(settings),
            retry=retry_if_exception(worth_repeating),
            reraise=True,
        )

    def should_retry(self, error: AegisLLMError) -> bool:
        return self._max_attempts > 1 and worth_repeating(error)

    async def resume(
        self,
        failure: AegisLLMError,
        again: Callable[[], Awaitable[_R]],
        *,
        give_up: stop_base,
        before_sleep: Callable[[RetryCallState], None],
    ) -> _R:
        """Hand a first try that already failed to tenacity, which then repeats ``again``.

        tenacity is shown the failure as its own first attempt, so its wait
        (the server's ``Retry-After``), stop and attempt numbering all see the
        call exactly as if it had run the first try itself.
        """
        retrying = self._template.copy(stop=self._enough | give_up, before_sleep=before_sleep)
        pending: list[AegisLLMError] = [failure]

        async def replay_then_again() -> _R:
            if pending:
                raise pending.pop()
            return await again()

        return await retrying(replay_then_again)
