"""Function calling and thinking through the plugin, against the fake Ollama on loopback.

The fake answers as Ollama does (each call whole in one chunk before ``done``,
``done_reason: "stop"``, reasoning in ``message.thinking``), and the official
``ollama`` client reads it the same way (tests/fakes); these tests hold the
plugin to it, and to the core's promises: calls on the last chunk only,
``finish_reason`` ``tool_calls``, reasoning apart from the text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import pytest
from ollama_testkit import answer, context, ndjson

from aegis_llm import (
    AegisSettings,
    AsyncClient,
    Capability,
    ChatChunk,
    ChatOptions,
    ChatRequest,
    ChatResponse,
    Message,
    PluginHost,
    ProviderContext,
    ProviderInfo,
    ProviderSettings,
    ToolCall,
    hookimpl,
)
from aegis_llm.errors import AllProvidersFailed, ProtocolError, StreamInterrupted, Unsupported
from aegis_llm.testing import CONTRACT_TOOL
from aegis_llm.testing.fakes import FakeOllama, Fault, OllamaModel
from aegis_llm_ollama._chat import chat, stream_chat

pytestmark = pytest.mark.anyio

WEATHER = CONTRACT_TOOL  # the tool the contract suite offers: get_weather(city)
THINKER = OllamaModel("qwen3:latest", capabilities=("completion", "tools", "thinking"))
QUESTION = Message(role="user", content="weather in Paris?")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOllama]:
    models = [OllamaModel("llama3.2:latest", loaded=True), THINKER]
    with FakeOllama(models, reply="It is mild", think_tokens=3) as fake:
        yield fake


@pytest.fixture
async def ctx(server: FakeOllama) -> AsyncIterator[ProviderContext]:
    server.stats.reset()
    async with aclosing(context(base_url=server.url)) as opened:
        yield opened


def ask(*messages: Message, model: str = "llama3.2", **options: Any) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=messages or (QUESTION,),
        options=ChatOptions.model_validate(options),
    )


def sent(server: FakeOllama) -> Any:
    (exchange,) = server.stats.history
    return exchange.request.json()


EXPECTED_CALL = ToolCall(
    name="get_weather",
    arguments={"city": "example"},
    arguments_json='{"city":"example"}',
)


def same_call(found: ToolCall) -> bool:
    """The call the fake makes; its id is the fake's own, so only its shape is checked."""
    return found.model_copy(update={"id": None}) == EXPECTED_CALL and bool(found.id)


async def test_tools_go_out_and_a_whole_call_comes_back(
    server: FakeOllama, ctx: ProviderContext
) -> None:
    reply = await chat(ctx, ask(tools=[WEATHER]))
    assert sent(server)["tools"] == [WEATHER.function_spec()]
    (call,) = reply.tool_calls
    assert same_call(call)
    assert (reply.content, reply.finish_reason, reply.reasoning) == ("", "tool_calls", None)


async def test_a_streamed_call_arrives_on_the_done_chunk_only(ctx: ProviderContext) -> None:
    chunks = [chunk async for chunk in stream_chat(ctx, ask(tools=[WEATHER]))]
    # The call's own chunk carries no text, so nothing precedes the done chunk.
    assert [(c.done, len(c.tool_calls)) for c in chunks] == [(True, 1)]
    assert same_call(chunks[-1].tool_calls[0])
    assert chunks[-1].finish_reason == "tool_calls"


async def test_tool_choice_none_answers_in_text(server: FakeOllama, ctx: ProviderContext) -> None:
    reply = await chat(ctx, ask(tools=[WEATHER], tool_choice="none"))
    assert "tools" not in sent(server)
    assert (reply.content, reply.tool_calls, reply.finish_reason) == ("It is mild", (), "stop")


@pytest.mark.parametrize("choice", ["required", "get_weather"])
async def test_forcing_a_call_never_reaches_the_server(
    server: FakeOllama, ctx: ProviderContext, choice: str
) -> None:
    for attempt in (chat(ctx, ask(tools=[WEATHER], tool_choice=choice)), _drain(ctx, choice)):
        with pytest.raises(Unsupported, match="no tool_choice") as caught:
            await attempt
        assert caught.value.provider == "ollama"
    assert list(server.stats.history) == []


