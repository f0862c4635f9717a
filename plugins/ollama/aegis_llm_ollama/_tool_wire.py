"""Function calling on Ollama's wire: the tools offered, calls sent back, calls received.

Ollama's native API (PROTOCOLS.md 1.3, quirk 12) takes the function specs
OpenAI-style servers take, but sends each call's ``arguments`` as a JSON
object, whole, and has no ``tool_choice``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aegis_llm import ChatOptions, ToolCall
from aegis_llm.errors import InvalidRequest, Unsupported
from aegis_llm_ollama._errors import malformed

__all__ = ["offered_tools", "refuse_typed_in_extra", "tool_call", "tool_calls"]

# Keys of ``extra`` that have typed fields in ``ChatOptions``. Passed raw they would
# dodge the core's checks (tool names, the tools capability) and, inside ``options``,
# be dropped by Ollama without a word; so they are refused and the hint names the field.
_TYPED_FIELDS = frozenset({"tools", "tool_choice"})


def tool_call(call: ToolCall) -> dict[str, Any]:
    """An earlier call sent back in history: arguments as an object, as Ollama emitted it.

    ``id`` goes along when the call had one (recent Ollama releases number their
    calls; older ones ignore the field).
    """
    wire: dict[str, Any] = {"function": {"name": call.name, "arguments": call.wire_arguments()}}
    if call.id is not None:
        wire["id"] = call.id
    return wire


def offered_tools(options: ChatOptions) -> list[dict[str, Any]] | None:
    """The ``tools`` field for the offered tools, honouring ``tool_choice`` as far as Ollama can.

    Ollama's native API has no ``tool_choice``: the model always decides. ``auto``
    is therefore what it does anyway, and ``none`` is kept by not offering the
    tools at all. Forcing a call (``required`` or a tool's name) cannot be
    expressed, and silently letting the model answer in text instead would
    break a caller that relies on the call; that is ``Unsupported`` before any
    I/O, so a chain moves on to a provider that can force it.
    """
    choice = options.tool_choice
    if not options.tools or choice == "none":
        return None
    if choice not in (None, "auto"):
        forced = "a tool call" if choice == "required" else f"a call to {choice!r}"
        raise Unsupported(
            f"Ollama cannot force {forced}: its native API has no tool_choice",
            hint="use tool_choice='auto' (the model decides) or a provider that honours "
            "tool_choice, such as LM Studio",
        )
    return [tool.function_spec() for tool in options.tools]


def refuse_typed_in_extra(extra: Mapping[str, Any]) -> None:
    clashing = sorted(_TYPED_FIELDS.intersection(extra))
    if clashing:
        key = clashing[0]
        raise InvalidRequest(
            f"extra {key!r} is not passed through to Ollama: it has a typed field",
            hint=f"pass {key}= to chat() (ChatOptions.{key}) instead of putting it in extra",
        )


def tool_calls(wire: object) -> tuple[ToolCall, ...]:
    """Ollama's ``tool_calls``: ``[{"id"?, "function": {"index"?, "name", "arguments"}}]``.

    ``arguments`` is a JSON object on Ollama; JSON text (what an OpenAI-style
    proxy might put there) is read too, and kept as text if it is not an object.
    A call without a name, or arguments of another kind, is malformed.
    """
    if type(wire) is not list:
        raise malformed("tool_calls", wire)
    return tuple(_tool_call(call) for call in wire)


def _tool_call(call: object) -> ToolCall:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise malformed("a tool call", call)
    function = call["function"]
    name = function.get("name")
    arguments = function.get("arguments")
    call_id = call.get("id")
    if (
        not isinstance(name, str)
        or not name
        or not isinstance(arguments, dict | str)
        or not isinstance(call_id, str | None)
    ):
        raise malformed("a tool call", call)
    return ToolCall.from_wire(name=name, arguments=arguments, id=call_id or None)
