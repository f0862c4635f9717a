"""Ollama's failures in the SDK's taxonomy, each with the command that fixes it.

The core's generic status mapping is right for most codes; this module adds
what only Ollama's answers reveal: which model is missing (its 404 echoes the
name), a route the server does not have (an old release answers 404 with Go's
plain ``404 page not found``), a full request queue (503, never with
``Retry-After``), cloud models that need ``ollama signin`` and models that
lack a capability (a 400 about the model, not the request: failover goes on).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    RateLimited,
    StreamInterrupted,
    Unsupported,
)
from aegis_llm.http import ErrorBody, parse_retry_after

__all__ = [
    "START_HINT",
    "EndpointMissing",
    "ServerReported",
    "claim",
    "classify",
    "interrupted",
    "malformed",
    "model_not_found",
    "owned_by",
]

START_HINT = "is Ollama running? start it with `ollama serve`"

_MISSING_MODEL = re.compile(r"""model ['"](?P<name>[^'"]+)['"] not found""")
# Ollama's 400 for a model without the capability a request needs (server/routes.go).
# The words are listed: "raw mode does not support template" is the request's fault.
_LACKS = re.compile(
    r"(?P<model>.+?) does not support "
    r"(?P<capability>chat|generate|completion|tools|thinking|embedding|insert|vision)\s*\Z"
)


class EndpointMissing(ProviderError):
    """A 404 that names no model: the server lacks the route (an old Ollama, or not Ollama)."""


class ServerReported(ProviderError):
    """An ``{"error": ...}`` object in a 200 answer: Ollama failed after sending its headers."""


def model_not_found(model: str | None, message: str | None = None) -> ModelNotFound:
    shown = model or "<model>"
    return ModelNotFound(
        message or f"model {shown!r} not found",
        model=model,
        hint=f"download it with `ollama pull {shown}`; `ollama list` shows what is there",
    )


def classify(status: int, body: ErrorBody, headers: Mapping[str, str]) -> AegisLLMError | None:
    """The ``HttpApi`` hook: Ollama's special cases, ``None`` for the generic mapping."""
    message = body.message
    if status == 404:
        found = _MISSING_MODEL.search(message)
        if found is not None or ("model" in message.lower() and "not found" in message.lower()):
            return model_not_found(found["name"] if found else None, message)
        return EndpointMissing(
            f"the server has no such endpoint (404: {message})",
            status_code=404,
            hint="check that base_url points at Ollama, or upgrade it; `ollama --version` shows it",
        )
    if status == 400 and (lacking := _LACKS.match(message)) is not None:
        return _lacks(lacking["model"], lacking["capability"], message)
    if status == 400:
        return InvalidRequest(
            f"Ollama rejected the request: {message}",
            hint="fix what the message names: an option in extra, the format, or a capability "
            "the model lacks; `ollama show <model>` lists its capabilities",
        )
    if status == 503:
        return RateLimited(
            f"Ollama is busy: {message}",
            retry_after=parse_retry_after(headers),
            hint="its request queue is full (OLLAMA_MAX_QUEUE); retry later",
        )
    if status == 401:
        return _unauthorized(message, body.extra.get("signin_url"))
    if status == 403:
        return _forbidden(message)
    return None


def _lacks(model: str, capability: str, message: str) -> Unsupported:
    """A model that cannot do what was asked: not the request's fault, so not InvalidRequest.

    ``InvalidRequest`` stops the whole chain, since the same request would fail
    everywhere; but another provider (or its model for the alias) may well
    chat or call tools, so this is ``Unsupported`` and the chain moves on.
    """
    name = model.strip('"')
    return Unsupported(
        f"Ollama's model lacks {capability} (400): {message}",
        hint=f"{name} cannot {capability}: pick another model or provider "
        f"(`ollama show {name}` lists its capabilities)",
    )


def _unauthorized(message: str, signin_url: object) -> AuthenticationError:
    """Ollama's 401: a cloud model wants this machine signed in, at the URL it sends.

    The URL (``signin_url``, beside the message) links this machine's key to
    an ollama.com account, the quickest fix; only web addresses are shown.
    """
    if isinstance(signin_url, str) and urlsplit(signin_url).scheme in ("http", "https"):
        hint = f"sign in at {signin_url} (`ollama signin`)"
    else:
        hint = "cloud models need `ollama signin`"
    return AuthenticationError(
        f"Ollama refused the request (401): {message}",
        hint=f"{hint}; a server behind an authenticating proxy needs AEGIS_LLM_OLLAMA_API_KEY",
    )


def _forbidden(message: str) -> AuthenticationError:
    """Ollama's two 403s: cloud models switched off, or a Host header it does not trust.

    The second comes with an empty body: an Ollama bound to loopback answers
    only requests addressed to a local name, which a reverse proxy or a
    custom host name in ``base_url`` breaks.
    """
    if "cloud is disabled" in message:
        hint = (
            "this server has Ollama's cloud models turned off (OLLAMA_NO_CLOUD); use a local model"
        )
    else:
        hint = (
            "an Ollama listening on loopback accepts only local host names: use an IP, "
            "localhost, *.local or *.internal in base_url, or have the proxy send Host: localhost"
        )
    return AuthenticationError(f"Ollama refused the request (403): {message}", hint=hint)


def interrupted(
    cause: str, parts: Sequence[str], thoughts: Sequence[str], *, provider: str
) -> StreamInterrupted:
    """A stream that failed after it started: keep the text and reasoning, say what broke."""
    partial = "".join(parts)
    return StreamInterrupted(
        f"the answer broke off after {len(partial)} characters: {cause}",
        partial=partial,
        partial_reasoning="".join(thoughts),
        provider=provider,
    )


def claim(exc: AegisLLMError, provider: str, model: str | None = None) -> AegisLLMError:
    """Name the provider (and the model asked for) on an error that lacks them.

    ``HttpApi`` names the provider only on errors built from HTTP statuses,
    and a user reading ``malformed JSON`` must learn which server sent it. A
    404 whose text does not echo the model's name still says which pull to run.
    """
    if exc.provider is None:
        exc.provider = provider
    if isinstance(exc, ModelNotFound) and exc.model is None and model is not None:
        exc.model = model
        exc.hint = model_not_found(model).hint
    return exc


@contextmanager
def owned_by(provider: str, model: str | None = None) -> Iterator[None]:
    """``claim`` every SDK error raised inside the block."""
    try:
        yield
    except AegisLLMError as exc:
        claim(exc, provider, model)
        raise


def malformed(what: str, value: object) -> ProtocolError:
    """An answer this SDK cannot read, quoted (cut short) so the user can see what came."""
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return ProtocolError(
        f"Ollama sent {what} this SDK cannot read: {shown}",
        hint="is base_url an Ollama server? a proxy in between may be rewriting answers",
    )
