"""What one failed try means for the chain: give up, move on, or try the same provider again.

Every decision of the resilience layer starts from the error a provider raised,
so the rules live in one place instead of being re-derived by the retry loop,
the breaker and the chain walk separately.
"""

from __future__ import annotations

from enum import Enum

from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    ConfigurationError,
    EmbeddingSpaceMismatch,
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    Unsupported,
)

__all__ = ["Verdict", "judge", "worth_repeating"]


class Verdict(Enum):
    """How the chain reacts to an error."""

    FATAL = "fatal"
    """The same request would fail on every provider: stop the chain and raise it."""

    DECLINED = "declined"
    """The provider is healthy but cannot serve this request: fail over, breaker untouched."""

    UNHEALTHY = "unhealthy"
    """The provider is down, overloaded or broken: fail over and count it against the breaker."""


_FATAL = (InvalidRequest, EmbeddingSpaceMismatch)
_DECLINED = (ModelNotFound, AuthenticationError, ConfigurationError, Unsupported)
_NEVER_REPEAT = (*_FATAL, *_DECLINED)


def judge(error: AegisLLMError) -> Verdict:
    """Classify an error raised by a provider (or by a check on what it returned)."""
    if isinstance(error, _FATAL):
        return Verdict.FATAL
    if isinstance(error, _DECLINED):
        return Verdict.DECLINED
    if isinstance(error, ProviderError) and not error.retryable:
        # A 4xx of the provider's own (a context too long for this server): it
        # answered, so it is alive, and another provider may well accept it.
        return Verdict.DECLINED
    return Verdict.UNHEALTHY


def worth_repeating(error: BaseException) -> bool:
    """Whether the same request on the same provider can succeed a moment later.

    ``retryable`` is the plugin's word (429, 503, 5xx, read timeouts, a
    connection dropped before the first byte); the type check guards against a
    plugin that marks a request-level error retryable by mistake.
    """
    return (
        isinstance(error, AegisLLMError)
        and error.retryable
        and not isinstance(error, _NEVER_REPEAT)
    )
