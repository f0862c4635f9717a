"""Function calling in the core: what a request may offer, and how calls come back.

The wire forms differ per server (PROTOCOLS.md quirk 12); these tests pin the
normalised types every plugin returns, and the checks made before any I/O.
"""

from __future__ import annotations

from typing import Any

import pytest

from aegis_llm import (
    AegisSettings,
    Capability,
    ChatChunk,
    ChatOptions,
    ChatRequest,
    ChatResponse,
    PluginHost,
    ProviderContext,
    ProviderInfo,
    ProviderSettings,
    Tool,
    ToolCall,
    hookimpl,
)
from aegis_llm._client import AsyncClient
from aegis_llm.errors import AllProvidersFailed, InvalidRequest, ProtocolError

pytestmark = pytest.mark.anyio

WEATHER = Tool(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def test_a_tool_is_sent_as_a_function_spec() -> None:
    assert WEATHER.function_spec() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    bare = Tool(name="now").function_spec()["function"]
    assert bare == {"name": "now", "parameters": {"type": "object", "properties": {}}}


@pytest.mark.parametrize(
    ("arguments", "parsed", "text"),
    [
        ({"city": "Paris"}, {"city": "Paris"}, '{"city":"Paris"}'),  # Ollama: an object
        ('{"city": "Paris"}', {"city": "Paris"}, '{"city": "Paris"}'),  # OpenAI: text
        ("", {}, ""),  # no parameters
        ('{"city": "Par', None, '{"city": "Par'),  # a model that wrote broken JSON
        ("[1, 2]", None, "[1, 2]"),  # JSON, but not an object
    ],
)
def test_tool_call_arguments_from_either_wire_form(
    arguments: object, parsed: dict[str, Any] | None, text: str
) -> None:
    call = ToolCall.from_wire(name="get_weather", arguments=arguments, id="c1")
    assert (call.name, call.id, call.arguments, call.arguments_json) == (
        "get_weather",
        "c1",
        parsed,
        text,
    )
    assert call.wire_arguments() == (parsed or {})


def test_tool_call_arguments_of_another_type_are_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="neither JSON text nor an object"):
        ToolCall.from_wire(name="f", arguments=42)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"tool_choice": "auto"}, "tool_choice without tools"),
        ({"tools": [WEATHER], "tool_choice": "other"}, "not among the tools offered"),
        ({"tools": [WEATHER, WEATHER]}, "share a name"),
        ({"tools": [{"name": "has space"}]}, "tools.0.name"),
    ],
)
async def test_bad_tool_options_fail_before_any_provider(
    options: dict[str, Any], problem: str
) -> None:
    plugin = _Recorder(tools=True)
    async with _client(plugin) as llm:
        with pytest.raises(InvalidRequest, match=problem):
            await llm.chat("hi", model="m", **options)
    assert plugin.requests == []


def test_only_assistant_turns_carry_tool_calls() -> None:
    call = ToolCall.from_wire(name="f", arguments="{}")
    with pytest.raises(ValueError, match="only assistant turns"):
        ChatRequest(model="m", messages=({"role": "user", "content": "x", "tool_calls": [call]},))


async def test_tools_reach_a_provider_that_declares_them_and_calls_come_back() -> None:
    plugin = _Recorder(tools=True)
    async with _client(plugin) as llm:
        reply = await llm.chat("weather?", model="m", tools=[WEATHER], tool_choice="get_weather")
    (request,) = plugin.requests
    assert request.options.tools == (WEATHER,)
    assert request.options.tool_choice == "get_weather"
    assert reply.tool_calls == (_CALL,)
    assert reply.finish_reason == "tool_calls"


async def test_a_provider_without_the_tools_capability_is_skipped_not_ignored() -> None:
    plugin = _Recorder(tools=False)
    async with _client(plugin) as llm:
        with pytest.raises(AllProvidersFailed) as caught:
            await llm.chat("weather?", model="m", tools=[WEATHER])
        with pytest.raises(AllProvidersFailed):
            await llm.stream_chat("weather?", model="m", tools=[WEATHER]).collect()
        assert (await llm.chat("no tools", model="m")).content == "plain"
    (attempt,) = caught.value.attempts
    assert (attempt.outcome, attempt.error_type) == ("skipped", "Unsupported")
    assert "tools" in (attempt.error or "")
    assert len(plugin.requests) == 1, "only the call without tools reached the plugin"


