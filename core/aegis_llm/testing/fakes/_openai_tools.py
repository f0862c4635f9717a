"""Function calling for the fake OpenAI-style servers: checking what a request offers,
deciding which calls the "model" makes, and streaming them as OpenAI does.

A request that offers `tools` is answered with calls when `tool_choice` allows it and
the conversation's last turn is the user's (after a tool result the model answers in
text, so a client's call-and-answer loop ends). The calls are scripted, or else one
call of the forced tool (or the first offered) with arguments made from its schema:
string properties get the user's text, others a fixed value of their type. Arguments
are JSON text, and streamed as OpenAI streams them: a first fragment with the call's
id, type and name and empty arguments, then pieces of the text (PROTOCOLS.md §0).
The checks are those OpenAI makes and a client can get wrong: tool specs,
`tool_choice` naming an offered tool, and history (calls with text arguments, tool
results answering an earlier call).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Final

__all__ = ["ToolCallSource", "ToolScript", "call_deltas", "wire_calls"]

ToolCallSource = (
    Sequence[tuple[str, str]] | Callable[[dict[str, object]], Sequence[tuple[str, str]]] | None
)
"""The calls a fake makes: (name, arguments as JSON text, which may be invalid on
purpose), fixed or a function of the request body; None for the schema-driven rule."""

_PIECE: Final = 7  # characters of arguments per streamed fragment
_VALUES: Final[dict[str, object]] = {
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}


class ToolScript:
    """Decides the calls answering one request; `problem` says what a real server rejects."""

    def __init__(self, source: ToolCallSource) -> None:
        self._source = source

    def problem(self, body: dict[str, object]) -> str | None:
        """The 400 message a request's tools, tool_choice or history deserve, if any."""
        tools = body.get("tools")
        names: list[str] = []
        if tools is not None:
            if not isinstance(tools, list):
                return "'tools' must be an array"
            for tool in tools:
                name = _spec_name(tool)
                if name is None:
                    return "each tool must be {'type': 'function', 'function': {'name': ...}}"
                names.append(name)
        choice = body.get("tool_choice")
        if choice is not None:
            if not names:
                return "'tool_choice' is only allowed when 'tools' are specified"
            if choice not in ("auto", "none", "required") and _forced(choice) not in names:
                return f"'tool_choice' names no offered tool: {json.dumps(choice)}"
        messages = body.get("messages")
        return _history_problem(messages) if isinstance(messages, list) else None

    def calls(self, body: dict[str, object], prompt: str) -> list[tuple[str, str]]:
        """The (name, arguments text) calls to answer with; [] for a text answer."""
        tools = _specs(body.get("tools"))
        choice = body.get("tool_choice")
        if not tools or choice == "none" or not _user_spoke_last(body.get("messages")):
            return []
        source = self._source
        if source is not None:
            return list(source(body) if callable(source) else source)
        name = _forced(choice)
        chosen = next((spec for spec in tools if spec.get("name") == name), tools[0])
        return [(str(chosen.get("name")), json.dumps(_arguments(chosen, prompt)))]


def wire_calls(calls: Sequence[tuple[str, str]], ids: Iterator[int]) -> list[dict[str, object]]:
    """`message.tool_calls` of a whole answer, each with the next id from `ids`."""
    return [
        {
            "id": f"call_fake{next(ids)}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        for name, arguments in calls
    ]


def call_deltas(calls: list[dict[str, object]]) -> Iterator[dict[str, object]]:
    """The `delta`s that stream `calls` (from `wire_calls`) fragment by fragment."""
    for index, call in enumerate(calls):
        function = call["function"]
        assert isinstance(function, dict)
        arguments = str(function["arguments"])
        first = {"index": index, "id": call["id"], "type": "function",
                 "function": {"name": function["name"], "arguments": ""}}  # fmt: skip
        yield {"tool_calls": [first]}
        for start in range(0, len(arguments), _PIECE):
            piece = {"index": index, "function": {"arguments": arguments[start : start + _PIECE]}}
            yield {"tool_calls": [piece]}


def _spec_name(tool: object) -> str | None:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return None
    function = tool.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else None


def _specs(tools: object) -> list[dict[str, object]]:
    """The `function` objects of well-formed tool specs."""
    if not isinstance(tools, list):
        return []
    specs = [tool.get("function") for tool in tools if _spec_name(tool) is not None]
    return [spec for spec in specs if isinstance(spec, dict)]


def _forced(choice: object) -> object:
    """The tool name a `{"type": "function", "function": {"name": ...}}` choice forces."""
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return choice["function"].get("name")
    return None


def _user_spoke_last(messages: object) -> bool:
    if not isinstance(messages, list) or not messages:
        return False
    last = messages[-1]
    return isinstance(last, dict) and last.get("role") == "user"


def _history_problem(messages: list[object]) -> str | None:
    """What OpenAI rejects in history: calls without text arguments, orphan tool results."""
    called: set[object] = set()
    for message in messages:
        if not isinstance(message, dict):
            continue
        calls = message.get("tool_calls")
        if calls is not None:
            if message.get("role") != "assistant" or not isinstance(calls, list):
                return "only assistant messages carry a 'tool_calls' array"
            for call in calls:
                function = call.get("function") if isinstance(call, dict) else None
                if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                    return "each history tool call needs a function name"
                if not isinstance(function.get("arguments"), str):
                    return "history tool call arguments must be a JSON string"
                called.add(call.get("id"))
        if message.get("role") == "tool" and message.get("tool_call_id") not in called:
            return (
                "messages with role 'tool' must be a response to a preceding message "
                "with 'tool_calls'"
            )
    return None


def _arguments(spec: dict[str, object], prompt: str) -> dict[str, object]:
    parameters = spec.get("parameters")
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return {}
    arguments: dict[str, object] = {}
    for name, schema in properties.items():
        kind = schema.get("type") if isinstance(schema, dict) else None
        arguments[str(name)] = prompt if kind in (None, "string") else _VALUES.get(str(kind))
    return arguments