async def _drain(ctx: ProviderContext, choice: str) -> None:
    async for _ in stream_chat(ctx, ask(tools=[WEATHER], tool_choice=choice)):
        pass


async def test_the_call_and_its_result_round_trip(server: FakeOllama, ctx: ProviderContext) -> None:
    first = await chat(ctx, ask(tools=[WEATHER]))
    (call,) = first.tool_calls
    history = (
        QUESTION,
        Message(role="assistant", content=first.content, tool_calls=first.tool_calls),
        Message(role="tool", content="18°C", name=call.name, tool_call_id=call.id),
    )
    server.stats.reset()
    answer = await chat(ctx, ask(*history, tools=[WEATHER]))
    assert sent(server)["messages"][1:] == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "function": {"name": "get_weather", "arguments": {"city": "example"}},
                    "id": call.id,
                }
            ],
        },
        {"role": "tool", "content": "18°C", "tool_name": "get_weather", "tool_call_id": call.id},
    ]
    assert (answer.content, answer.tool_calls, answer.finish_reason) == ("It is mild", (), "stop")


async def test_thinking_whole_is_reasoning_apart_from_the_answer(ctx: ProviderContext) -> None:
    reply = await chat(ctx, ask(model="qwen3", extra={"think": True}))
    assert reply.content == "It is mild"
    assert reply.reasoning is not None
    assert len(reply.reasoning.split()) == 3
    plain = await chat(ctx, ask(model="qwen3"))
    assert plain.reasoning is None


async def test_thinking_streams_as_reasoning_chunks_before_the_text(ctx: ProviderContext) -> None:
    whole = await chat(ctx, ask(model="qwen3", extra={"think": True}))
    chunks = [c async for c in stream_chat(ctx, ask(model="qwen3", extra={"think": True}))]
    assert [(bool(c.reasoning), bool(c.content), c.done) for c in chunks] == [
        (True, False, False),
        (True, False, False),
        (True, False, False),
        (False, True, False),
        (False, True, False),
        (False, True, False),
        (False, False, True),
    ]
    assert "".join(c.reasoning for c in chunks) == whole.reasoning
    assert "".join(c.content for c in chunks) == whole.content


@pytest.mark.parametrize("after_chunks", [2, 4])
async def test_a_stream_broken_after_reasoning_keeps_the_reasoning_delivered(
    server: FakeOllama, ctx: ProviderContext, after_chunks: int
) -> None:
    # 2: mid-thought, no answer text yet; 4: all three reasoning chunks and one of text.
    server.faults.add(Fault.error_mid_stream(after_chunks, "runner crashed"), times=1)
    received: list[ChatChunk] = []

    async def read() -> None:
        async for chunk in stream_chat(ctx, ask(model="qwen3", extra={"think": True})):
            received.append(chunk)

    with pytest.raises(StreamInterrupted, match="runner crashed") as caught:
        await read()
    assert len(received) == after_chunks
    assert caught.value.partial_reasoning == "".join(c.reasoning for c in received)
    assert len(caught.value.partial_reasoning.split()) == min(after_chunks, 3)
    assert caught.value.partial == "".join(c.content for c in received)
    assert "partial_reasoning" in str(caught.value)


async def test_thinking_and_a_call_in_one_stream(ctx: ProviderContext) -> None:
    request = ask(model="qwen3", tools=[WEATHER], extra={"think": True})
    chunks = [c async for c in stream_chat(ctx, request)]
    assert [(bool(c.reasoning), c.done, len(c.tool_calls)) for c in chunks] == [
        (True, False, 0),
        (True, False, 0),
        (True, False, 0),
        (False, True, 1),
    ]


async def test_a_model_without_thinking_is_unsupported_so_a_chain_moves_on(
    ctx: ProviderContext,
) -> None:
    with pytest.raises(Unsupported, match="lacks thinking"):
        await chat(ctx, ask(extra={"think": True}))


