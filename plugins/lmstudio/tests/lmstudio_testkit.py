"""Helpers for the LM Studio plugin's tests: contexts on scripted transports, and wire bodies.

``httpx.MockTransport`` hands the plugin exactly the bytes (and byte chunks) a test
chose, so parsing and framing are exercised without a socket; the tests against the
loopback fakes and the real llama.cpp server cover the network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any

import httpx

from aegis_llm import AegisSettings, ChatChunk, ChatRequest, EmbedRequest, ProviderContext
from aegis_llm._settings import load_provider_settings
from aegis_llm_lmstudio import LMStudioSettings
from aegis_llm_lmstudio._connection import RESOURCE, Connection

Reply = Callable[[httpx.Request], httpx.Response]

NOT_FOUND = {"detail": "Not Found"}  # FastAPI's 404: llama-cpp-python, vLLM


class Chunks(httpx.AsyncByteStream):
    """A response body delivered in exactly these pieces."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


class Script:
    """A scripted server: answers by (method, path), 404 otherwise; records requests."""

    def __init__(self, routes: Mapping[tuple[str, str], Reply]) -> None:
        self.routes = dict(routes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.routes.get((request.method, request.url.path))
        return reply(request) if reply else json_reply(NOT_FOUND, status=404)

    @property
    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]

    def bodies(self, path: str) -> list[Any]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


def context(
    handler: Reply | None = None,
    *,
    name: str = "lmstudio",
    core: Mapping[str, Any] | None = None,
    **settings: Any,
) -> ProviderContext:
    """A context for instance ``name`` whose connection goes to ``handler`` (or the network)."""
    ctx = ProviderContext(
        name=name,
        plugin="lmstudio",
        settings=load_provider_settings(LMStudioSettings, name, {}, settings),
        core=AegisSettings.model_construct(**dict(core or {})),
    )
    if handler is not None:
        transport = httpx.MockTransport(handler)
        ctx.resource(RESOURCE, lambda: Connection(ctx, transport=transport))
    return ctx


def refuse(request: httpx.Request) -> httpx.Response:
    """A handler for a port where nothing listens."""
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def json_reply(
    value: object, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=value, headers=headers)


def answer(value: object, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
    """A route that always gives this JSON answer."""
    return lambda request: json_reply(value, status=status, headers=headers)


def raw(body: bytes, *, status: int = 200, content_type: str = "application/json") -> Reply:
    return lambda request: httpx.Response(
        status, content=body, headers={"content-type": content_type}
    )


def sse(chunks: Iterable[bytes]) -> Reply:
    """A route that streams these exact byte chunks as ``text/event-stream``."""
    pieces = list(chunks)
    return lambda request: httpx.Response(
        200, stream=Chunks(pieces), headers={"content-type": "text/event-stream"}
    )


def event(value: object, field: str = "data") -> bytes:
    return f"{field}: {json.dumps(value)}\n\n".encode()


DONE = b"data: [DONE]\n\n"


def completion_chunks(
    pieces: Sequence[str],
    *,
    model: str = "served-model",
    finish: str | None = "stop",
    usage: Mapping[str, int] | None = None,
    done: bool = True,
) -> list[bytes]:
    """The SSE events an OpenAI-style server streams for ``pieces``, one event per chunk."""

    def chunk(delta: dict[str, str], reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": reason}
        return {"object": "chat.completion.chunk", "model": model, "choices": [choice]}

    events = [event(chunk({"role": "assistant", "content": ""}))]
    events += [event(chunk({"content": piece})) for piece in pieces]
    events.append(event(chunk({}, finish)))
    if usage is not None:
        events.append(event({"model": model, "choices": [], "usage": dict(usage)}))
    if done:
        events.append(DONE)
    return events


def call_chunks(
    calls: Sequence[tuple[str, str, Sequence[str]]],
    *,
    reasoning: Sequence[str] = (),
    reasoning_key: str = "reasoning",
    model: str = "served-model",
    finish: str | None = "tool_calls",
    done: bool = True,
) -> list[bytes]:
    """The SSE events of an answer that reasons, then calls tools, as OpenAI streams them.

    ``calls`` are (id, name, argument pieces): a call's first fragment has its
    id, type and name with empty arguments, each later one appends a piece.
    """

    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": reason}
        return {"object": "chat.completion.chunk", "model": model, "choices": [choice]}

    events = [event(chunk({"role": "assistant", "content": None}))]
    events += [event(chunk({reasoning_key: piece})) for piece in reasoning]
    for index, (call_id, name, pieces) in enumerate(calls):
        first: dict[str, Any] = {"index": index, "id": call_id, "type": "function"}
        first["function"] = {"name": name, "arguments": ""}
        events.append(event(chunk({"tool_calls": [first]})))
        for piece in pieces:
            fragment = {"index": index, "function": {"arguments": piece}}
            events.append(event(chunk({"tool_calls": [fragment]})))
    events.append(event(chunk({}, finish)))
    if done:
        events.append(DONE)
    return events


def completion(content: str | None, *, model: str = "served-model", **extra: Any) -> dict[str, Any]:
    """A non-streamed chat completion answer."""
    message = {"role": "assistant", "content": content}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return {"object": "chat.completion", "model": model, "choices": [choice], **extra}


def chat_request(model: str = "m", **options: Any) -> ChatRequest:
    return ChatRequest.model_validate(
        {"model": model, "messages": [{"role": "user", "content": "hi"}], "options": options}
    )


def embed_request(*inputs: str, model: str = "e", **fields: Any) -> EmbedRequest:
    return EmbedRequest.model_validate({"model": model, "inputs": inputs, **fields})


async def collect(chunks: AsyncIterator[ChatChunk]) -> list[ChatChunk]:
    return [chunk async for chunk in chunks]


async def read_into(received: list[str], chunks: AsyncIterator[ChatChunk]) -> None:
    """Append each chunk's text to ``received``: what a caller saw before a stream broke."""
    async for chunk in chunks:
        received.append(chunk.content)
