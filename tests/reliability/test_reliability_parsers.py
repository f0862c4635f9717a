"""Garbage from a server is a typed error, never a crash: every plugin's whole parser, fuzzed.

The decoders alone are fuzzed in tests/core; here the bytes go through
everything between the socket and the caller (HttpApi, the plugin's JSON and
stream-record handling, the core's result checks), for every operation of
both HTTP plugins. Each answer has its protocol's shape with each field right
five times in six and anything at all otherwise, so the fuzzing reaches the
plugins' field handling and success paths instead of stopping at the first
JSON error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegis_llm import AegisSettings, AsyncClient, ChatResponse, Embeddings, HealthReport
from aegis_llm.errors import AegisLLMError
from aegis_llm.testing.fakes import FakeServer, Request, Response

pytestmark = pytest.mark.anyio

KEYS = ["model", "message", "content", "done", "choices", "delta", "data", "error", "models"]
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(),  # NaN and infinities too: Python's json reads them, and some servers send them
    st.text(max_size=12),
)
anything = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=8,
)


def mostly(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """What the protocol says five times in six, anything at all otherwise."""
    return st.integers(0, 5).flatmap(lambda roll: good if roll else anything)


def shaped(required: dict[str, Any], optional: dict[str, Any] | None = None) -> Any:
    return mostly(st.fixed_dictionaries(required, optional=optional or {}))


text = mostly(st.text(max_size=12))
count = mostly(st.integers(min_value=0, max_value=10**6))
vector = mostly(st.lists(st.floats(width=32), min_size=2, max_size=2))
finish = mostly(st.sampled_from([None, "stop", "length"]))
message = shaped({"role": mostly(st.just("assistant")), "content": text})


def ollama_line(done: bool) -> Any:
    return shaped(
        {"model": text, "message": message, "done": mostly(st.just(done))},
        {"done_reason": finish, "eval_count": count, "prompt_eval_count": count},
    )


OLLAMA = {
    "chat": ollama_line(done=True),
    "chunks": st.lists(ollama_line(done=False), max_size=3),
    "end": ollama_line(done=True),
    "embed": shaped({"model": text, "embeddings": mostly(st.lists(vector, min_size=2))}),
    "models": shaped({"models": mostly(st.lists(shaped({"name": text, "model": text})))}),
    "version": shaped({"version": text}),
}
state = mostly(st.sampled_from(["loaded", "not-loaded"]))
kind = mostly(st.sampled_from(["llm", "vlm", "embeddings"]))
usage = shaped({"prompt_tokens": count, "completion_tokens": count, "total_tokens": count})
OPENAI = {
    "chat": shaped(
        {"choices": mostly(st.lists(shaped({"index": count, "message": message}), max_size=2))},
        {"model": text, "usage": usage},
    ),
    "chunks": st.lists(
        shaped({"choices": mostly(st.lists(shaped({"delta": message, "finish_reason": finish})))}),
        max_size=3,
    ),
    "end": mostly(st.just("[DONE]")),
    "embed": shaped(
        {
            "data": mostly(
                st.tuples(
                    *(shaped({"index": mostly(st.just(i)), "embedding": vector}) for i in (0, 1))
                ).map(list)
            )
        },
        {"model": text},
    ),
    "models": shaped(
        {"data": mostly(st.lists(shaped({"id": text}, {"state": state, "type": kind})))}
    ),
    "version": shaped({"status": text}),
}
statuses = st.sampled_from([200] * 15 + [400, 404, 429, 500, 503])


def answers(protocol: dict[str, Any]) -> Any:
    """One answer per kind of route, each with its own status."""
    return st.fixed_dictionaries(
        {kind: st.tuples(statuses, shape) for kind, shape in protocol.items()}
    )


def route(path: str) -> str:
    """Which kind of answer a path gets, for both plugins' routes."""
    for word, kind in (("chat", "chat"), ("embed", "embed"), ("version", "version")):
        if word in path:
            return kind
    return "version" if path == "/health" else "models"


class Scripted:
    """A server answering each route with the current example's answer for it."""

    def __init__(self) -> None:
        self.framing = "ndjson"
        self.answers: dict[str, tuple[int, Any]] = {}

    def __call__(self, request: Request) -> Response:
        kind = route(request.path)
        status, body = self.answers[kind]
        if kind == "chat" and b'"stream":true' in request.body.replace(b" ", b""):
            return Response(status, self._stream())
        return Response(status, json.dumps(body).encode())

    def _stream(self) -> bytes:
        _, chunks = self.answers["chunks"]
        _, end = self.answers["end"]
        if self.framing == "ndjson":
            return b"".join(json.dumps(item).encode() + b"\n" for item in [*chunks, end])
        items = [json.dumps(item) for item in chunks] + [end if isinstance(end, str) else "x"]
        return b"".join(f"data: {item}\n\n".encode() for item in items)


@pytest.fixture
def anyio_backend() -> str:
    """Parsing does not depend on the event loop; one backend keeps the fuzzing fast."""
    return "asyncio"


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, FakeServer]]:
    app = Scripted()
    with FakeServer(app) as server:
        yield app, server


def client(plugin: str, url: str) -> AsyncClient:
    core = AegisSettings.load(
        chain=[plugin],
        embed_chain=[plugin],
        chat_model="m",
        embed_model="e",
        retry={"max_attempts": 1},
        breaker={"failure_threshold": 1000},
    )
    return AsyncClient(core, provider_settings={plugin: {"base_url": url}})


async def every_operation(llm: AsyncClient, plugin: str) -> None:
    """Each operation answers in its own type or raises the SDK's error; health never raises."""
    with suppress(AegisLLMError):
        assert isinstance(await llm.chat("hi"), ChatResponse)
    with suppress(AegisLLMError):
        assert isinstance(await llm.stream_chat("hi").collect(), ChatResponse)
    with suppress(AegisLLMError):
        assert isinstance(await llm.embed(["a", "b"]), Embeddings)
    await llm.list_models([plugin])
    reports = await llm.health([plugin])
    assert [type(report) for report in reports] == [HealthReport]


@given(answer=answers(OLLAMA))
@settings(
    max_examples=70, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_any_ollama_answer_is_a_result_or_a_typed_error(
    scripted: tuple[Scripted, FakeServer], answer: dict[str, tuple[int, Any]]
) -> None:
    app, server = scripted
    app.framing, app.answers = "ndjson", answer
    async with client("ollama", server.url) as llm:
        await every_operation(llm, "ollama")


@given(answer=answers(OPENAI))
@settings(
    max_examples=70, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_any_openai_style_answer_is_a_result_or_a_typed_error(
    scripted: tuple[Scripted, FakeServer], answer: dict[str, tuple[int, Any]]
) -> None:
    app, server = scripted
    app.framing, app.answers = "sse", answer
    async with client("lmstudio", server.url) as llm:
        await every_operation(llm, "lmstudio")
