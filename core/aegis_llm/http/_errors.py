"""Reading servers' error answers into the SDK's taxonomy.

Local servers disagree on error shapes (Ollama ``{"error": "..."}``, OpenAI
``{"error": {"message", "type", ...}}``, llama.cpp adds ``code``, old vLLM is
flat ``{"object": "error", "message": ...}``), so one parser reads them all
and falls back to the raw text; plugins only add what is special to them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    RateLimited,
)

__all__ = [
    "ErrorBody",
    "ErrorClassifier",
    "classify_status",
    "parse_error_body",
    "parse_retry_after",
]

_PREVIEW = 300


# The keys a flat error object (old vLLM, no "error" key) spends on what ErrorBody names.
_NAMED = frozenset({"message", "detail", "type", "code"})


@dataclass(frozen=True, slots=True)
class ErrorBody:
    """The useful parts of an error answer, whatever shape it came in.

    ``extra`` keeps the other top-level keys of a JSON error object, because
    some servers put the way out beside the message (Ollama's 401 for cloud
    models carries ``signin_url``) and a plugin's classifier needs it for
    the hint. It holds the server's words: :meth:`redacted` masks them too.
    """

    message: str
    type: str | None = None
    code: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict, hash=False)

    def redacted(self, redact: Callable[[str], str]) -> ErrorBody:
        """This body with ``redact`` applied to the message and every string in ``extra``.

        Anything here can end up in an error message, and a server can echo
        a credential in any field, JSON-escaped so the byte scan missed it.
        """
        extra = {key: _redact_value(value, redact) for key, value in self.extra.items()}
        return ErrorBody(redact(self.message), self.type, self.code, extra)


def _redact_value(value: object, redact: Callable[[str], str]) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_value(item, redact) for item in value]
    return value


def parse_error_body(body: bytes | str) -> ErrorBody:
    """Extract the message from any known error shape; never raises."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        value = json.loads(text)
    except ValueError:
        return ErrorBody(text.strip()[:_PREVIEW] or "(empty body)")
    if not isinstance(value, dict):
        return ErrorBody(text.strip()[:_PREVIEW])
    error = value.get("error", value)
    named = {"error"} if "error" in value else _NAMED
    extra = {key: item for key, item in value.items() if key not in named}
    if isinstance(error, str):
        return ErrorBody(error, extra=extra)
    if isinstance(error, dict):
        message = error.get("message") or error.get("detail") or json.dumps(error)[:_PREVIEW]
        kind = error.get("type")
        code = error.get("code")
        return ErrorBody(
            str(message),
            type=str(kind) if kind is not None else None,
            code=str(code) if code is not None else None,
            extra=extra,
        )
    return ErrorBody(text.strip()[:_PREVIEW], extra=extra)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, then ``retry-after`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


ErrorClassifier = Callable[[int, ErrorBody, Mapping[str, str]], AegisLLMError | None]
"""A plugin's own mapping; returning ``None`` defers to :func:`classify_status`."""


def classify_status(
    status: int, body: ErrorBody, headers: Mapping[str, str], *, provider: str, model: str | None
) -> AegisLLMError:
    """The generic mapping from an HTTP error status to the SDK's errors."""
    message = body.message
    if status in (401, 403):
        return AuthenticationError(
            f"authentication failed ({status}): {message}",
            provider=provider,
            hint=f"check AEGIS_LLM_{provider.upper()}_API_KEY",
        )
    if status == 404 and ("model" in message.lower() or body.code == "model_not_found"):
        return ModelNotFound(message, model=model, provider=provider)
    if status in (400, 422):
        return InvalidRequest(f"the server rejected the request: {message}", provider=provider)
    if status == 408:
        return ProviderTimeout(f"the server timed out: {message}", provider=provider)
    if status == 429 or status == 503:
        return RateLimited(
            f"the server is busy ({status}): {message}",
            retry_after=parse_retry_after(headers),
            provider=provider,
        )
    return ProviderError(f"HTTP {status}: {message}", status_code=status, provider=provider)
