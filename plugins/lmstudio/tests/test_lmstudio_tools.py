"""Function calling and reasoning over the OpenAI wire: request bodies, whole and streamed answers.

The bytes are the shapes PROTOCOLS.md §0/§2.3/§3 describe: tools as function
specs, calls whose ``arguments`` are JSON text (streamed in fragments keyed by
``index``), gpt-oss reasoning in ``reasoning`` (LM Studio) or
``reasoning_content`` (llama.cpp, DeepSeek-style).
"""

from __future__ import annotations

from typing import Any

import pytest
from lmstudio_testkit import (
    DONE,
    Script,
    answer,
    call_chunks,
    chat_request,
    collect,
    completion,
    completion_chunks,
    context,
    event,
    read_into,
    sse,
)

from aegis_llm import ChatRequest, Tool, ToolCall
from aegis_llm.errors import InvalidRequest, ProtocolError, StreamInterrupted
from aegis_llm_lmstudio._chat import chat, stream_chat
from aegis_llm_lmstudio._payload import chat_body, check_chat

pytestmark = pytest.mark.anyio

WEATHER = Tool(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
NOW = Tool(name="now")
CHAT = ("POST", "/v1/chat/completions")


def body_of(request: ChatRequest, *, stream: bool = False) -> dict[str, Any]:
    check_chat(request, "lmstudio")
    return chat_body(request, stream=stream, native=False)


# Request bodies.


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (None, None),
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_tools_are_function_specs_and_a_named_choice_forces_one(
    choice: str | None, wire: object
) -> None:
    body = body_of(chat_request(tools=[WEATHER, NOW], tool_choice=choice))
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        },
        {"type": "function", "function": {"name": "now", "parameters": NOW.parameters}},
    ]
    assert body.get("tool_choice") == wire
    assert ("tool_choice" in body) is (choice is not None)


def test_a_request_without_tools_sends_neither_key() -> None:
    body = body_of(chat_request())
    assert "tools" not in body
    assert "tool_choice" not in body


def test_history_sends_calls_back_with_json_text_and_results_with_their_ids() -> None:
    calls = (
        ToolCall.from_wire(name="get_weather", arguments={"city": "Paris"}, id="call_1"),
        ToolCall.from_wire(name="now", arguments="", id="call_2"),
        ToolCall.from_wire(name="get_weather", arguments='{"city": "Par'),  # broken, no id
    )
    request = ChatRequest.model_validate(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": "", "tool_calls": calls},
                {
                    "role": "tool",
                    "content": "sunny",
                    "tool_call_id": "call_1",
                    "name": "get_weather",
                },
            ],
            "options": {"tools": [WEATHER, NOW]},
        }
    )
    assistant, result = body_of(request)["messages"][1:]
    assert assistant == {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": "{}"}},
            {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Par'}},
        ],
    }
    assert result == {
        "role": "tool",
        "content": "sunny",
        "name": "get_weather",
        "tool_call_id": "call_1",
    }


@pytest.mark.parametrize(
    ("options", "clash"),
    [
        ({"tools": [NOW], "extra": {"tools": []}}, "tools"),
        ({"tools": [NOW], "extra": {"tool_choice": "required"}}, "tool_choice"),
        ({"tools": [NOW], "tool_choice": "now", "extra": {"tool_choice": "none"}}, "tool_choice"),
    ],
)
def test_extra_may_not_contradict_the_tools(options: dict[str, Any], clash: str) -> None:
    with pytest.raises(InvalidRequest, match=clash):
        check_chat(chat_request(**options), "lmstudio")


def test_extra_may_add_tool_options_the_request_does_not_set() -> None:
    request = chat_request(tools=[NOW], extra={"parallel_tool_calls": False})
    assert body_of(request)["parallel_tool_calls"] is False
    spec = NOW.function_spec()
    assert body_of(chat_request(extra={"tools": [spec]}))["tools"] == [spec]


# Whole answers.


def call_answer(calls: list[dict[str, Any]], **message: Any) -> dict[str, Any]:
    payload = completion(None)
    payload["choices"][0]["message"].update(tool_calls=calls, **message)
    payload["choices"][0]["finish_reason"] = "tool_calls"
    return payload