class _Plain:
    """A chat provider without the tools capability."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        return ProviderInfo(
            name="plain",
            version="1",
            capabilities=frozenset({Capability.CHAT, Capability.STREAM}),
            settings_class=ProviderSettings,
        )

    @hookimpl
    async def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        return ChatResponse(content="plain", provider=ctx.name, model=request.model)

    @hookimpl
    def aegis_llm_stream_chat(self, ctx: ProviderContext, request: ChatRequest) -> Any:
        self.calls += 1

        async def chunks() -> AsyncIterator[ChatChunk]:
            yield ChatChunk(provider=ctx.name, model=request.model, done=True)

        return chunks()


def _client(server: FakeOllama, chain: list[str], plain: _Plain) -> AsyncClient:
    settings = AegisSettings.model_construct(chain=chain)
    host = PluginHost(settings)
    host.register(plain, "plain")
    return AsyncClient(settings, host=host, provider_settings={"ollama": {"base_url": server.url}})


async def test_a_chain_skips_a_provider_without_tools_for_ollama(server: FakeOllama) -> None:
    plain = _Plain()
    async with _client(server, ["plain", "ollama"], plain) as llm:
        reply = await llm.chat("weather in Paris?", model="llama3.2", tools=[WEATHER])
        streamed = await llm.stream_chat("weather?", model="llama3.2", tools=[WEATHER]).collect()
    assert plain.calls == 0
    assert reply.provider == streamed.provider == "ollama"
    assert [(a.provider, a.outcome, a.error_type) for a in reply.attempts] == [
        ("plain", "skipped", "Unsupported"),
        ("ollama", "success", None),
    ]
    assert len(reply.tool_calls) == len(streamed.tool_calls) == 1
    assert streamed.finish_reason == "tool_calls"


async def test_ollama_declines_a_forced_call_and_the_chain_moves_on(server: FakeOllama) -> None:
    plain = _Plain()
    async with _client(server, ["ollama", "plain"], plain) as llm:
        with pytest.raises(AllProvidersFailed) as caught:
            await llm.chat("weather?", model="llama3.2", tools=[WEATHER], tool_choice="required")
    # Ollama's plugin was called and refused; plain, lacking tools, was never called.
    assert [(a.provider, a.outcome) for a in caught.value.attempts] == [
        ("ollama", "declined"),
        ("plain", "skipped"),
    ]
    assert plain.calls == 0
    assert "no tool_choice" in (caught.value.attempts[0].error or "")


# Scripted answers: what the fake never sends.

THOUGHT = {"message": {"role": "assistant", "content": "", "thinking": "hmm"}, "done": False}
BROKEN_CALL = {
    "message": {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": ""}}]},
    "done": False,
}


async def test_a_broken_call_is_a_protocol_error_whole_and_streamed() -> None:
    whole = {**BROKEN_CALL, "done": True}
    async with aclosing(context(answer(whole))) as scripted:
        with pytest.raises(ProtocolError, match="a tool call") as caught:
            await chat(scripted, ask(tools=[WEATHER]))
    assert caught.value.provider == "ollama"
    async with aclosing(context(answer(ndjson(BROKEN_CALL)))) as scripted:
        with pytest.raises(ProtocolError, match="a tool call"):
            await _collect(scripted)


async def test_garbage_after_only_reasoning_is_interrupted_not_failed_over() -> None:
    # The caller has seen reasoning: failing over now would mix two models' answers.
    body = ndjson(THOUGHT) + b"{broken\n"
    async with aclosing(context(answer(body))) as scripted:
        with pytest.raises(StreamInterrupted) as caught:
            await _collect(scripted)
    assert (caught.value.partial, caught.value.partial_reasoning) == ("", "hmm")
    assert isinstance(caught.value.__cause__, ProtocolError)


async def test_calls_from_several_chunks_and_the_done_chunk_all_arrive_at_the_end() -> None:
    def calling(name: str, done: bool) -> dict[str, Any]:
        call = {"function": {"name": name, "arguments": {}}}
        message = {"role": "assistant", "content": "", "tool_calls": [call]}
        return {"message": message, "done": done, "done_reason": "stop"}

    text = {"message": {"role": "assistant", "content": "ok"}, "done": False}
    body = ndjson(calling("a", False), text, calling("b", False), calling("c", True))
    async with aclosing(context(answer(body))) as scripted:
        chunks = await _collect(scripted)
    assert [(c.content, [t.name for t in c.tool_calls]) for c in chunks] == [
        ("ok", []),
        ("", ["a", "b", "c"]),
    ]


async def _collect(ctx: ProviderContext) -> list[ChatChunk]:
    return [c async for c in stream_chat(ctx, ask(tools=[WEATHER]))]
