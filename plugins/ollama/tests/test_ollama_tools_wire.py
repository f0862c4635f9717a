"""Function calling and thinking on Ollama's wire: the request body, and reading answers."""

from __future__ import annotations

from typing import Any

import pytest

from aegis_llm import ChatOptions, ChatRequest, Message, Tool, ToolCall
from aegis_llm._settings import load_provider_settings
from aegis_llm.errors import InvalidRequest, ProtocolError, Unsupported
from aegis_llm_ollama import OllamaSettings
from aegis_llm_ollama._wire import chat_body, chat_piece, finish_reason

WEATHER = Tool(
    name="get_weather",
    description="The weather in a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
NOW = Tool(name="now")
WEATHER_SPEC = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
NOW_SPEC = {
    "type": "function",
    "function": {"name": "now", "parameters": {"type": "object", "properties": {}}},
}


def body(messages: tuple[Message, ...] | None = None, **options: Any) -> dict[str, Any]:
    settings = load_provider_settings(OllamaSettings, "ollama", {}, {})
    assert isinstance(settings, OllamaSettings)
    request = ChatRequest(
        model="llama3.2",
        messages=messages or (Message(role="user", content="weather in Paris?"),),
        options=ChatOptions.model_validate(options),
    )
    return chat_body(settings, request, stream=True)


@pytest.mark.parametrize("choice", [None, "auto"])
def test_offered_tools_go_out_as_function_specs(choice: str | None) -> None:
    assert body(tools=[WEATHER, NOW], tool_choice=choice) == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "weather in Paris?"}],
        "tools": [WEATHER_SPEC, NOW_SPEC],
        "stream": True,
    }


def test_no_tools_no_field() -> None:
    assert "tools" not in body()


def test_tool_choice_none_is_honoured_by_not_offering_the_tools() -> None:
    assert "tools" not in body(tools=[WEATHER], tool_choice="none")


@pytest.mark.parametrize(
    ("choice", "named"), [("required", "a tool call"), ("now", "a call to 'now'")]
)
def test_forcing_a_call_is_unsupported_before_sending(choice: str, named: str) -> None:
    with pytest.raises(Unsupported, match=f"cannot force {named}") as caught:
        body(tools=[WEATHER, NOW], tool_choice=choice)
    assert "tool_choice='auto'" in str(caught.value.hint)


@pytest.mark.parametrize(
    "extra",
    [{"tools": [WEATHER_SPEC]}, {"tool_choice": "auto"}, {"tools": [], "top_k": 3}],
)
def test_tools_through_extra_are_refused_not_buried_in_options(extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest, match="typed field") as caught:
        body(extra=extra)
    assert "ChatOptions.tool" in str(caught.value.hint)


def test_a_call_and_its_result_go_back_in_history() -> None:
    with_id = ToolCall.from_wire(name="get_weather", arguments='{"city": "Paris"}', id="call_1")
    without_id = ToolCall.from_wire(name="now", arguments={})
    broken = ToolCall.from_wire(name="now", arguments='{"oops')
    history = (
        Message(role="user", content="weather in Paris?"),
        Message(role="assistant", content="", tool_calls=(with_id, without_id, broken)),
        Message(role="tool", content="18°C", name="get_weather", tool_call_id="call_1"),
    )
    assert body(history, tools=[WEATHER])["messages"] == [
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                    "id": "call_1",
                },
                {"function": {"name": "now", "arguments": {}}},
                {"function": {"name": "now", "arguments": {}}},  # Ollama takes only objects
            ],
        },
        {"role": "tool", "content": "18°C", "tool_name": "get_weather", "tool_call_id": "call_1"},
    ]


def test_a_result_with_only_the_call_id_is_named_after_its_call() -> None:
    """A history written for OpenAI-style servers (ids only) still reaches Ollama attributed."""
    call = ToolCall.from_wire(name="get_weather", arguments="{}", id="call_9")
    history = (
        Message(role="user", content="weather?"),
        Message(role="assistant", content="", tool_calls=(call,)),
        Message(role="tool", content="18°C", tool_call_id="call_9"),
        Message(role="tool", content="?", tool_call_id="unknown"),
    )
    results = body(history, tools=[WEATHER])["messages"][2:]
    assert results == [
        {"role": "tool", "content": "18°C", "tool_name": "get_weather", "tool_call_id": "call_9"},
        {"role": "tool", "content": "?", "tool_call_id": "unknown"},
    ]


def piece(**message: Any) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": "", **message}, "done": False}


def test_chat_piece_reads_thinking_and_whole_calls() -> None:
    wire_calls = [
        {
            "id": "call_7",
            "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}},
        },
        {"function": {"name": "now", "arguments": {}}},
    ]
    content, thinking, calls, done = chat_piece(piece(thinking="hmm", tool_calls=wire_calls))
    assert (content, thinking, done) == ("", "hmm", False)
    assert calls == (
        ToolCall(
            name="get_weather",
            arguments={"city": "Paris"},
            arguments_json='{"city":"Paris"}',
            id="call_7",
        ),
        ToolCall(name="now", arguments={}, arguments_json="{}"),
    )
    assert chat_piece(piece(thinking=None, tool_calls=None)) == ("", "", None, False)
    assert chat_piece(piece(tool_calls=[]))[2] == ()


def test_chat_piece_keeps_arguments_sent_as_text() -> None:
    (call,) = (
        chat_piece(piece(tool_calls=[{"function": {"name": "f", "arguments": '{"a": '}}]))[2] or ()
    )
    assert (call.arguments, call.arguments_json) == (None, '{"a": ')


@pytest.mark.parametrize(
    "message",
    [
        {"thinking": 3},
        {"thinking": ["a"]},
        {"tool_calls": {"function": {"name": "f", "arguments": {}}}},
        {"tool_calls": ["f"]},
        {"tool_calls": [{"name": "f", "arguments": {}}]},
        {"tool_calls": [{"function": "f"}]},
        {"tool_calls": [{"function": {"arguments": {}}}]},
        {"tool_calls": [{"function": {"name": "", "arguments": {}}}]},
        {"tool_calls": [{"function": {"name": 7, "arguments": {}}}]},
        {"tool_calls": [{"function": {"name": "f"}}]},
        {"tool_calls": [{"function": {"name": "f", "arguments": [1]}}]},
        {"tool_calls": [{"function": {"name": "f", "arguments": None}}]},
        {"tool_calls": [{"id": 5, "function": {"name": "f", "arguments": {}}}]},
    ],
)
def test_broken_thinking_or_call_shapes_are_protocol_errors(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError, match="Ollama sent"):
        chat_piece(piece(**message))


def test_calls_make_the_finish_reason_whatever_done_reason_says() -> None:
    call = ToolCall.from_wire(name="now", arguments={})
    assert finish_reason({"done_reason": "stop"}, (call,)) == "tool_calls"
    assert finish_reason({"done_reason": "stop"}, ()) == "stop"
    assert finish_reason({}, ()) is None