def wire_call(name: str, arguments: object, call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


async def whole(payload: dict[str, Any], **options: Any) -> Any:
    script = Script({CHAT: answer(payload)})
    ctx = context(script, native_api=False)
    try:
        return await chat(ctx, chat_request(**options))
    finally:
        await ctx.aclose()


async def test_a_whole_answer_of_tool_calls() -> None:
    payload = call_answer(
        [wire_call("get_weather", '{"city": "Paris"}'), wire_call("now", "", "call_2")]
    )
    reply = await whole(payload, tools=[WEATHER, NOW])
    assert reply.content == ""
    assert reply.finish_reason == "tool_calls"
    assert reply.tool_calls == (
        ToolCall(
            name="get_weather",
            arguments={"city": "Paris"},
            arguments_json='{"city": "Paris"}',
            id="call_1",
        ),
        ToolCall(name="now", arguments={}, arguments_json="", id="call_2"),
    )


async def test_invalid_json_arguments_are_kept_as_text_not_raised() -> None:
    reply = await whole(call_answer([wire_call("get_weather", '{"city": Paris')]))
    (call,) = reply.tool_calls
    assert (call.arguments, call.arguments_json) == (None, '{"city": Paris')


async def test_calls_that_end_with_stop_still_say_tool_calls() -> None:
    payload = call_answer([wire_call("now", "{}")])
    payload["choices"][0]["finish_reason"] = "stop"
    assert (await whole(payload)).finish_reason == "tool_calls"
    payload["choices"][0]["finish_reason"] = "length"
    assert (await whole(payload)).finish_reason == "length"


async def test_an_answer_without_calls_has_none() -> None:
    payload = completion("hello")
    # Empty calls and reasoning, as some servers say "none".
    payload["choices"][0]["message"].update(tool_calls=[], reasoning_content="")
    reply = await whole(payload)
    assert (reply.tool_calls, reply.reasoning, reply.finish_reason) == ((), None, "stop")


@pytest.mark.parametrize("key", ["reasoning", "reasoning_content"])
async def test_reasoning_of_a_whole_answer_from_either_key(key: str) -> None:
    payload = completion("42")
    payload["choices"][0]["message"][key] = "six times seven"
    reply = await whole(payload)
    assert (reply.content, reply.reasoning) == ("42", "six times seven")


async def test_reasoning_under_both_keys_is_said_once() -> None:
    payload = completion("42")
    payload["choices"][0]["message"].update(reasoning="think", reasoning_content="think")
    assert (await whole(payload)).reasoning == "think"


@pytest.mark.parametrize(
    "calls",
    [
        {"id": "x"},  # not a list
        ["call"],  # not an object
        [{"id": "c", "type": "function"}],  # no function
        [wire_call("", "{}")],  # no name
        [{"id": 7, "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        [wire_call("f", 42)],  # arguments neither text nor an object
    ],
)
async def test_malformed_tool_calls_are_a_protocol_error(calls: object) -> None:
    payload = completion(None)
    payload["choices"][0]["message"]["tool_calls"] = calls
    with pytest.raises(ProtocolError) as caught:
        await whole(payload)
    assert caught.value.provider == "lmstudio"


async def test_reasoning_that_is_not_text_is_a_protocol_error() -> None:
    payload = completion("x")
    payload["choices"][0]["message"]["reasoning"] = ["no"]
    with pytest.raises(ProtocolError, match="reasoning"):
        await whole(payload)


# Streams.


async def streamed(events: list[bytes], **options: Any) -> Any:
    script = Script({CHAT: sse(events)})
    ctx = context(script, native_api=False)
    try:
        return await collect(stream_chat(ctx, chat_request(**options)))
    finally:
        await ctx.aclose()


async def test_streamed_fragments_become_whole_calls_on_the_done_chunk() -> None:
    events = call_chunks(
        [
            ("call_1", "get_weather", ['{"ci', 'ty": "Pa', 'ris"}']),
            ("call_2", "now", []),
        ]
    )
    chunks = await streamed(events, tools=[WEATHER, NOW])
    *leading, last = chunks
    assert all(not c.tool_calls and not c.done for c in leading)
    assert last.done
    assert last.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments, c.arguments_json) for c in last.tool_calls] == [
        ("call_1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}'),
        ("call_2", "now", {}, ""),
    ]


async def test_interleaved_fragments_are_sorted_out_by_index() -> None:
    def chunk(*fragments: dict[str, Any]) -> bytes:
        delta = {"tool_calls": list(fragments)}
        return event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})

    def start(index: int, name: str) -> dict[str, Any]:
        return {"index": index, "id": f"c{index}", "type": "function",
                "function": {"name": name, "arguments": ""}}  # fmt: skip

    def more(index: int, text: str) -> dict[str, Any]:
        # Some servers repeat the name on every fragment; it must not be doubled.
        return {"index": index, "function": {"name": "f" if index else None, "arguments": text}}

    events = [
        chunk(start(1, "f"), start(0, "g")),
        chunk(more(1, '{"a"'), more(0, '{"b"')),
        chunk(more(0, ":2}")),
        chunk(more(1, ":1}")),
        event({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        DONE,
    ]
    last = (await streamed(events))[-1]
    assert [(c.id, c.name, c.arguments) for c in last.tool_calls] == [
        ("c0", "g", {"b": 2}),
        ("c1", "f", {"a": 1}),
    ]


async def test_streamed_invalid_json_arguments_are_kept_as_text() -> None:
    last = (await streamed(call_chunks([("c", "f", ['{"x": ', "oops"])])))[-1]
    (call,) = last.tool_calls
    assert (call.arguments, call.arguments_json) == (None, '{"x": oops')


@pytest.mark.parametrize("key", ["reasoning", "reasoning_content"])
async def test_streamed_reasoning_comes_in_its_own_chunks(key: str) -> None:
    events = call_chunks([], reasoning=["six ", "times"], reasoning_key=key, finish="stop")
    events[-1:-1] = completion_chunks(["42"], done=False)[1:2]
    chunks = await streamed(events)
    assert [(c.reasoning, c.content) for c in chunks] == [
        ("six ", ""),
        ("times", ""),
        ("", "42"),
        ("", ""),
    ]
    assert chunks[-1].tool_calls == ()
    assert chunks[-1].finish_reason == "stop"


async def test_text_and_reasoning_in_one_delta_come_together() -> None:
    delta = {"content": "a", "reasoning": "r"}
    events = [event({"choices": [{"index": 0, "delta": delta, "finish_reason": "stop"}]}), DONE]
    chunks = await streamed(events)
    assert [(c.content, c.reasoning) for c in chunks] == [("a", "r"), ("", "")]


def fragment_event(fragment: object) -> bytes:
    delta = {"tool_calls": fragment}
    return event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})


