"""Function calling: the tools a caller offers, and the calls a model asks for.

Servers disagree on the wire (PROTOCOLS.md, quirk 12): Ollama sends a call's
``arguments`` as a JSON object, whole, in one chunk; OpenAI-style servers
send them as JSON *text*, streamed in fragments keyed by ``index``. A caller
should not have to care, so every plugin hands back ``ToolCall`` with both
the parsed object and the text, and a model that wrote arguments which are
not a JSON object (it happens) yields a call with ``arguments=None`` rather
than an exception that would lose the rest of the answer.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from aegis_llm.errors import ProtocolError

__all__ = ["Tool", "ToolCall", "ToolChoice"]

ToolChoice = Literal["auto", "none", "required"]
"""Whether the model may (``auto``), must not (``none``) or must (``required``) call a tool;
a tool's name instead forces that tool."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _empty_object_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


class Tool(BaseModel):
    """A function the model may call; ``parameters`` is the JSON Schema of its arguments."""

    model_config = _FROZEN

    # The name rule OpenAI enforces; Ollama and llama.cpp accept a superset.
    name: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: StrictStr | None = None
    parameters: dict[str, Any] = Field(default_factory=_empty_object_schema)

    def function_spec(self) -> dict[str, Any]:
        """The ``{"type": "function", ...}`` entry Ollama and OpenAI-style servers both read."""
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description is not None:
            function["description"] = self.description
        return {"type": "function", "function": function}


class ToolCall(BaseModel):
    """A call the model asked for.

    ``arguments_json`` is the arguments as JSON text, exactly as the server
    sent them (encoded, for servers that send an object); ``arguments`` is
    that text parsed, or ``None`` when it is not a JSON object.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: dict[str, Any] | None
    arguments_json: str
    id: str | None = None

    @classmethod
    def from_wire(cls, *, name: str, arguments: object, id: str | None = None) -> ToolCall:
        """A call from what a server sent: arguments as JSON text or as an object.

        Empty text counts as no arguments (servers send ``""`` for a function
        without parameters); anything but text or an object is malformed.
        """
        if isinstance(arguments, dict):
            return cls(name=name, arguments=arguments, arguments_json=_encode(arguments), id=id)
        if not isinstance(arguments, str):
            raise ProtocolError(
                f"tool call {name!r} has arguments of type {type(arguments).__name__}, "
                "neither JSON text nor an object"
            )
        if not arguments.strip():
            return cls(name=name, arguments={}, arguments_json=arguments, id=id)
        try:
            parsed = json.loads(arguments)
        except (ValueError, RecursionError):
            parsed = None
        return cls(
            name=name,
            arguments=parsed if isinstance(parsed, dict) else None,
            arguments_json=arguments,
            id=id,
        )

    def wire_arguments(self) -> dict[str, Any]:
        """The arguments as an object (Ollama's form), ``{}`` when they were not one."""
        return self.arguments if self.arguments is not None else {}


def _encode(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
