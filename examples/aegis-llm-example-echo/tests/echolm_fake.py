"""A fake EchoLM on the contract suite's loopback server.

This is all a plugin author writes for the fault harness: how the protocol
frames a normal answer (the routes below), an error (``echolm_error``) and a
failure inside a stream (``_stream_failure``). ``FakeServer`` adds the faults the
suite injects: refused and dropped connections, stalls, truncation, garbage,
oversized and trickled answers.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from aegis_llm.testing.fakes import FakeServer, Request, Response, StreamResponse

CHAT_MODEL = "echo-chat"
EMBED_MODEL = "echo-embed"
DIMENSIONS = 8
PIECE = 16
"""Characters per streamed delta: long replies stream as many lines."""

Answer = Response | StreamResponse


class FakeEchoLM(FakeServer):
    """``with FakeEchoLM() as server: ...`` serves EchoLM's API on ``server.url``."""

    def __init__(self) -> None:
        routes: dict[tuple[str, str], Callable[[Request], Answer]] = {
            ("GET", "/v1/status"): lambda _: _json({"status": "ready", "version": "1.0.0"}),
            ("GET", "/v1/models"): lambda _: _json({"models": _MODELS}),
            ("POST", "/v1/reply"): _reply,
            ("POST", "/v1/vectors"): _vectors,
        }

        def app(request: Request) -> Answer:
            route = routes.get((request.method, request.path))
            if route is None:
                return echolm_error(request, 404, f"no route {request.method} {request.path}")
            try:
                return route(request)
            except _Rejected as rejected:
                return echolm_error(request, rejected.status, str(rejected), rejected.code)

        super().__init__(app, errors=echolm_error)


_MODELS: list[dict[str, Any]] = [
    {"name": CHAT_MODEL, "task": "chat"},
    {"name": EMBED_MODEL, "task": "embed", "dims": DIMENSIONS},
]


class _Rejected(Exception):
    def __init__(self, status: int, message: str, code: str = "bad_request") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def echolm_error(
    request: Request, status: int, message: str | None, code: str = "server_error"
) -> Response:
    """EchoLM's error body: ``{"error": {"message", "code"}}``."""
    text = message or f"EchoLM error {status}"
    return _json({"error": {"message": text, "code": code}}, status)


def _body(request: Request, model_task: str) -> dict[str, Any]:
    try:
        body = json.loads(request.body)
    except ValueError:
        raise _Rejected(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _Rejected(400, "the body is not an object")
    model = body.get("model")
    if not any(m["name"] == model and m["task"] == model_task for m in _MODELS):
        raise _Rejected(404, f"EchoLM has no {model_task} model {model!r}", "model_not_found")
    return body


def _reply(request: Request) -> Answer:
    body = _body(request, "chat")
    users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    text = users[-1] if users else ""
    limit = body.get("max_chars")
    cut = isinstance(limit, int) and len(text) > limit
    if cut:
        text = text[:limit]
    usage = {"in": sum(len(str(m.get("content", ""))) for m in body["messages"]), "out": len(text)}
    if not body.get("stream"):
        return _json({"model": body["model"], "text": text, "cut": cut, "usage": usage})
    return StreamResponse(
        _lines(text, {"end": True, "cut": cut, "usage": usage}),
        content_type="application/x-ndjson",
        error_tail=_stream_failure,
    )


def _lines(text: str, end: dict[str, Any]) -> Iterator[bytes]:
    for start in range(0, len(text), PIECE):
        yield _line({"delta": text[start : start + PIECE]})
    yield _line(end)


def _stream_failure(message: str) -> list[bytes]:
    return [_line({"failure": message})]


def _vectors(request: Request) -> Answer:
    body = _body(request, "embed")
    texts = body.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise _Rejected(400, "texts must be a list of strings")
    return _json({"model": body["model"], "vectors": [_vector(text) for text in texts]})


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    raw = [int.from_bytes(digest[i : i + 2], "big") / 32767.5 - 1.0 for i in range(0, 16, 2)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def _json(value: object, status: int = 200) -> Response:
    return Response(status, json.dumps(value, ensure_ascii=False).encode())


def _line(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode() + b"\n"
