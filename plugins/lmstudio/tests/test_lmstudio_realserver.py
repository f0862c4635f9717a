"""The plugin against a real llama.cpp server (the engine inside LM Studio), end to end.

The model is a few hundred kilobytes of random weights written for the session, so its
text is noise: these tests assert on structure and on what the protocol guarantees
(temperature 0 repeats itself, a JSON grammar starts with ``{``), never on content.
The server handles one request at a time; every answer is a few tokens long.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from lmstudio_llama_server import LlamaServer, require_real_server_tools

from aegis_llm import AegisSettings, AsyncClient, ChatRequest, EmbedRequest, Message, Provider, Tool
from aegis_llm.errors import (
    AuthenticationError,
    InvalidRequest,
    ProviderError,
    Unsupported,
)

pytestmark = pytest.mark.anyio

ALIAS = "tiny-chat"
KEY = "real-server-key-0451"
SAME = {"temperature": 0.0, "seed": 7, "max_tokens": 6}


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    require_real_server_tools()
    from tiny_gguf import write_tiny_gguf  # needs gguf: imported once the check passed

    folder = tmp_path_factory.mktemp("llama")
    model = write_tiny_gguf(folder / "tiny.gguf")
    with LlamaServer(model, api_key=KEY, alias=ALIAS, log=folder / "server.log") as server:
        yield server


@pytest.fixture
async def llama(llama_server: LlamaServer) -> AsyncIterator[Provider]:
    """The server as a user would configure it: its own instance name, URL with /v1, a key."""
    async with _client(llama_server, api_key=KEY) as client:
        yield client.provider("llamacpp")


def _client(server: LlamaServer, **settings: Any) -> AsyncClient:
    table = {"plugin": "lmstudio", "base_url": f"{server.url}/v1", **settings}
    return AsyncClient(AegisSettings.model_construct(providers={"llamacpp": table}))


def ask(text: str = "Hello there", model: str = ALIAS, **options: Any) -> ChatRequest:
    return ChatRequest.model_validate(
        {"model": model, "messages": [{"role": "user", "content": text}], "options": options}
    )


def texts(*inputs: str, **fields: Any) -> EmbedRequest:
    return EmbedRequest.model_validate({"model": ALIAS, "inputs": inputs, **fields})


async def test_models_and_health(llama: Provider) -> None:
    [model] = await llama.list_models()
    report = await llama.health()
    assert (model.id, model.provider) == (ALIAS, "llamacpp")
    assert (report.status, report.provider, report.details) == (
        "up",
        "llamacpp",
        {"api": "openai", "models": 1},
    )


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_chat_and_stream_agree_at_temperature_zero(llama: Provider) -> None:
    reply = await llama.chat(ask(**SAME))
    chunks = [chunk async for chunk in llama.stream_chat(ask(**SAME))]
    assert (reply.provider, reply.finish_reason) == ("llamacpp", "length")
    assert reply.usage.completion_tokens is not None
    assert reply.usage.completion_tokens >= 1
    assert "".join(c.content for c in chunks) == reply.content
    assert [c.done for c in chunks].count(True) == 1
    assert chunks[-1].done
    assert chunks[-1].finish_reason == "length"


async def test_json_mode_constrains_the_output(llama: Provider) -> None:
    reply = await llama.chat(ask(response_format="json", max_tokens=3, temperature=0.0))
    assert reply.content.startswith("{")


async def test_embeddings_keep_input_order(llama: Provider) -> None:
    both = await llama.embed(texts("first text", "second text"))
    alone = await llama.embed(texts("second text"))
    assert (both.dimensions, both.provider, len(both.vectors)) == (64, "llamacpp", 2)
    assert both.vectors[1] == pytest.approx(alone.vectors[0])
    assert both.vectors[0] != pytest.approx(both.vectors[1])


async def test_an_unknown_model_name_is_served_by_the_only_model(llama: Provider) -> None:
    """llama.cpp serves one model whatever `model` says (LM Studio does too with one loaded)."""
    reply = await llama.chat(ask(model="no-such-model", max_tokens=2))
    assert reply.provider == "llamacpp"
    assert reply.finish_reason in ("length", "stop")


async def test_errors_from_the_real_server(llama: Provider, llama_server: LlamaServer) -> None:
    with pytest.raises(InvalidRequest, match="maximum context length"):
        await llama.chat(ask("hello " * 400, max_tokens=2))
    with pytest.raises(ProviderError, match="dimensions"):
        await llama.embed(texts("a", dimensions=8))
    with pytest.raises(Unsupported):
        await llama.load_model(ALIAS)
    async with _client(llama_server, api_key="wrong-key-1234") as client:
        wrong = client.provider("llamacpp")
        with pytest.raises(AuthenticationError) as refused:
            await wrong.chat(ask(max_tokens=2))
        report = await wrong.health()
    assert "wrong-key-1234" not in str(refused.value)
    assert "AEGIS_LLM_LLAMACPP_API_KEY" in str(refused.value)
    assert (report.status, report.reason) == ("down", "auth")


WEATHER = Tool(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.mark.parametrize("choice", [None, "auto", "none", "required"])
async def test_offered_tools_are_answered_in_text_unless_one_is_forced(
    llama: Provider, choice: str | None
) -> None:
    """llama-cpp-python's server (in its default chat format) takes the tools and ignores
    them unless ``tool_choice`` names one: an answer in text, no error, no calls."""
    reply = await llama.chat(ask(tools=[WEATHER], tool_choice=choice, **SAME))
    chunks = [chunk async for chunk in llama.stream_chat(ask(tools=[WEATHER], **SAME))]
    assert (reply.tool_calls, reply.finish_reason) == ((), "length")
    assert reply.content
    assert (chunks[-1].tool_calls, chunks[-1].finish_reason) == ((), "length")


async def test_a_forced_tool_is_really_called_whole_and_streamed(llama: Provider) -> None:
    """Naming a tool makes the server constrain the output to its arguments' grammar: real
    calls, streamed as fragments that repeat the id and name each time. Six tokens cut the
    arguments short, so the call keeps them as text (``arguments`` is None), not an error."""
    forced = ask(tools=[WEATHER], tool_choice="get_weather", **SAME)
    reply = await llama.chat(forced)
    chunks = [chunk async for chunk in llama.stream_chat(forced)]
    (call,) = reply.tool_calls
    (streamed,) = chunks[-1].tool_calls
    assert (reply.content, reply.finish_reason, call.name) == ("", "tool_calls", "get_weather")
    assert call.arguments_json.startswith("{")
    assert call.arguments is None
    assert call.id
    assert (streamed.name, streamed.arguments_json) == (call.name, call.arguments_json)
    assert chunks[-1].finish_reason == "tool_calls"
    history = [
        Message(role="user", content="Hello there"),
        Message(role="assistant", content="", tool_calls=(call,)),
        Message(role="tool", content="sunny", tool_call_id=call.id, name=call.name),
    ]
    options = {"tools": [WEATHER], **SAME}
    followup = await llama.chat(
        ChatRequest.model_validate({"model": ALIAS, "messages": history, "options": options})
    )
    assert followup.tool_calls == ()
    assert followup.content


def test_the_tiny_model_is_reproducible(tmp_path: Path) -> None:
    require_real_server_tools()
    from tiny_gguf import write_tiny_gguf

    first = write_tiny_gguf(tmp_path / "a.gguf").read_bytes()
    second = write_tiny_gguf(tmp_path / "b.gguf").read_bytes()
    assert first == second
    assert first[:4] == b"GGUF"


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_missing_llama_cpp_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "llama_cpp" else real_find_spec(name, *args),
    )
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="llama_cpp"):
        require_real_server_tools()
