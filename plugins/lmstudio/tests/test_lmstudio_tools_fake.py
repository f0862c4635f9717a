"""Function calling and reasoning end to end: the public client, the plugin, loopback fakes.

The fakes check what OpenAI checks (tool specs, ``tool_choice``, history with
text arguments and tool results that answer a call), so a round trip that
passes here sends bodies a real server accepts, in each flavour the plugin serves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from aegis_llm import AegisSettings, AsyncClient, Message, Tool
from aegis_llm.testing.fakes.openai import FakeOpenAI, Flavour

pytestmark = pytest.mark.anyio

CHAT_MODEL = "llama-3.2-3b-instruct"
WEATHER = Tool(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
FLAVOURS: tuple[Flavour, ...] = ("lmstudio", "llamacpp", "vllm", "openai")


@pytest.fixture(params=FLAVOURS)
def server(request: pytest.FixtureRequest) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(request.param, reasoning="let me see") as fake:
        yield fake
    assert fake.stats.errors == []


@pytest.fixture
async def llm(server: FakeOpenAI) -> AsyncIterator[AsyncClient]:
    providers = {"local": {"plugin": "lmstudio", "base_url": server.url}}
    settings = AegisSettings.model_construct(providers=providers, chain=("local",))
    async with AsyncClient(settings) as client:
        yield client


async def test_a_whole_round_trip_calls_then_answers(llm: AsyncClient) -> None:
    ask: list[Any] = [Message(role="user", content="Paris")]
    first = await llm.chat(ask, model=CHAT_MODEL, tools=[WEATHER])
    (call,) = first.tool_calls
    assert (call.name, call.arguments, first.finish_reason) == (
        "get_weather",
        {"city": "Paris"},
        "tool_calls",
    )
    assert call.id
    assert (first.content, first.reasoning) == ("", "let me see")
    history = [
        *ask,
        Message(role="assistant", content=first.content, tool_calls=first.tool_calls),
        Message(role="tool", content="sunny", tool_call_id=call.id, name=call.name),
    ]
    second = await llm.chat(history, model=CHAT_MODEL, tools=[WEATHER])
    assert second.tool_calls == ()
    assert second.finish_reason == "stop"
    assert second.content


async def test_a_streamed_call_matches_the_whole_one(llm: AsyncClient) -> None:
    whole = await llm.chat("Paris", model=CHAT_MODEL, tools=[WEATHER], tool_choice="get_weather")
    stream = llm.stream_chat("Paris", model=CHAT_MODEL, tools=[WEATHER], tool_choice="required")
    collected = await stream.collect()
    assert stream.reasoning == "let me see"
    assert collected.finish_reason == "tool_calls"
    assert [(c.name, c.arguments_json) for c in collected.tool_calls] == [
        (c.name, c.arguments_json) for c in whole.tool_calls
    ]
    assert collected.reasoning == whole.reasoning == "let me see"


async def test_tool_choice_none_gets_text(llm: AsyncClient) -> None:
    reply = await llm.chat("Paris", model=CHAT_MODEL, tools=[WEATHER], tool_choice="none")
    assert (reply.tool_calls, reply.finish_reason) == ((), "stop")
    assert reply.content


async def test_scripted_broken_arguments_survive_both_paths() -> None:
    with FakeOpenAI("lmstudio", tool_calls=[("get_weather", '{"city": Par')]) as server:
        providers = {"local": {"plugin": "lmstudio", "base_url": server.url}}
        settings = AegisSettings.model_construct(providers=providers, chain=("local",))
        async with AsyncClient(settings) as llm:
            whole = await llm.chat("x", model=CHAT_MODEL, tools=[WEATHER])
            streamed = await llm.stream_chat("x", model=CHAT_MODEL, tools=[WEATHER]).collect()
    for reply in (whole, streamed):
        (call,) = reply.tool_calls
        assert (call.arguments, call.arguments_json) == (None, '{"city": Par')