async def test_a_stream_collects_reasoning_and_the_final_tool_calls() -> None:
    plugin = _Recorder(tools=True)
    async with _client(plugin) as llm:
        stream = llm.stream_chat("weather?", model="m", tools=[WEATHER])
        chunks = [chunk async for chunk in stream]
    assert [c.reasoning for c in chunks] == ["let me ", "think", "", ""]
    assert stream.reasoning == "let me think"
    reply = ChatResponse(
        content=stream.text,
        provider="recorder",
        model="m",
        tool_calls=chunks[-1].tool_calls,
    )
    assert reply.tool_calls == (_CALL,)


async def test_collect_keeps_tool_calls_and_reasoning() -> None:
    plugin = _Recorder(tools=True)
    async with _client(plugin) as llm:
        reply = await llm.stream_chat("weather?", model="m", tools=[WEATHER]).collect()
    assert (reply.content, reply.reasoning, reply.tool_calls) == ("ok", "let me think", (_CALL,))


def test_declaring_tools_without_chat_is_an_invalid_plugin() -> None:
    host = PluginHost(AegisSettings.load(), discover=False)
    status = host.register(_EmbedOnlyWithTools(), "embedder")
    assert status.status != "loaded"
    assert "tools but neither chat nor stream" in (status.error or "")


_CALL = ToolCall.from_wire(name="get_weather", arguments='{"city": "Paris"}', id="call_1")


class _Recorder:
    """A provider that records requests and answers with a tool call when tools are offered."""

    def __init__(self, *, tools: bool) -> None:
        self.requests: list[ChatRequest] = []
        self._capabilities = {Capability.CHAT, Capability.STREAM}
        if tools:
            self._capabilities.add(Capability.TOOLS)

    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        return ProviderInfo(
            name="recorder",
            version="1",
            capabilities=frozenset(self._capabilities),
            settings_class=ProviderSettings,
        )

    @hookimpl
    async def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        if not request.options.tools:
            return ChatResponse(content="plain", provider=ctx.name, model=request.model)
        return ChatResponse(
            content="",
            provider=ctx.name,
            model=request.model,
            finish_reason="tool_calls",
            tool_calls=(_CALL,),
        )

    @hookimpl
    def aegis_llm_stream_chat(self, ctx: ProviderContext, request: ChatRequest) -> Any:
        self.requests.append(request)

        async def chunks() -> Any:
            for reasoning in ("let me ", "think"):
                yield ChatChunk(reasoning=reasoning, provider=ctx.name, model=request.model)
            yield ChatChunk(content="ok", provider=ctx.name, model=request.model)
            yield ChatChunk(
                provider=ctx.name,
                model=request.model,
                done=True,
                finish_reason="tool_calls",
                tool_calls=(_CALL,),
            )

        return chunks()


class _EmbedOnlyWithTools:
    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        return ProviderInfo(
            name="embedder",
            version="1",
            capabilities=frozenset({Capability.TOOLS}),
            settings_class=ProviderSettings,
        )


def _client(plugin: object) -> AsyncClient:
    settings = AegisSettings.load(chain=["recorder"])
    host = PluginHost(settings, discover=False)
    host.register(plugin, "recorder")
    return AsyncClient(settings, host=host)


def test_an_assistant_turn_of_only_calls_needs_no_content() -> None:
    call = ToolCall.from_wire(name="f", arguments="{}", id="c")
    request = ChatRequest(
        model="m",
        messages=(
            {"role": "user", "content": "x"},
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "content": "42", "tool_call_id": "c"},
        ),
    )
    assert request.messages[1].content == ""
    assert request.messages[1].tool_calls == (call,)


def test_options_default_to_no_tools() -> None:
    assert ChatOptions().tools == ()
    assert ChatOptions().tool_choice is None
