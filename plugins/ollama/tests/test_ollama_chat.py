"""Chat and streaming through /api/chat, byte by byte on a scripted transport."""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import httpx
import pytest
from ollama_testkit import answer, chat_stream, context, ndjson, sent

from aegis_llm import ChatChunk, ChatOptions, ChatRequest, Message, ProviderContext
from aegis_llm.errors import (
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    RateLimited,
    StreamInterrupted,
)
from aegis_llm_ollama._chat import chat, stream_chat

pytestmark = pytest.mark.anyio

METRICS: dict[str, Any] = {
    "total_duration": 2_000_000_000,
    "load_duration": 500_000_000,
    "prompt_eval_count": 10,
    "prompt_eval_duration": 100_000_000,
    "eval_count": 3,
    "eval_duration": 600_000_000,
}


def hello(model: str = "llama3.2", **options: object) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=(Message(role="user", content="hello"),),
        options=ChatOptions.model_validate(options),
    )


async def collect(ctx: ProviderContext, request: ChatRequest | None = None) -> list[ChatChunk]:
    async with aclosing(ctx):
        return [chunk async for chunk in stream_chat(ctx, request or hello())]


async def test_chat_returns_the_whole_answer_with_usage() -> None:
    seen: list[httpx.Request] = []
    body = {
        "model": "llama3.2",
        "created_at": "2025-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "Hi there"},
        "done": True,
        "done_reason": "length",
        **METRICS,
    }
    ctx = context(answer(body, seen=seen), keep_alive="1h")
    async with aclosing(ctx):
        reply = await chat(ctx, hello(max_tokens=3))
    assert (reply.content, reply.provider, reply.model) == ("Hi there", "ollama", "llama3.2")
    assert reply.finish_reason == "length"
    assert reply.usage.total_tokens == 13
    assert reply.usage.tokens_per_second == pytest.approx(5.0)
    assert seen[0].method == "POST"
    assert seen[0].url.path == "/api/chat"
    request_body = sent(seen[0])
    assert request_body["stream"] is False
    assert request_body["keep_alive"] == "1h"
    assert request_body["options"] == {"num_predict": 3}


async def test_chat_answer_not_marked_done_is_a_protocol_error() -> None:
    body = {"model": "m", "message": {"role": "assistant", "content": "x"}, "done": False}
    ctx = context(answer(body))
    async with aclosing(ctx):
        with pytest.raises(ProtocolError, match="not marked done") as caught:
            await chat(ctx, hello())
    assert caught.value.provider == "ollama"


async def test_chat_error_object_in_a_200_body_is_a_provider_error() -> None:
    ctx = context(answer({"error": "llama runner process has terminated"}))
    async with aclosing(ctx):
        with pytest.raises(ProviderError, match="runner process"):
            await chat(ctx, hello())


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b'{"message": ', b"[1, 2]"])
async def test_chat_non_json_or_wrong_json_is_a_protocol_error(body: bytes) -> None:
    ctx = context(answer(body))
    async with aclosing(ctx):
        with pytest.raises(ProtocolError) as caught:
            await chat(ctx, hello())
    assert caught.value.provider == "ollama"


async def test_chat_oversized_body_is_a_protocol_error() -> None:
    big = json.dumps(
        {"message": {"role": "assistant", "content": "x" * 5000}, "done": True}
    ).encode()
    ctx = context(answer(big), core={"max_response_bytes": 1000})
    async with aclosing(ctx):
        with pytest.raises(ProtocolError, match="max_response_bytes"):
            await chat(ctx, hello())


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_stream_yields_text_pieces_then_a_done_chunk() -> None:
    seen: list[httpx.Request] = []
    body = chat_stream(["Hel", "", "lo", " wörld"], done_reason="stop", **METRICS)
    chunks = await collect(context(answer(body, seen=seen)))
    assert [c.content for c in chunks] == ["Hel", "lo", " wörld", ""]
    assert [c.done for c in chunks] == [False, False, False, True]
    last = chunks[-1]
    assert last.finish_reason == "stop"
    assert last.usage is not None
    assert last.usage.completion_tokens == 3
    assert all(c.provider == "ollama" and c.model == "llama3.2" for c in chunks)
    assert sent(seen[0])["stream"] is True


async def test_stream_survives_lines_and_characters_cut_across_chunks() -> None:
    body = chat_stream(["naïve ", "🦙 café"])
    cut = body.index("🦙".encode()) + 2
    pieces = [body[:5], body[5:cut], body[cut : cut + 1], body[cut + 1 :]]
    chunks = await collect(context(answer(b"", chunks=pieces)))
    assert "".join(c.content for c in chunks) == "naïve 🦙 café"


async def test_stream_reads_a_final_line_without_newline() -> None:
    chunks = await collect(context(answer(chat_stream(["ok"]).rstrip(b"\n"))))
    assert [c.content for c in chunks] == ["ok", ""]
    assert chunks[-1].done


async def test_stream_ignores_what_follows_done() -> None:
    pieces = [chat_stream(["a"]), b"garbage after the end\n", chat_stream(["b"])]
    chunks = await collect(context(answer(b"", chunks=pieces)))
    assert [(c.content, c.done) for c in chunks] == [("a", False), ("", True)]


async def test_error_line_inside_a_200_stream_keeps_the_partial_text() -> None:
    piece = {"model": "m", "message": {"role": "assistant", "content": "The answer is"}}
    body = ndjson({**piece, "done": False}, {"error": "an error was encountered while running"})
    with pytest.raises(StreamInterrupted, match="encountered while running") as caught:
        await collect(context(answer(body)))
    assert caught.value.partial == "The answer is"
    assert caught.value.provider == "ollama"


