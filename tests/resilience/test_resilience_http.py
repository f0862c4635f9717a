"""LM Studio → Ollama for real: the plugins over loopback HTTP against the fake servers.

These run on real time (sockets and the fakes' threads cannot share a virtual
clock), with waits of milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aegis_llm import AegisSettings, AsyncClient, Attempt
from aegis_llm.errors import StreamInterrupted
from aegis_llm.testing.fakes import (
    FakeOllama,
    FakeOpenAI,
    Fault,
    OllamaModel,
    OpenAIModel,
    refused_url,
)

pytestmark = pytest.mark.anyio

ALIASES = {"llama3.2-3b": {"lmstudio": "llama-3.2-3b-instruct", "ollama": "llama3.2:3b"}}
REPLY = "the same words from whichever server answers"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Real clocks: the fakes serve from their own threads."""
    return str(request.param)


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama([OllamaModel("llama3.2:3b", loaded=True)], reply=REPLY) as fake:
        yield fake


@pytest.fixture(scope="module")
def lmstudio() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("lmstudio", reply=REPLY) as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh(ollama: FakeOllama, lmstudio: FakeOpenAI) -> Iterator[None]:
    for fake in (ollama, lmstudio):
        fake.faults.clear()
        fake.stats.reset()
    yield
    for fake in (ollama, lmstudio):
        fake.faults.clear()


def _client(lmstudio_url: str, ollama_url: str) -> AsyncClient:
    settings = AegisSettings.load(chain=["lmstudio", "ollama"], retry={"backoff_initial": 0.01})
    urls: dict[str, dict[str, Any]] = {
        "lmstudio": {"base_url": lmstudio_url},
        "ollama": {"base_url": ollama_url},
    }
    return AsyncClient(settings, provider_settings=urls, aliases=ALIASES)


def _chats(fake: FakeOllama | FakeOpenAI) -> int:
    return sum(exchange.request.method == "POST" for exchange in fake.stats.history)


async def test_lm_studio_down_fails_over_to_ollama_with_its_own_model_id(
    ollama: FakeOllama,
) -> None:
    async with _client(refused_url(), ollama.url) as llm:
        reply = await llm.chat("hello", model="llama3.2-3b")
    assert (reply.content, reply.provider, reply.model) == (REPLY, "ollama", "llama3.2:3b")
    refused, served = reply.attempts
    assert (refused.provider, refused.error_type, refused.retries) == (
        "lmstudio",
        "ProviderUnavailable",
        0,
    )
    assert (served.provider, served.outcome) == ("ollama", "success")


async def test_a_429_with_retry_after_ms_is_retried_on_the_same_server(
    lmstudio: FakeOpenAI, ollama: FakeOllama
) -> None:
    lmstudio.faults.add(Fault.rate_limited(None, retry_after_ms=30), method="POST", times=1)
    async with _client(lmstudio.url, ollama.url) as llm:
        reply = await llm.chat("hello", model="llama3.2-3b")
    assert (reply.provider, reply.attempts[0].retries) == ("lmstudio", 1)
    assert reply.attempts[0].duration_seconds >= 0.03
    assert _chats(ollama) == 0


async def test_a_stream_broken_after_text_is_not_finished_by_ollama(
    lmstudio: FakeOpenAI, ollama: FakeOllama
) -> None:
    lmstudio.faults.add(Fault.error_mid_stream(after_chunks=2), method="POST", times=1)
    received: list[str] = []

    async def read(llm: AsyncClient) -> None:
        async for chunk in llm.stream_chat("hello", model="llama3.2-3b"):
            received.append(chunk.content)

    async with _client(lmstudio.url, ollama.url) as llm:
        with pytest.raises(StreamInterrupted) as caught:
            await read(llm)
    assert received
    assert caught.value.partial == "".join(received)
    assert REPLY.startswith(caught.value.partial)
    assert _chats(ollama) == 0


async def test_a_stream_failing_before_any_text_fails_over(
    lmstudio: FakeOpenAI, ollama: FakeOllama
) -> None:
    lmstudio.faults.add(Fault.error(500, "model crashed"), method="POST")
    async with _client(lmstudio.url, ollama.url) as llm:
        chunks = [chunk async for chunk in llm.stream_chat("hello", model="llama3.2-3b")]
    assert "".join(c.content for c in chunks) == REPLY
    assert {c.provider for c in chunks} == {"ollama"}
    attempts = chunks[-1].attempts
    assert [(a.provider, a.retries) for a in attempts] == [("lmstudio", 2), ("ollama", 0)]


async def _chat_once(llm: AsyncClient, streamed: bool) -> tuple[str, str, tuple[Attempt, ...]]:
    """Text, provider and attempts of one chat, whole or streamed."""
    if not streamed:
        reply = await llm.chat("hello", model="llama3.2-3b")
        return reply.content, reply.provider, reply.attempts
    chunks = [chunk async for chunk in llm.stream_chat("hello", model="llama3.2-3b")]
    return "".join(c.content for c in chunks), chunks[-1].provider, chunks[-1].attempts


def _declined_for_lacking(attempt: Attempt, provider: str, model: str, words: str) -> None:
    assert (attempt.provider, attempt.model, attempt.outcome, attempt.error_type) == (
        provider,
        model,
        "declined",
        "Unsupported",
    )
    assert attempt.retries == 0
    assert attempt.error is not None
    assert words in attempt.error


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_model_that_cannot_chat_on_ollama_fails_over_to_lm_studio(
    lmstudio: FakeOpenAI, streamed: bool
) -> None:
    # Ollama's 400 '"<model>" does not support chat' is about its model, not the
    # request: InvalidRequest would stop the chain, Unsupported moves it on.
    embedder = OllamaModel("llama3.2:3b", capabilities=("embedding",))
    settings = AegisSettings.load(chain=["ollama", "lmstudio"])
    with FakeOllama([embedder], reply=REPLY) as ollama:
        urls = {"ollama": {"base_url": ollama.url}, "lmstudio": {"base_url": lmstudio.url}}
        async with AsyncClient(settings, provider_settings=urls, aliases=ALIASES) as llm:
            content, provider, attempts = await _chat_once(llm, streamed)
        assert _chats(ollama) == 1  # not repeated: the model will not learn to chat
    assert (content, provider) == (REPLY, "lmstudio")
    declined, served = attempts
    _declined_for_lacking(declined, "ollama", "llama3.2:3b", "does not support chat")
    assert (served.provider, served.outcome) == ("lmstudio", "success")


@pytest.mark.parametrize("streamed", [False, True])
async def test_an_embedding_model_asked_to_chat_on_lm_studio_fails_over_to_ollama(
    ollama: FakeOllama, streamed: bool
) -> None:
    embedder = OpenAIModel("llama-3.2-3b-instruct", kind="embeddings")
    with FakeOpenAI("lmstudio", [embedder], reply=REPLY) as lmstudio:
        async with _client(lmstudio.url, ollama.url) as llm:
            content, provider, attempts = await _chat_once(llm, streamed)
    assert (content, provider) == (REPLY, "ollama")
    declined, served = attempts
    _declined_for_lacking(declined, "lmstudio", "llama-3.2-3b-instruct", "is not a chat model")
    assert (served.provider, served.outcome) == ("ollama", "success")
