"""Streaming: failover only before the first chunk; never two providers' text in one answer."""

from __future__ import annotations

import pickle

import anyio
import pytest
from resilience_fakes import Chunks, Fail, ScriptedProvider, build_client

from aegis_llm import AsyncClient, ChatChunk
from aegis_llm.errors import (
    AllProvidersFailed,
    InvalidRequest,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    StreamInterrupted,
)

pytestmark = pytest.mark.anyio


async def _read(llm: AsyncClient, received: list[ChatChunk] | None = None) -> list[ChatChunk]:
    chunks = received if received is not None else []
    async for chunk in llm.stream_chat("hi", model="m"):
        chunks.append(chunk)
    return chunks


async def test_fails_over_before_the_first_chunk() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderUnavailable("refused")))
    beta = ScriptedProvider("beta", [Chunks(("from ", "beta"))])
    async with build_client(alpha, beta) as llm:
        chunks = await _read(llm)
    assert "".join(c.content for c in chunks) == "from beta"
    assert {c.provider for c in chunks} == {"beta"}
    assert chunks[-1].done
    assert [(a.provider, a.outcome) for a in chunks[-1].attempts] == [
        ("alpha", "error"),
        ("beta", "success"),
    ]


async def test_a_stream_failing_before_its_first_chunk_is_retried() -> None:
    alpha = ScriptedProvider(
        "alpha", [Fail(ProviderError("503", status_code=503)), Chunks(("a", "b"))]
    )
    async with build_client(alpha, ScriptedProvider("beta")) as llm:
        chunks = await _read(llm)
    assert "".join(c.content for c in chunks) == "ab"
    assert chunks[-1].attempts[0].retries == 1


async def test_after_the_first_chunk_a_failure_interrupts_and_never_fails_over() -> None:
    alpha = ScriptedProvider("alpha", [Chunks(("Hel", "lo"), then=ProviderTimeout("idle 60s"))])
    beta = ScriptedProvider("beta")
    received: list[ChatChunk] = []
    async with build_client(alpha, beta) as llm:
        with pytest.raises(StreamInterrupted) as caught:
            await _read(llm, received)
    assert [c.content for c in received] == ["Hel", "lo"]
    assert (caught.value.partial, caught.value.partial_reasoning) == ("Hello", "")
    assert "partial_reasoning" not in str(caught.value), "no reasoning to point at"
    assert caught.value.provider == "alpha"
    assert isinstance(caught.value.__cause__, ProviderTimeout)
    assert beta.calls == []
    assert alpha.streams_closed == 1


@pytest.mark.parametrize("parts", [("It is", " mild"), ()])
async def test_reasoning_delivered_before_a_break_is_kept_apart_from_the_text(
    parts: tuple[str, ...],
) -> None:
    # Without text, the reasoning is all the caller got: the error must not lose it.
    script = Chunks(parts, reasoning=("let me ", "think"), then=ProviderTimeout("idle 60s"))
    alpha = ScriptedProvider("alpha", [script])
    beta = ScriptedProvider("beta")
    received: list[ChatChunk] = []
    async with build_client(alpha, beta) as llm:
        with pytest.raises(StreamInterrupted, match="partial_reasoning") as caught:
            await _read(llm, received)
    error = caught.value
    assert (error.partial, error.partial_reasoning) == ("".join(parts), "let me think")
    assert error.partial_reasoning == "".join(c.reasoning for c in received)
    restored = pickle.loads(pickle.dumps(error))
    assert (restored.partial, restored.partial_reasoning, str(restored)) == (
        error.partial,
        error.partial_reasoning,
        str(error),
    )
    assert beta.calls == []


async def test_a_stream_ending_without_its_done_chunk_after_text_is_interrupted() -> None:
    alpha = ScriptedProvider("alpha", [Chunks(("half an",), done=False)])
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta) as llm:
        with pytest.raises(StreamInterrupted, match="without its final") as caught:
            await _read(llm)
    assert caught.value.partial == "half an"
    assert beta.calls == []


async def test_a_stream_ending_without_anything_fails_over() -> None:
    alpha = ScriptedProvider("alpha", [Chunks((), done=False)])
    beta = ScriptedProvider("beta", [Chunks(("whole",))])
    async with build_client(alpha, beta) as llm:
        chunks = await _read(llm)
    assert "".join(c.content for c in chunks) == "whole"
    assert chunks[-1].attempts[0].error_type == "ProtocolError"


async def test_leading_chunks_without_text_do_not_pin_the_stream() -> None:
    alpha = ScriptedProvider("alpha", [Chunks(("", ""), then=ProtocolError("bad frame"))])
    beta = ScriptedProvider("beta", [Chunks(("from beta",))])
    async with build_client(alpha, beta) as llm:
        chunks = await _read(llm)
    assert {c.provider for c in chunks} == {"beta"}


async def test_an_empty_answer_is_a_done_chunk_alone() -> None:
    alpha = ScriptedProvider("alpha", [Chunks(())])
    async with build_client(alpha) as llm:
        chunks = await _read(llm)
    assert [(c.content, c.done) for c in chunks] == [("", True)]


async def test_a_broken_stream_counts_against_the_breaker() -> None:
    alpha = ScriptedProvider("alpha", [Chunks(("x",), then=ProviderTimeout("idle"))])
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta, breaker={"failure_threshold": 1}) as llm:
        with pytest.raises(StreamInterrupted):
            await _read(llm)
        chunks = await _read(llm)
    assert chunks[-1].attempts[0].outcome == "skipped"
    assert len(alpha.calls) == 1


async def test_invalid_request_before_the_first_chunk_stops_the_chain() -> None:
    alpha = ScriptedProvider("alpha", [Fail(InvalidRequest("bad"))])
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta) as llm:
        with pytest.raises(InvalidRequest):
            await _read(llm)
    assert beta.calls == []


async def test_closing_early_closes_the_provider_stream() -> None:
    alpha = ScriptedProvider("alpha", [Chunks(("a", "b", "c"))])
    async with build_client(alpha) as llm, llm.stream_chat("hi", model="m") as stream:
        async for _ in stream:
            break
    assert alpha.streams_closed == 1


async def test_every_failing_stream_is_closed() -> None:
    alpha = ScriptedProvider("alpha", default=Chunks((), done=False))
    async with build_client(alpha, retry={"max_attempts": 1}) as llm:
        with pytest.raises(AllProvidersFailed):
            await _read(llm)
    assert alpha.streams_closed == len(alpha.calls) == 1


async def test_the_deadline_covers_the_search_not_the_whole_stream() -> None:
    alpha = ScriptedProvider("alpha", [Chunks(("a", "b", "c"), gap=10)])
    async with build_client(alpha, timeout=5) as llm:
        started = anyio.current_time()
        chunks = await _read(llm)
    assert "".join(c.content for c in chunks) == "abc"
    assert anyio.current_time() - started == pytest.approx(20.0)
