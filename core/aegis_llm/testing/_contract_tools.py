"""Contract tests for function calling: offering tools, streaming calls, sending results back.

Kept beside the main contract (whose class inherits these) so each file stays
readable; the tests are registered, switched by the ``tools`` capability and
listed in the guide like every other. They offer one tool with a simple schema
to ``harness.tools_model()`` (``tools_model``, else ``chat_model``). The model
may answer in text or with calls; the suite checks whichever it gets, so a
plugin's fake server needs no script. The core refuses tools for a provider
that does not declare the capability (``Unsupported``, recorded as a skipped
attempt) before any hook runs; tests/core covers that, for every plugin at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from aegis_llm import (
    Capability,
    ChatChunk,
    ChatOptions,
    ChatRequest,
    ChatResponse,
    Message,
    Provider,
    Tool,
    ToolCall,
    Usage,
)
from aegis_llm.errors import AegisLLMError
from aegis_llm.testing._checks import (
    ContractViolation,
    check_tool_answer,
    check_tool_calls,
    check_tool_stream,
    require,
)
from aegis_llm.testing._harness import ContractHarness
from aegis_llm.testing._registry import contract_test

__all__ = ["CONTRACT_TOOL", "ToolsContract"]

_T = TypeVar("_T")

CONTRACT_TOOL: Final = Tool(
    name="get_weather",
    description="The current weather in a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city's name."}},
        "required": ["city"],
    },
)
"""The one tool every tools test offers."""

TOOL_PROMPT: Final = "What is the weather in Paris right now? Use get_weather."
TOOL_RESULT: Final = '{"city": "Paris", "temperature_c": 21, "sky": "clear"}'
_OFFERED: Final = (CONTRACT_TOOL.name,)
_DETERMINISTIC: Final = {"temperature": 0.0, "seed": 7}
"""As test_stream_joins_to_chat_text: the same request must give the same answer twice."""


class ToolsContract:
    """The function-calling part of ``ProviderContract`` (subclass that, not this)."""

    @contract_test(
        "Send ChatOptions.tools as the server's tool specs and map the calls it returns to "
        "ToolCall(name=..., arguments_json=<JSON text>) with finish_reason='tool_calls'.",
        requires=frozenset({Capability.TOOLS, Capability.CHAT}),
    )
    def test_tools_chat_well_formed(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        reply = _answer(harness, "chat", harness.provider().chat, _offer(harness))
        check_tool_answer(reply, _OFFERED, harness.instance)

    @contract_test(
        "Reassemble streamed tool calls (argument fragments keyed by index) and yield them "
        "whole on the final done chunk only, equal to the calls chat returns.",
        requires=frozenset({Capability.TOOLS, Capability.STREAM}),
    )
    def test_tools_stream_calls_on_final_chunk(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        request = _offer(harness)
        chunks = _answer(harness, "stream_chat", _collect, harness.provider(), request)
        check_tool_stream(chunks, _OFFERED, harness.instance)
        if Capability.CHAT not in harness.info.capabilities:
            return
        whole = _answer(harness, "chat", harness.provider().chat, request).tool_calls
        streamed, answered = _comparable(chunks[-1].tool_calls), _comparable(whole)
        require(
            streamed == answered,
            f"the stream's calls are {streamed}, chat's calls for the same request "
            f"are {answered} (name, arguments_json)",
        )

    @contract_test(
        "Send assistant turns' tool_calls and tool turns (tool_call_id, name, content) in the "
        "server's history form: arguments as the server wants them, each result after its call.",
        requires=Capability.TOOLS,
    )
    def test_tools_result_round_trip(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        first = _reply(harness, _offer(harness))
        calls = first.tool_calls or (
            ToolCall.from_wire(
                name=CONTRACT_TOOL.name, arguments={"city": "Paris"}, id="call_contract_0"
            ),
        )
        history = (
            Message(role="user", content=TOOL_PROMPT),
            Message(role="assistant", content=first.content, tool_calls=calls),
            *(
                Message(role="tool", content=TOOL_RESULT, tool_call_id=call.id, name=call.name)
                for call in calls
            ),
        )
        second = _reply(harness, _offer(harness, history))
        check_tool_answer(second, _OFFERED, harness.instance)


def _offer(harness: ContractHarness, messages: tuple[Message, ...] | None = None) -> ChatRequest:
    return ChatRequest(
        model=harness.tools_model(),
        messages=messages or (Message(role="user", content=TOOL_PROMPT),),
        options=ChatOptions(tools=(CONTRACT_TOOL,), **_DETERMINISTIC),
    )


def _reply(harness: ContractHarness, request: ChatRequest) -> ChatResponse:
    """The whole answer: from chat, or for a stream-only provider from its stream."""
    if Capability.CHAT in harness.info.capabilities:
        return _answer(harness, "chat", harness.provider().chat, request)
    chunks = _answer(harness, "stream_chat", _collect, harness.provider(), request)
    check_tool_stream(chunks, _OFFERED, harness.instance)
    last = chunks[-1]
    return ChatResponse(
        content="".join(chunk.content for chunk in chunks),
        provider=last.provider,
        model=last.model,
        finish_reason=last.finish_reason,
        usage=last.usage or Usage(),
        tool_calls=last.tool_calls,
    )


def _answer(
    harness: ContractHarness, hook: str, function: Callable[..., Awaitable[_T]], *args: Any
) -> _T:
    """``function(*args)``, which must succeed: the server answered normally."""

    async def outcome() -> _T | BaseException:
        try:
            return await function(*args)
        except Exception as exc:  # noqa: BLE001 - the check reports any class
            return exc

    result = harness.call(outcome)
    if isinstance(result, AegisLLMError):
        raise ContractViolation(
            f"{hook} with tools offered raised {type(result).__name__}: {result}; the server "
            "answered normally"
        ) from result
    if isinstance(result, BaseException):
        raise ContractViolation(
            f"{hook} with tools offered raised {type(result).__name__}: {result}; plugins "
            "must raise aegis_llm.errors classes, and this request deserves an answer"
        ) from result
    return result


async def _collect(provider: Provider, request: ChatRequest) -> list[ChatChunk]:
    return [chunk async for chunk in provider.stream_chat(request)]


def _comparable(calls: tuple[ToolCall, ...]) -> list[tuple[str, str]]:
    """What two answers to one request share; ids may be minted per response."""
    check_tool_calls(calls, _OFFERED, "the calls compared")
    return [(call.name, call.arguments_json) for call in calls]