MALFORMED = [
    fragment_event({"index": 0}),  # not a list
    fragment_event(["x"]),  # not an object
    fragment_event([{"index": "0", "function": {"name": "f"}}]),  # index not an int
    fragment_event([{"index": True, "function": {"name": "f"}}]),
    fragment_event([{"index": 0, "function": {"name": "f", "arguments": {"a": 1}}}]),
    fragment_event([{"index": 0, "function": {"name": 3}}]),
    fragment_event([{"index": 0, "id": 3, "function": {"name": "f"}}]),
    fragment_event([{"index": 0, "function": "f"}]),
    fragment_event([{"index": 0, "id": "c", "function": {"arguments": "{}"}}]),  # never named
]


@pytest.mark.parametrize("bad", MALFORMED)
async def test_malformed_fragments_before_any_text_are_a_protocol_error(bad: bytes) -> None:
    events = [*completion_chunks([], done=False)[:1], bad, *completion_chunks([])[-2:]]
    with pytest.raises(ProtocolError) as caught:
        await streamed(events)
    assert not isinstance(caught.value, StreamInterrupted)
    assert caught.value.provider == "lmstudio"


@pytest.mark.parametrize("bad", MALFORMED)
@pytest.mark.parametrize("first", ["content", "reasoning"])
async def test_malformed_fragments_after_text_or_reasoning_interrupt_the_stream(
    bad: bytes, first: str
) -> None:
    said = event({"choices": [{"index": 0, "delta": {first: "so"}, "finish_reason": None}]})
    events = [said, bad, *completion_chunks([])[-2:]]
    script = Script({CHAT: sse(events)})
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        await read_into(received, stream_chat(context(script, native_api=False), chat_request()))
    kept = (caught.value.partial, caught.value.partial_reasoning)
    assert kept == (("so", "") if first == "content" else ("", "so"))
    assert isinstance(caught.value.__cause__, ProtocolError)


async def test_reasoning_then_a_cut_is_interrupted_not_failed_over() -> None:
    events = call_chunks([], reasoning=["hmm"], done=False)[:2]
    with pytest.raises(StreamInterrupted):
        await streamed(events)


async def test_llama_cpp_python_fragments_repeat_the_id_and_name_and_a_legacy_field() -> None:
    """Its server repeats id, type and name on every fragment, beside an old-style
    ``function_call`` copy, and ends with ``tool_calls: null``; the call is still one."""

    def fragment(piece: str) -> bytes:
        function = {"name": "get_weather", "arguments": piece}
        call = {"index": 0, "id": "call__0", "type": "function", "function": function}
        delta = {"role": None, "content": None, "function_call": function, "tool_calls": [call]}
        return event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})

    end = {"role": None, "content": None, "function_call": None, "tool_calls": None}
    events = [
        fragment('{"ci'),
        fragment('ty": "Oslo"}'),
        event({"choices": [{"index": 0, "delta": end, "finish_reason": "tool_calls"}]}),
        DONE,
    ]
    (call,) = (await streamed(events))[-1].tool_calls
    assert (call.id, call.name, call.arguments) == ("call__0", "get_weather", {"city": "Oslo"})
