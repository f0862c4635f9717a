"""Properties: how bytes are cut never changes a stream, and no input escapes the error family.

Servers flush SSE events at arbitrary TCP boundaries (mid-line, mid-UTF-8 character), and
a broken or hostile server can send anything; the plugin must either give the answer or
raise one of its documented errors, never a KeyError or TypeError from deep inside.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lmstudio_testkit import (
    DONE,
    Script,
    call_chunks,
    chat_request,
    collect,
    completion_chunks,
    context,
    embed_request,
    event,
    raw,
    sse,
)

from aegis_llm import ChatResponse, ProviderContext, ToolCall
from aegis_llm.errors import AegisLLMError, ProtocolError, StreamInterrupted
from aegis_llm_lmstudio._chat import chat, stream_chat
from aegis_llm_lmstudio._embed import embed
from aegis_llm_lmstudio._models import list_models

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

pieces = st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=8)
# Keys the plugin reads, so generated objects often almost look right.
KEYS = ("choices", "message", "content", "data", "embedding", "index", "id", "error", "usage",
        "stats", "timings", "model", "delta", "finish_reason", "prompt_tokens", "tool_calls",
        "function", "name", "arguments", "reasoning", "reasoning_content", "x")  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=12,
)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` split at ``points`` (positions modulo its length)."""
    bounds = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def run(call: Callable[[ProviderContext], Awaitable[Any]], script: Script) -> Any:
    """The result of ``call``, or the SDK error it raised (any other exception escapes)."""

    async def main() -> Any:
        ctx = context(script, native_api=False)
        try:
            return await call(ctx)
        except AegisLLMError as exc:
            return exc
        finally:
            await ctx.aclose()

    return anyio.run(main)


def stream_text(ctx: ProviderContext) -> Awaitable[Any]:
    return collect(stream_chat(ctx, chat_request()))


@FAST
@given(
    pieces=pieces,
    points=st.lists(st.integers(min_value=0), max_size=12),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r"]),  # SSE allows all three line ends
    pings=st.booleans(),
)
def test_any_split_of_a_stream_gives_the_same_answer(
    pieces: list[str], points: list[int], ending: bytes, pings: bool
) -> None:
    events = completion_chunks(pieces, usage={"prompt_tokens": 1})
    if pings:
        events = [e for event in events for e in (b": ping\n\n", event)]
    body = b"".join(events)
    body = body.replace(b"\n", ending)
    script = Script({("POST", "/v1/chat/completions"): sse(cut(body, points))})
    chunks = run(stream_text, script)
    assert "".join(c.content for c in chunks) == "".join(pieces)
    assert [c.done for c in chunks].count(True) == 1
    assert chunks[-1].done
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 1


# Arguments as models write them: JSON objects (with non-ASCII text), or broken text.
arguments = st.one_of(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3).map(
        lambda value: json.dumps(value, ensure_ascii=False)
    ),
    st.text(max_size=20),
)
calls = st.lists(
    st.tuples(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), arguments), min_size=1, max_size=3
)


def fragmented(text: str, points: list[int]) -> list[str]:
    """``text`` in pieces cut at ``points``; an empty text stays one empty piece."""
    bounds = sorted({p % (len(text) + 1) for p in points} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(bounds)] or [text]


@FAST
@given(
    wanted=calls,
    argument_cuts=st.lists(st.integers(min_value=0), max_size=6),
    byte_cuts=st.lists(st.integers(min_value=0), max_size=12),
    reasoning=st.lists(st.text(min_size=1, max_size=6), max_size=3),
)
def test_any_fragmentation_of_tool_calls_gives_the_same_calls(
    wanted: list[tuple[str, str]],
    argument_cuts: list[int],
    byte_cuts: list[int],
    reasoning: list[str],
) -> None:
    """However the server cuts the arguments, and TCP the bytes, the calls come out whole."""
    script_calls = [
        (f"call_{index}", name, fragmented(text, argument_cuts))
        for index, (name, text) in enumerate(wanted)
    ]
    body = b"".join(call_chunks(script_calls, reasoning=reasoning))
    script = Script({("POST", "/v1/chat/completions"): sse(cut(body, byte_cuts))})
    chunks = run(stream_text, script)
    assert "".join(c.reasoning for c in chunks) == "".join(reasoning)
    assert all(not c.tool_calls for c in chunks[:-1])
    expected = tuple(
        ToolCall.from_wire(name=name, arguments=text, id=f"call_{index}")
        for index, (name, text) in enumerate(wanted)
    )
    assert chunks[-1].tool_calls == expected
    assert chunks[-1].finish_reason == "tool_calls"


@FAST
@given(
    prefix=st.sampled_from([b"", b"data: ", b"data: {", b'data: {"choices": ', b"error: "]),
    body=st.binary(max_size=300),
    points=st.lists(st.integers(min_value=0), max_size=6),
)
def test_arbitrary_stream_bytes_give_chunks_or_a_protocol_error(
    prefix: bytes, body: bytes, points: list[int]
) -> None:
    script = Script({("POST", "/v1/chat/completions"): sse(cut(prefix + body, points))})
    result = run(stream_text, script)
    if isinstance(result, AegisLLMError):  # or an error the bytes themselves report
        reported = b"error" in prefix + body
        assert isinstance(result, ProtocolError | StreamInterrupted) or reported, repr(result)
    else:  # a stream only ends well with [DONE], and then with exactly one done chunk
        assert [c.done for c in result] == [False] * (len(result) - 1) + [True]


@FAST
@given(deltas=st.lists(json_values, min_size=1, max_size=4))
def test_arbitrary_deltas_give_chunks_or_a_protocol_error(deltas: list[object]) -> None:
    """Deltas with any content, reasoning or tool-call fragments: chunks, or the SDK's error."""
    choices = [{"index": 0, "delta": delta, "finish_reason": None} for delta in deltas]
    events = [event({"choices": [choice]}) for choice in choices]
    script = Script({("POST", "/v1/chat/completions"): sse([*events, DONE])})
    result = run(stream_text, script)
    if isinstance(result, AegisLLMError):
        assert isinstance(result, ProtocolError | StreamInterrupted), repr(result)
    else:
        assert [c.done for c in result] == [False] * (len(result) - 1) + [True]


@FAST
@given(body=st.binary(max_size=300))
def test_arbitrary_chat_bodies_give_a_reply_or_a_protocol_error(body: bytes) -> None:
    script = Script({("POST", "/v1/chat/completions"): raw(body)})
    result = run(lambda ctx: chat(ctx, chat_request()), script)
    assert isinstance(result, ChatResponse | ProtocolError), repr(result)


@FAST
@given(value=json_values)
def test_arbitrary_json_answers_never_escape_the_error_family(value: object) -> None:
    """Chat, embeddings and model lists over any JSON: a result, or the SDK's own error."""
    body = json.dumps(value).encode()
    script = Script(
        {
            ("POST", "/v1/chat/completions"): raw(body),
            ("POST", "/v1/embeddings"): raw(body),
            ("GET", "/v1/models"): raw(body),
        }
    )
    results = [
        run(lambda ctx: chat(ctx, chat_request()), script),
        run(lambda ctx: embed(ctx, embed_request("a")), script),
        run(list_models, script),
    ]
    for result in results:
        if isinstance(result, AegisLLMError) and not isinstance(result, ProtocolError):
            # Only an error the server itself reported may be another kind.
            assert isinstance(value, dict)
            assert value.get("error")
