"""Properties of NDJSON reading: chunking never changes a valid stream's result, and any
bytes at all give chunks or a typed protocol error, never another exception."""

from __future__ import annotations

import itertools
import json
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ollama_testkit import answer, chat_stream, context, ndjson

from aegis_llm import ChatChunk, ChatRequest, ChatResponse, Message
from aegis_llm.errors import ProtocolError, ProviderError, StreamInterrupted
from aegis_llm_ollama._chat import chat, stream_chat

REQUEST = ChatRequest(model="llama3.2", messages=(Message(role="user", content="hi"),))
METRICS: dict[str, Any] = {"prompt_eval_count": 5, "eval_count": 2, "eval_duration": 1_000_000}

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
chat_like = st.fixed_dictionaries(
    {"message": st.fixed_dictionaries({"content": st.text(max_size=8)}), "done": st.booleans()},
    optional={"error": st.text(max_size=8), "done_reason": json_values, "eval_count": json_values},
)
lines = st.one_of(
    chat_like.map(lambda r: ndjson(r)),
    json_values.map(lambda v: json.dumps(v).encode() + b"\n"),
    st.binary(max_size=20),
)


@dataclass
class Outcome:
    chunks: list[ChatChunk] = field(default_factory=list)
    error: Exception | None = None


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    positions = sorted({cut % (len(body) + 1) for cut in cuts})
    edges = [0, *positions, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def stream(chunks: list[bytes]) -> Outcome:
    outcome = Outcome()

    async def run() -> None:
        ctx = context(answer(b"", chunks=chunks))
        async with aclosing(ctx):
            try:
                async for chunk in stream_chat(ctx, REQUEST):
                    outcome.chunks.append(chunk)
            except (ProtocolError, StreamInterrupted) as exc:
                outcome.error = exc

    anyio.run(run)
    return outcome


def whole(body: bytes) -> ChatResponse | Exception:
    async def run() -> ChatResponse | Exception:
        ctx = context(answer(body))
        async with aclosing(ctx):
            try:
                return await chat(ctx, REQUEST)
            except (ProtocolError, ProviderError) as exc:
                return exc

    result: ChatResponse | Exception = anyio.run(run)
    return result


@PROPERTIES
@given(
    pieces=st.lists(st.text(max_size=10), max_size=10),
    cuts=st.lists(st.integers(min_value=0), max_size=30),
)
def test_any_split_of_a_valid_stream_gives_the_same_chunks(
    pieces: list[str], cuts: list[int]
) -> None:
    body = chat_stream(pieces, **METRICS)
    got = stream(split(body, cuts))
    assert got.error is None
    assert [c.content for c in got.chunks[:-1]] == [p for p in pieces if p]
    assert [c.done for c in got.chunks] == [False] * (len(got.chunks) - 1) + [True]
    assert got.chunks == stream([body]).chunks
    assert got.chunks[-1].usage is not None
    assert got.chunks[-1].usage.total_tokens == 7


@PROPERTIES
@given(body=st.binary(max_size=400), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_arbitrary_bytes_give_chunks_or_a_protocol_error(body: bytes, cuts: list[int]) -> None:
    check(stream(split(body, cuts)))


@PROPERTIES
@given(parts=st.lists(lines, max_size=8), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_mixed_valid_and_broken_lines_never_escape_the_taxonomy(
    parts: list[bytes], cuts: list[int]
) -> None:
    check(stream(split(b"".join(parts), cuts)))


def check(outcome: Outcome) -> None:
    """Either a complete stream, or an error whose partial text is what was delivered."""
    delivered = "".join(c.content for c in outcome.chunks if not c.done)
    if outcome.error is None:
        assert outcome.chunks[-1].done
    elif isinstance(outcome.error, StreamInterrupted):
        assert outcome.error.partial == delivered
        assert outcome.error.provider == "ollama"
    else:
        assert delivered == ""
        assert outcome.error.provider == "ollama"  # type: ignore[attr-defined]


@PROPERTIES
@given(body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_whole_answer_gives_a_response_or_a_typed_error(body: bytes) -> None:
    result: Any = whole(body)
    if isinstance(result, Exception):
        assert result.provider == "ollama"  # type: ignore[attr-defined]
    else:
        assert isinstance(result.content, str)
