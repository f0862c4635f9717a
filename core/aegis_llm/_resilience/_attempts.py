"""The record of one call: an ``Attempt`` per provider called or skipped, logged as it happens.

Every reply carries these records and ``AllProvidersFailed`` carries them
all, so "who answered, and what happened to the others" never needs a
debugger. A provider called that refused the request (``declined``) is kept
apart from one never called (``skipped``): only the first tells the caller
something about that provider's models. Each try is also one debug record on
the ``aegis_llm`` logger: the final one of a provider as the attempt, the ones
before it as retries.
"""

from __future__ import annotations

import logging

from tenacity import RetryCallState

from aegis_llm._results import Attempt, AttemptOutcome
from aegis_llm.errors import AegisLLMError

__all__ = ["AttemptLog", "logger"]

logger = logging.getLogger("aegis_llm")


class AttemptLog:
    """The attempts of one call (``op`` is ``chat``, ``stream_chat`` or ``embed``)."""

    __slots__ = ("attempts", "op")

    def __init__(self, op: str) -> None:
        self.op = op
        self.attempts: list[Attempt] = []

    def add(
        self,
        provider: str,
        model: str | None,
        outcome: AttemptOutcome,
        error: AegisLLMError | None = None,
        *,
        duration: float = 0.0,
        retries: int = 0,
    ) -> None:
        attempt = Attempt(
            provider=provider,
            model=model,
            outcome=outcome,
            error_type=type(error).__name__ if error is not None else None,
            error=str(error) if error is not None else None,
            duration_seconds=max(duration, 0.0),
            retries=retries,
        )
        self.attempts.append(attempt)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: %s (%s) %s after %.3fs, %d retries%s",
                self.op,
                provider,
                model,
                outcome,
                attempt.duration_seconds,
                retries,
                f": {attempt.error}" if error is not None else "",
                extra={"aegis_llm_attempt": attempt},
            )

    def retrying(self, provider: str, model: str, retry_state: RetryCallState) -> None:
        """Log a try that failed and is about to be repeated (tenacity's ``before_sleep``)."""
        if not logger.isEnabledFor(logging.DEBUG):
            return
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        logger.debug(
            "%s: %s (%s) try %d failed, retrying in %.3fs: %s",
            self.op,
            provider,
            model,
            retry_state.attempt_number,
            retry_state.upcoming_sleep,
            error,
        )
