"""FakeOpenAI's function calling and reasoning against the official `openai` client.

The client parses `message.tool_calls` into typed objects and hands streamed
`delta.tool_calls` fragments through as it got them; if it cannot, or if the
fragments do not add up to the whole answer's calls, the fake is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from aegis_llm.testing.fakes.openai import FakeOpenAI, Flavour

Make = Callable[..., FakeOpenAI]
CHAT_MODEL = "llama-3.2-3b-instruct"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Paris"}]
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        },
    },
}
NOW: ChatCompletionToolParam = {"type": "function", "function": {"name": "now"}}


@pytest.fixture(params=["lmstudio", "llamacpp", "vllm", "openai"])
def flavour(request: pytest.FixtureRequest) -> Flavour:
    chosen: Flavour = request.param
    return chosen


@pytest.fixture
def client(flavour: Flavour, make_openai: Make) -> Iterator[openai.OpenAI]:
    server = make_openai(flavour)
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0) as client:
        yield client


def streamed_calls(chunks: list[Any]) -> dict[int, dict[str, str]]:
    """Fragments joined per index, the way a client must: id and name first, then arguments."""
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for fragment in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            call = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += fragment.id or ""
            assert fragment.function is not None
            call["name"] += fragment.function.name or ""
            call["arguments"] += fragment.function.arguments or ""
    return calls


def test_offered_tools_are_called_with_arguments_from_their_schema(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=CHAT_MODEL, messages=USER, tools=[WEATHER, NOW])
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 1}


def test_a_named_tool_choice_forces_that_tool_and_none_forbids_calls(
    client: openai.OpenAI,
) -> None:
    forced = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=USER,
        tools=[WEATHER, NOW],
        tool_choice={"type": "function", "function": {"name": "now"}},
    )
    (call,) = forced.choices[0].message.tool_calls or []
    assert (call.function.name, call.function.arguments) == ("now", "{}")
    plain = client.chat.completions.create(
        model=CHAT_MODEL, messages=USER, tools=[WEATHER], tool_choice="none"
    )
    assert plain.choices[0].finish_reason == "stop"
    assert plain.choices[0].message.tool_calls is None
    assert plain.choices[0].message.content


def test_streamed_calls_come_in_fragments_that_add_up_to_the_whole_ones(
    client: openai.OpenAI,
) -> None:
    whole = client.chat.completions.create(model=CHAT_MODEL, messages=USER, tools=[WEATHER])
    chunks = list(
        client.chat.completions.create(
            model=CHAT_MODEL, messages=USER, tools=[WEATHER], stream=True
        )
    )
    fragments = [c.choices[0].delta.tool_calls for c in chunks if c.choices]
    first = next(f for f in fragments if f)[0]
    assert first.id
    assert first.type == "function"
    assert first.function is not None
    assert (first.function.name, first.function.arguments) == ("get_weather", "")
    assert sum(1 for f in fragments if f) > 2  # the arguments came in pieces
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    (call,) = streamed_calls(chunks).values()
    (expected,) = whole.choices[0].message.tool_calls or []
    assert (call["name"], call["arguments"]) == (
        expected.function.name,
        expected.function.arguments,
    )


def test_after_a_tool_result_the_model_answers_in_text(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model=CHAT_MODEL, messages=USER, tools=[WEATHER])
    (call,) = first.choices[0].message.tool_calls or []
    history: list[ChatCompletionMessageParam] = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    reply = client.chat.completions.create(model=CHAT_MODEL, messages=history, tools=[WEATHER])
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"tools": [{"type": "function"}]}, "each tool"),
        ({"tool_choice": "auto"}, "only allowed when 'tools'"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "x"}}},
            "names no offered tool",
        ),
        (
            {"messages": [*USER, {"role": "tool", "tool_call_id": "nope", "content": "x"}]},
            "must be a response",
        ),
        (
            {
                "messages": [
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {
                                "id": "c",
                                "type": "function",
                                "function": {"name": "f", "arguments": {"a": 1}},
                            }
                        ],
                    },
                    *USER,
                ]
            },
            "JSON string",
        ),
    ],
)
def test_what_openai_rejects_is_a_bad_request(
    client: openai.OpenAI, extra: dict[str, Any], problem: str
) -> None:
    fields: dict[str, Any] = {"messages": USER, **extra}
    with pytest.raises(openai.BadRequestError, match=problem):
        client.chat.completions.create(model=CHAT_MODEL, **fields)


def test_scripted_calls_may_carry_broken_json(make_openai: Make) -> None:
    server = make_openai("lmstudio", tool_calls=[("get_weather", '{"city": Par'), ("now", "")])
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(model=CHAT_MODEL, messages=USER, tools=[WEATHER])
        chunks = list(
            client.chat.completions.create(
                model=CHAT_MODEL, messages=USER, tools=[WEATHER], stream=True
            )
        )
    calls = reply.choices[0].message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in calls] == [
        ("get_weather", '{"city": Par'),
        ("now", ""),
    ]
    assert len({c.id for c in calls}) == 2
    streamed = streamed_calls(chunks)
    assert [(c["name"], c["arguments"]) for c in streamed.values()] == [
        ("get_weather", '{"city": Par'),
        ("now", ""),
    ]


@pytest.mark.parametrize(
    ("flavour", "key"), [("lmstudio", "reasoning"), ("llamacpp", "reasoning_content")]
)
def test_reasoning_in_each_flavours_field(make_openai: Make, flavour: Flavour, key: str) -> None:
    server = make_openai(flavour, reply="It is 42", reasoning="six times seven")
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=0) as client:
        reply = client.chat.completions.create(model=CHAT_MODEL, messages=USER)
        chunks = list(client.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True))
    message = reply.choices[0].message
    assert message.content == "It is 42"
    assert (message.model_extra or {})[key] == "six times seven"
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    thought = "".join((d.model_extra or {}).get(key) or "" for d in deltas)
    assert thought == "six times seven"
    assert "".join(d.content or "" for d in deltas) == "It is 42"
