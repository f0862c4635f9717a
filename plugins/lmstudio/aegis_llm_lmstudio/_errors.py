"""What LM Studio and its OpenAI-compatible kin mean by their errors.

The core's status mapping is right for most answers; this module only adds
what it would get wrong for these servers: LM Studio says "No models loaded"
with 400 or 404 depending on the version (a 400 would otherwise look like a
bad request and stop failover), "Model is not embedding" for a chat model
asked to embed (and "is not a chat model" the other way round, Unsupported so
that failover goes on), a 404 for a path the server lacks is not a missing
model even when the path says "models", llama.cpp answers 501 for features
the server was not started with.
"""

from __future__ import annotations

import re

from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    ModelNotFound,
    ProviderError,
    Unsupported,
)
from aegis_llm.http import ErrorBody

__all__ = ["LOAD_HINT", "NO_ROUTE", "known_error", "reported_error", "start_hint"]

NO_ROUTE = frozenset({404, 405})
"""How servers answer a path they do not serve (LM Studio's own API, on llama.cpp or vLLM)."""
LOAD_HINT = "load one: `lms load <model>` (or turn on JIT loading in LM Studio)"
_NO_MODELS = "no models loaded"
_MISSING_HINT = "use a model id exactly as `aegis-llm models` lists it"
# LM Studio's words (any 4xx, code model_not_found) for a chat model asked to embed.
_NOT_EMBEDDING = "model is not embedding"
_EMBEDDING_HINT = "embed with a model `aegis-llm models` lists as kind embedding"
# The fakes' (and OpenAI-style servers') words for a model of the other kind: a chat
# model asked to embed or the reverse. About the model, so another provider may serve it.
_WRONG_KIND = re.compile(r"\bis not an? (?:chat|embedding) model\b")
_WRONG_KIND_HINT = "use a model `aegis-llm models` lists as that kind, or another provider"
# A 404 naming a model; a whole word, so "Invalid URL (GET /v1/models)" is a missing route
# (the core's mapping would take any "model" for a missing model).
_MODEL = re.compile(r"\bmodel\b")
# LM Studio's answer (status 200) to a path it does not serve.
_UNKNOWN_ROUTE = "unexpected endpoint or method"
# llama-cpp-python's wording when /v1/embeddings is called on a server started without it.
_NO_EMBEDDINGS = "embedding=true"


def start_hint(name: str, root: str) -> str:
    """What to do when nothing answers at ``root``; names the instance's own variable."""
    return (
        f"start the server at {root} (LM Studio: `lms server start`) "
        f"or point AEGIS_LLM_{name.upper()}_BASE_URL at it"
    )


def known_error(status: int, body: ErrorBody, *, provider: str) -> AegisLLMError | None:
    """The error these servers mean, or ``None`` to let the core's status mapping decide."""
    message = body.message
    lowered = message.lower()
    if _NO_MODELS in lowered:
        return ModelNotFound(message, provider=provider, hint=LOAD_HINT)
    if _NOT_EMBEDDING in lowered:  # the model exists, but it is no embedding model
        return ModelNotFound(message, provider=provider, hint=_EMBEDDING_HINT)
    if _WRONG_KIND.search(lowered):  # a 400 here would be InvalidRequest and stop the chain
        return Unsupported(message, provider=provider, hint=_WRONG_KIND_HINT)
    # OpenAI puts "model_not_found" in `code`; LM Studio's own v1 API in `type`.
    missing = "model_not_found" in (body.code, body.type)
    if missing or (status == 404 and _MODEL.search(lowered)):
        return ModelNotFound(message, provider=provider, hint=_MISSING_HINT)
    if status == 404:  # a path this server does not serve
        return ProviderError(
            f"HTTP 404: {message}",
            status_code=404,
            provider=provider,
            hint="this server lacks the endpoint; check base_url and the server's version",
        )
    if status in (401, 403):
        return AuthenticationError(
            f"the server refused the credentials ({status}): {message}",
            provider=provider,
            hint=f"set AEGIS_LLM_{provider.upper()}_API_KEY to a valid token for this server",
        )
    if _UNKNOWN_ROUTE in lowered:
        return Unsupported(
            f"the server does not have this endpoint: {message}",
            provider=provider,
            hint="update LM Studio, or leave this operation out for this server",
        )
    if status == 501 or _NO_EMBEDDINGS in lowered:
        return Unsupported(
            f"the server cannot do this as started: {message}",
            provider=provider,
            hint="llama.cpp: restart it with `--embeddings`; LM Studio: load a model of that type",
        )
    return None


def reported_error(body: ErrorBody, *, provider: str) -> AegisLLMError:
    """An error object a server sent inside a 200 answer (a JSON body or a stream event)."""
    status = int(body.code) if body.code is not None and body.code.isdigit() else 500
    found = known_error(status, body, provider=provider)
    if found is not None:
        return found
    return ProviderError(
        f"the server reported an error: {body.message}",
        status_code=status,
        provider=provider,
        hint="see the server's log for the cause",
    )
