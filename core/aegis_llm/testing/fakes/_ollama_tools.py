"""How the fake Ollama decides to call a tool, and with what arguments.

A real model calls a tool when the question needs one and answers in text
once the result is back. The fake follows one deterministic rule with the
same shape, so an agent loop can be tested end to end: tools offered and the
last turn is the user's → one call, to the offered tool the user's text
names (else the first), with an example value for each property of its
schema; the last turn is a tool result → a text answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from ._synth import sha256_hex

__all__ = ["example_arguments", "tool_call_for"]

_EXAMPLES: Final[Mapping[str, object]] = {
    "string": "example",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
}


def tool_call_for(
    tools: Sequence[Mapping[str, object]], messages: Sequence[Mapping[str, object]]
) -> dict[str, object] | None:
    """The call the fake model makes, in Ollama's wire form, or None to answer in text."""
    if not tools or not messages or messages[-1].get("role") != "user":
        return None
    text = str(messages[-1].get("content") or "")
    functions = [_function(tool) for tool in tools]
    named = [f for f in functions if f.get("name") and str(f["name"]) in text]
    function = (named or functions)[0]
    name = str(function.get("name") or "")
    parameters = function.get("parameters")
    arguments = example_arguments(parameters if isinstance(parameters, Mapping) else {})
    return {
        "id": "call_" + sha256_hex(f"{name}\0{text}")[:8],
        "function": {"index": 0, "name": name, "arguments": arguments},
    }


def example_arguments(schema: Mapping[str, object]) -> dict[str, object]:
    """A value for every property: the first of its ``enum``, else one of its ``type``."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    return {str(key): _example(value) for key, value in properties.items()}


def _example(prop: object) -> object:
    if not isinstance(prop, Mapping):
        return None
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        kind = next((k for k in kind if k != "null"), None)
    return _EXAMPLES.get(kind) if isinstance(kind, str) else None


def _function(tool: Mapping[str, object]) -> Mapping[str, object]:
    function = tool.get("function")
    return function if isinstance(function, Mapping) else {}
