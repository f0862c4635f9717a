"""EchoLM's wire format: request bodies out, checked values in.

EchoLM, the toy server this plugin talks to, serves::

    GET  /v1/status   -> {"status": "ready", "version": "1.0.0"}
    GET  /v1/models   -> {"models": [{"name": str, "task": "chat" | "embed", "dims": int?}]}
    POST /v1/reply    {"model", "messages": [{"role", "content"}], "stream", "max_chars"?}
         -> {"model", "text", "cut": bool, "usage": {"in": int, "out": int}}
         streamed: NDJSON lines {"delta": str}, then {"end": true, "cut", "usage"};
         a failure after the first line is one {"failure": str} line, then the end.
    POST /v1/vectors  {"model", "texts": [str]} -> {"model", "vectors": [[float]]}
    errors: the HTTP status and {"error": {"message": str, "code": str}};
         code "model_not_found" for a model it does not have.

Every reader raises ``ProtocolError`` for an answer of the wrong shape, so a
changed server shows up as one clear error instead of a ``KeyError`` deep inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aegis_llm import ChatRequest, EmbedRequest, ModelInfo, Usage
from aegis_llm.errors import AegisLLMError, InvalidRequest, ModelNotFound, ProtocolError
from aegis_llm.http import ErrorBody

__all__ = [
    "Delta",
    "End",
    "Failure",
    "Reply",
    "classify",
    "read_models",
    "read_record",
    "read_reply",
    "read_status",
    "read_vectors",
    "reply_body",
    "vectors_body",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Reply:
    model: str
    text: str
    cut: bool
    usage: Usage


@dataclass(frozen=True, slots=True)
class Delta:
    text: str


@dataclass(frozen=True, slots=True)
class End:
    cut: bool
    usage: Usage


@dataclass(frozen=True, slots=True)
class Failure:
    message: str


def reply_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    """The body of ``/v1/reply``; raises ``InvalidRequest`` for what EchoLM cannot do.

    Checked here, before anything is sent, because EchoLM would otherwise ignore
    the option silently and the caller would never learn it had no effect.
    """
    if request.options.extra:
        raise InvalidRequest(
            f"EchoLM has no options {sorted(request.options.extra)}",
            hint="remove them from ChatOptions.extra",
        )
    if any(message.images for message in request.messages):
        raise InvalidRequest("EchoLM cannot read images", hint="send text only")
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": stream,
    }
    if request.options.max_tokens is not None:
        body["max_chars"] = request.options.max_tokens
    return body


def vectors_body(request: EmbedRequest) -> dict[str, Any]:
    """The body of ``/v1/vectors``; EchoLM's vectors have one fixed size."""
    if request.dimensions is not None:
        raise InvalidRequest(
            "EchoLM cannot shorten vectors (dimensions=...)",
            hint="leave dimensions unset",
        )
    return {"model": request.model, "texts": list(request.inputs)}


def classify(status: int, body: ErrorBody, headers: Mapping[str, str]) -> AegisLLMError | None:
    """EchoLM's own error codes; ``None`` leaves the rest to the generic status mapping."""
    if body.code == "model_not_found":
        return ModelNotFound(body.message, hint="`aegis-llm models` lists the models EchoLM serves")
    return None


def read_reply(value: object) -> Reply:
    answer = _field(value, "answer", dict)
    return Reply(
        model=_field(answer.get("model"), "model", str),
        text=_field(answer.get("text"), "text", str),
        cut=_field(answer.get("cut"), "cut", bool),
        usage=_usage(answer.get("usage")),
    )


def read_record(value: object) -> Delta | End | Failure:
    """One line of a streamed reply."""
    record = _field(value, "stream record", dict)
    if "failure" in record:
        return Failure(_field(record["failure"], "failure", str))
    if record.get("end") is True:
        return End(cut=_field(record.get("cut"), "cut", bool), usage=_usage(record.get("usage")))
    return Delta(_field(record.get("delta"), "delta", str))


def read_vectors(value: object, count: int) -> list[list[float]]:
    answer = _field(value, "answer", dict)
    vectors = _field(answer.get("vectors"), "vectors", list)
    if len(vectors) != count:
        raise ProtocolError(f"EchoLM returned {len(vectors)} vectors for {count} texts")
    checked = []
    for vector in vectors:
        values = _field(vector, "vector", list)
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in values):
            raise ProtocolError("EchoLM returned a vector with a non-number in it")
        checked.append([float(x) for x in values])
    return checked


def read_models(value: object, provider: str) -> list[ModelInfo]:
    answer = _field(value, "answer", dict)
    models = []
    for entry in _field(answer.get("models"), "models", list):
        item = _field(entry, "model entry", dict)
        task = item.get("task")
        dims = item.get("dims")
        models.append(
            ModelInfo(
                id=_field(item.get("name"), "name", str),
                provider=provider,
                kind="chat" if task == "chat" else "embedding" if task == "embed" else "unknown",
                dimensions=dims if isinstance(dims, int) and dims > 0 else None,
            )
        )
    return models


def read_status(value: object) -> tuple[bool, str | None]:
    """Whether EchoLM says it is ready, and its version."""
    answer = _field(value, "status", dict)
    version = answer.get("version")
    return answer.get("status") == "ready", version if isinstance(version, str) else None


def _usage(value: object) -> Usage:
    usage = _field(value, "usage", dict)
    prompt = _count(usage.get("in"), "usage.in")
    completion = _count(usage.get("out"), "usage.out")
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


def _count(value: object, what: str) -> int:
    number = _field(value, what, int)
    if number < 0:
        raise ProtocolError(f"EchoLM sent a negative {what} ({number})")
    return number


def _field(value: object, what: str, kind: type[_T]) -> _T:
    if not isinstance(value, kind):
        raise ProtocolError(f"EchoLM sent {what} as {type(value).__name__}, not {kind.__name__}")
    return value