LOADED = {
    "model": "llama3.2",
    "created_at": "2025-01-01T00:00:00Z",
    "message": {"role": "assistant", "content": ""},
    "done": True,
    "done_reason": "load",
}


async def test_a_load_acknowledgement_is_an_empty_answer_that_says_so() -> None:
    ctx = context(answer(LOADED))
    async with aclosing(ctx):
        reply = await chat(ctx, hello())
    assert (reply.content, reply.finish_reason) == ("", "load")
    # Streamed, Ollama sends the same single object (application/json, no newline).
    chunks = await collect(context(answer(LOADED)))
    assert [(c.content, c.done, c.finish_reason) for c in chunks] == [("", True, "load")]


async def test_an_error_line_after_only_reasoning_is_interrupted_with_no_text() -> None:
    thinking = {"message": {"role": "assistant", "content": "", "thinking": "hmm"}, "done": False}
    body = ndjson(thinking, {"error": "llama runner process has terminated"})
    with pytest.raises(StreamInterrupted, match="runner process") as caught:
        await collect(context(answer(body)))
    assert (caught.value.partial, caught.value.partial_reasoning) == ("", "hmm")


async def test_stream_ending_without_done_is_interrupted() -> None:
    body = chat_stream(["one ", "two"]).rsplit(b"\n", 2)[0] + b"\n"
    with pytest.raises(StreamInterrupted, match="without `done: true`") as caught:
        await collect(context(answer(body)))
    assert caught.value.partial == "one two"


async def test_garbage_before_any_text_stays_a_protocol_error() -> None:
    with pytest.raises(ProtocolError) as caught:
        await collect(context(answer(b"not json\n")))
    assert caught.value.provider == "ollama"


async def test_garbage_after_text_is_interrupted_with_the_text() -> None:
    pieces = [chat_stream(["kept"]).split(b"\n")[0] + b"\n", b"{broken\n"]
    with pytest.raises(StreamInterrupted) as caught:
        await collect(context(answer(b"", chunks=pieces)))
    assert caught.value.partial == "kept"
    assert isinstance(caught.value.__cause__, ProtocolError)


async def test_oversized_stream_line_is_a_protocol_error() -> None:
    body = ndjson({"message": {"role": "assistant", "content": "x" * 4000}, "done": False})
    with pytest.raises(ProtocolError, match="exceeded"):
        await collect(context(answer(body), core={"max_line_bytes": 1000}))


@pytest.mark.parametrize(
    ("status", "body", "error", "hint"),
    [
        (404, {"error": "model 'llama9' not found"}, ModelNotFound, "ollama pull llama9"),
        (
            404,
            {"error": 'model "llama9" not found, try pulling it first'},
            ModelNotFound,
            "ollama pull llama9",
        ),
        (404, {"error": "Model not found"}, ModelNotFound, "ollama pull llama9"),
        (400, {"error": "invalid options: top_k"}, InvalidRequest, "extra"),
        (503, {"error": "server busy, please try again."}, RateLimited, "OLLAMA_MAX_QUEUE"),
        (
            401,
            {"error": "unauthorized", "signin_url": "https://ollama.com/connect?name=h&key=k"},
            AuthenticationError,
            "ollama signin",
        ),
        (
            403,
            {"error": "ollama cloud is disabled: remote model is unavailable"},
            AuthenticationError,
            "OLLAMA_NO_CLOUD",
        ),
        (403, b"", AuthenticationError, "Host: localhost"),
        (499, {"error": "request canceled"}, ProviderError, "request canceled"),
        (500, {"error": "llama runner process has terminated"}, ProviderError, "terminated"),
        (502, {"error": "remote model is unavailable"}, ProviderError, "502"),
    ],
)
async def test_error_statuses_map_to_the_taxonomy(
    status: int, body: object, error: type[Exception], hint: str
) -> None:
    ctx = context(answer(body, status=status))
    async with aclosing(ctx):
        with pytest.raises(error) as whole:
            await chat(ctx, hello("llama9"))
    with pytest.raises(error) as streamed:
        await collect(context(answer(body, status=status)), hello("llama9"))
    for caught in (whole, streamed):
        assert hint in str(caught.value)
        assert caught.value.provider == "ollama"  # type: ignore[attr-defined]
        if error is ModelNotFound:
            assert caught.value.model == "llama9"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "retryable"), [(499, False), (500, True), (502, True)])
async def test_only_server_failures_are_worth_repeating(status: int, retryable: bool) -> None:
    ctx = context(answer({"error": "x"}, status=status))
    async with aclosing(ctx):
        with pytest.raises(ProviderError) as caught:
            await chat(ctx, hello())
    assert (caught.value.status_code, caught.value.retryable) == (status, retryable)


async def test_missing_model_error_names_the_model() -> None:
    ctx = context(answer({"error": "model 'qwen3:8b' not found"}, status=404))
    async with aclosing(ctx):
        with pytest.raises(ModelNotFound) as caught:
            await chat(ctx, hello("qwen3:8b"))
    assert caught.value.model == "qwen3:8b"


async def test_busy_is_retryable_without_retry_after() -> None:
    ctx = context(answer({"error": "server busy"}, status=503))
    async with aclosing(ctx):
        with pytest.raises(RateLimited) as caught:
            await chat(ctx, hello())
    assert caught.value.retryable
    assert caught.value.retry_after is None


async def test_connection_refused_says_how_to_start_ollama() -> None:
    from aegis_llm.errors import ProviderUnavailable

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    ctx = context(refuse)
    async with aclosing(ctx):
        with pytest.raises(ProviderUnavailable, match="ollama serve") as caught:
            await chat(ctx, hello())
    assert caught.value.refused
    assert not caught.value.retryable
