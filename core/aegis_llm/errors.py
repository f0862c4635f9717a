"""The one exception family the SDK raises.

Every error says which provider it came from and what to do next, because the
person reading it is usually an application developer whose local server is
not running, not an SDK maintainer. ``retryable`` is the single fact the
resilience layer needs from an error: whether repeating the same request on
the same provider can help. Errors never carry request headers, so an API key
cannot leak through a message or a repr.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from aegis_llm._results import Attempt

__all__ = [
    "AegisLLMError",
    "AllProvidersFailed",
    "AuthenticationError",
    "ConfigurationError",
    "EmbeddingSpaceMismatch",
    "InvalidRequest",
    "ModelNotFound",
    "PluginLoadError",
    "ProtocolError",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUnavailable",
    "RateLimited",
    "StreamInterrupted",
    "Unsupported",
]


class AegisLLMError(Exception):
    """Base class: catch this to handle every failure of the SDK."""

    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.hint = hint
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        text = f"{self.provider}: {self.message}" if self.provider else self.message
        return f"{text} ({self.hint})" if self.hint else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class InvalidRequest(AegisLLMError, ValueError):
    """The request is wrong whoever answers it; raised before any I/O and never retried."""


class ConfigurationError(AegisLLMError, ValueError):
    """Settings that cannot work (bad URL, unknown provider, mixed embedding spaces)."""


class PluginLoadError(AegisLLMError):
    """A plugin failed to import or validate and ``strict_plugins`` asked to raise."""


class Unsupported(AegisLLMError):
    """The provider does not offer this operation (its capabilities say so)."""


class ProviderUnavailable(AegisLLMError):
    """The server could not be reached.

    ``refused`` separates "nothing listens there" (fail over at once: retrying a
    closed port only burns the deadline) from a connection that dropped before
    the first byte (worth one more try).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        hint: str | None = None,
        refused: bool = True,
    ) -> None:
        super().__init__(message, provider=provider, hint=hint, retryable=not refused)
        self.refused = refused


class ModelNotFound(AegisLLMError):
    """The provider answers but does not have (or has not loaded) the model."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        provider: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, hint=hint)
        self.model = model


class AuthenticationError(AegisLLMError):
    """The server refused our credentials (401/403); the key itself is never shown."""


class RateLimited(AegisLLMError):
    """429 or 503-busy: the server asks us to come back later, maybe saying when."""

    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        provider: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, hint=hint)
        self.retry_after = retry_after


class ProviderTimeout(AegisLLMError):
    """No answer in time: first byte, between chunks, stream total or the deadline."""

    default_retryable = True


class ProviderError(AegisLLMError):
    """The server reported its own failure (5xx, or an error object in a 200 body)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        provider: str | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        if retryable is None:
            retryable = status_code is not None and status_code >= 500
        super().__init__(message, provider=provider, hint=hint, retryable=retryable)
        self.status_code = status_code


class ProtocolError(AegisLLMError):
    """The answer was malformed, truncated or larger than the configured limits."""


class EmbeddingSpaceMismatch(AegisLLMError):
    """Two chain members would produce vectors from different models or dimensions.

    Mixing such vectors in one index corrupts retrieval silently, so this is an
    error, never a fallback.
    """


class StreamInterrupted(AegisLLMError):
    """A stream failed after text reached the caller; nothing it delivered is lost.

    Failing over at this point would splice two models' answers together, so the
    SDK stops and hands the decision back to the caller, with what arrived:
    ``partial`` the answer text, ``partial_reasoning`` a thinking model's
    reasoning (kept apart, as in the chunks). Without a ``hint`` of its own the
    error says where to look, naming ``.partial_reasoning`` whenever it holds
    something: a thinking model broken off mid-thought leaves ``.partial`` empty.
    """

    def __init__(
        self,
        message: str,
        *,
        partial: str = "",
        partial_reasoning: str = "",
        provider: str | None = None,
        hint: str | None = None,
    ) -> None:
        if hint is None:
            held = "the partial answer is in .partial"
            if partial_reasoning:
                held += ", the reasoning so far in .partial_reasoning"
            hint = f"{held}; send the request again for a whole one"
        super().__init__(message, provider=provider, hint=hint)
        self.partial = partial
        self.partial_reasoning = partial_reasoning


class AllProvidersFailed(AegisLLMError):
    """Every member of the chain failed or was skipped; ``attempts`` says how."""

    def __init__(self, message: str, *, attempts: Sequence[Attempt] = ()) -> None:
        self.attempts: list[Attempt] = list(attempts)
        super().__init__(message, hint=_summarise(self.attempts) or None)

    @property
    def errors(self) -> list[str]:
        """One line per failed attempt, for logs and the CLI."""
        return [a.error for a in self.attempts if a.error]


def _summarise(attempts: Sequence[Attempt]) -> str:
    return "; ".join(a.error or f"{a.provider}: {a.outcome}" for a in attempts)
