"""Tool calls out of OpenAI-style answers: whole in a message, or in fragments across a stream.

A whole answer carries each call complete; a stream sends a call's id, type
and name in its first fragment and then appends pieces of its ``arguments``
text, fragments of one call sharing an ``index`` (PROTOCOLS.md §0, quirk 12).
A caller gets whole calls either way. Arguments that are not valid JSON are
the model's mistake and are kept as text (``ToolCall.from_wire``); a fragment
the plugin cannot place, or a call that never got a name, is the server's
and raises ``ProtocolError``.
"""

from __future__ import annotations

from typing import Any

from aegis_llm import FinishReason, ToolCall
from aegis_llm.errors import ProtocolError

__all__ = ["CallFragments", "calls_in", "finish_with_calls", "reasoning_in"]


def calls_in(message: dict[str, Any]) -> tuple[ToolCall, ...]:
    """The calls of a whole answer's ``message`` (none when it has no ``tool_calls``)."""
    raw = message.get("tool_calls")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtocolError("the answer's tool_calls is not a list")
    return tuple(_whole(item) for item in raw)


def reasoning_in(holder: dict[str, Any], what: str) -> str | None:
    """A message's or delta's reasoning text: LM Studio's ``reasoning`` (gpt-oss), else the
    ``reasoning_content`` of llama.cpp and DeepSeek-style servers.

    One is taken, never both: a server that sends the text under both names
    (vLLM has, while renaming one to the other) would otherwise say it twice.
    """
    value = holder.get("reasoning") or holder.get("reasoning_content")
    if value is None or isinstance(value, str):
        return value or None
    raise ProtocolError(f"{what} has reasoning that is not text")


def finish_with_calls(
    reason: FinishReason | None, calls: tuple[ToolCall, ...]
) -> FinishReason | None:
    """``tool_calls`` for an answer that made calls but ended "normally".

    Some servers end such an answer with ``stop`` (or no reason at all); the
    SDK promises ``tool_calls`` then, so a caller can branch on it alone.
    ``length`` and the rest are kept: they say more (arguments cut short).
    """
    if calls and reason in (None, "stop"):
        return "tool_calls"
    return reason


class CallFragments:
    """The calls of one stream, assembled fragment by fragment, keyed by ``index``."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}

    def add(self, fragments: object) -> None:
        """Take one delta's ``tool_calls`` list."""
        if not isinstance(fragments, list):
            raise ProtocolError("a stream event's tool_calls is not a list")
        for fragment in fragments:
            if not isinstance(fragment, dict):
                raise ProtocolError("a stream event has a tool call fragment that is not an object")
            index = fragment.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                raise ProtocolError("a tool call fragment has no integer index")
            partial = self._calls.get(index)
            if partial is None:
                partial = self._calls[index] = _Partial()
            partial.add(fragment)

    def calls(self) -> tuple[ToolCall, ...]:
        """The whole calls, in index order, once the stream has ended."""
        return tuple(self._calls[index].call(index) for index in sorted(self._calls))


class _Partial:
    """One call so far: the first id and name seen, and the argument pieces in order."""

    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id: str | None = None
        self.name: str | None = None
        self.arguments: list[str] = []

    def add(self, fragment: dict[str, Any]) -> None:
        call_id = fragment.get("id")
        if call_id is not None:
            if not isinstance(call_id, str):
                raise ProtocolError("a tool call fragment has an id that is not text")
            self.id = self.id or call_id or None
        function = fragment.get("function")
        if function is None:  # a fragment with only the id and type
            return
        if not isinstance(function, dict):
            raise ProtocolError("a tool call fragment has a function that is not an object")
        name = function.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise ProtocolError("a tool call fragment has a name that is not text")
            # Some servers repeat the name on every fragment: the first one counts.
            self.name = self.name or name or None
        arguments = function.get("arguments")
        if arguments is not None:
            if not isinstance(arguments, str):
                raise ProtocolError("a tool call fragment has arguments that are not text")
            self.arguments.append(arguments)

    def call(self, index: int) -> ToolCall:
        if self.name is None:
            raise ProtocolError(f"the stream's tool call {index} never got a function name")
        return ToolCall.from_wire(name=self.name, arguments="".join(self.arguments), id=self.id)


def _whole(item: object) -> ToolCall:
    if not isinstance(item, dict):
        raise ProtocolError("a tool call in the answer is not an object")
    function = item.get("function")
    if not isinstance(function, dict):
        raise ProtocolError("a tool call in the answer has no function object")
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise ProtocolError("a tool call in the answer has no function name")
    call_id = item.get("id")
    if call_id is not None and not isinstance(call_id, str):
        raise ProtocolError("a tool call in the answer has an id that is not text")
    # Absent arguments are none; text or an object (a lenient server's) both parse.
    arguments = function.get("arguments")
    if arguments is None:
        arguments = ""
    return ToolCall.from_wire(name=name, arguments=arguments, id=call_id or None)
