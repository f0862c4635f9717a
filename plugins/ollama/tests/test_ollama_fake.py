"""The plugin against the fake Ollama on a real loopback socket: framing, faults, old servers."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import anyio
import pytest
from ollama_testkit import context

from aegis_llm import (
    AegisSettings,
    AsyncClient,
    ChatChunk,
    ChatRequest,
    EmbedRequest,
    Message,
    ProviderContext,
)
from aegis_llm.errors import (
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    Unsupported,
)
from aegis_llm.testing.fakes import FakeOllama, Fault, OllamaModel, refused_url
from aegis_llm_ollama._chat import chat, stream_chat
from aegis_llm_ollama._embed import embed
from aegis_llm_ollama._server import health, list_models, pull

pytestmark = pytest.mark.anyio

REPLY = "Ünïcödé 🦙 answers are split across chunks: naïve café 日本"
BOTH_BACKENDS = pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOllama]:
    with FakeOllama(reply=REPLY) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeOllama) -> Iterator[FakeOllama]:
    server.faults.clear()
    server.stats.reset()
    yield server
    server.faults.clear()


@pytest.fixture
async def ctx(fake: FakeOllama) -> AsyncIterator[ProviderContext]:
    async with aclosing(context(base_url=fake.url)) as opened:
        yield opened


def ask(model: str = "llama3.2", text: str = "hello") -> ChatRequest:
    return ChatRequest(model=model, messages=(Message(role="user", content=text),))


async def chunks_of(ctx: ProviderContext, request: ChatRequest | None = None) -> list[ChatChunk]:
    return [chunk async for chunk in stream_chat(ctx, request or ask())]


@BOTH_BACKENDS
async def test_client_chats_and_streams_through_the_plugin(fake: FakeOllama) -> None:
    settings = AegisSettings.model_construct(chain=["ollama"])
    async with AsyncClient(settings, provider_settings={"ollama": {"base_url": fake.url}}) as llm:
        reply = await llm.chat("hello", model="llama3.2")
        streamed = [c async for c in llm.stream_chat("hello", model="llama3.2")]
    assert (reply.content, reply.provider) == (REPLY, "ollama")
    assert reply.usage.completion_tokens == len(REPLY.split())
    assert reply.usage.tokens_per_second is not None
    assert "".join(c.content for c in streamed) == REPLY
    assert streamed[-1].done
    assert streamed[-1].usage == reply.usage


async def test_a_trickling_server_splits_lines_and_characters_anywhere(
    fake: FakeOllama, ctx: ProviderContext
) -> None:
    fake.faults.add(Fault.trickle(3, 0.0001), path="/api/chat")
    chunks = await chunks_of(ctx)
    assert "".join(c.content for c in chunks) == REPLY
    assert chunks[-1].done


async def test_short_and_full_model_names_are_the_same_model(ctx: ProviderContext) -> None:
    short = await chat(ctx, ask("llama3.2"))
    full = await chat(ctx, ask("llama3.2:latest"))
    assert short.content == full.content == REPLY


async def test_streams_reuse_one_connection(fake: FakeOllama, ctx: ProviderContext) -> None:
    for _ in range(3):
        await chunks_of(ctx)
    assert fake.stats.connections_accepted == 1


async def test_error_mid_stream_is_interrupted_with_the_partial_text(
    fake: FakeOllama, ctx: ProviderContext
) -> None:
    fake.faults.add(Fault.error_mid_stream(after_chunks=3, message="runner crashed"))
    delivered: list[str] = []

    async def read() -> None:
        async for chunk in stream_chat(ctx, ask()):
            delivered.append(chunk.content)

    with pytest.raises(StreamInterrupted, match="runner crashed") as caught:
        await read()
    assert caught.value.partial == "".join(delivered)
    assert len(delivered) == 3


async def test_a_dropped_connection_after_text_is_interrupted(
    fake: FakeOllama, ctx: ProviderContext
) -> None:
    fake.faults.add(Fault.drop_after(400), path="/api/chat")
    with pytest.raises(StreamInterrupted) as caught:
        await chunks_of(ctx)
    assert caught.value.partial
    assert REPLY.startswith(caught.value.partial)


async def test_a_dropped_connection_before_text_is_a_protocol_error(
    fake: FakeOllama, ctx: ProviderContext
) -> None:
    fake.faults.add(Fault.drop_after(10), path="/api/chat")
    with pytest.raises(ProtocolError):
        await chunks_of(ctx)


async def test_garbage_line_inside_the_stream(fake: FakeOllama, ctx: ProviderContext) -> None:
    fake.faults.add(Fault.inject(2, b"<html>proxy error</html>\n", end_stream=True))
    with pytest.raises(StreamInterrupted, match="malformed JSON") as caught:
        await chunks_of(ctx)
    assert caught.value.partial == " ".join(REPLY.split(" ")[:2])


async def test_busy_server_is_rate_limited_without_retry_after(
    fake: FakeOllama, ctx: ProviderContext
) -> None:
    fake.faults.add(Fault.error(503, FakeOllama.BUSY_MESSAGE))
    with pytest.raises(RateLimited, match="maximum pending requests") as caught:
        await chat(ctx, ask())
    assert caught.value.retryable
    assert caught.value.retry_after is None
    with pytest.raises(RateLimited):
        await chunks_of(ctx)


async def test_unknown_model_says_which_pull_to_run(ctx: ProviderContext) -> None:
    with pytest.raises(ModelNotFound, match="ollama pull qwen3:8b") as caught:
        await chat(ctx, ask("qwen3:8b"))
    assert caught.value.model == "qwen3:8b"
    with pytest.raises(ModelNotFound, match="ollama pull qwen3:8b"):
        await chunks_of(ctx, ask("qwen3:8b"))
    with pytest.raises(ModelNotFound, match="ollama pull bge-m3"):
        await embed(ctx, EmbedRequest(model="bge-m3", inputs=("x",)))


async def test_a_chat_on_an_embedding_model_is_unsupported(ctx: ProviderContext) -> None:
    # The model's limit, not the request's fault: another provider may chat with it.
    with pytest.raises(Unsupported, match="does not support chat") as caught:
        await chat(ctx, ask("nomic-embed-text"))
    assert caught.value.provider == "ollama"


async def test_malformed_and_oversized_answers_are_protocol_errors(fake: FakeOllama) -> None:
    fake.faults.add(Fault.malformed_json(), path="/api/chat", times=1)
    fake.faults.add(Fault.oversized(200_000), path="/api/chat", times=1)
    async with aclosing(context(base_url=fake.url, core={"max_response_bytes": 100_000})) as ctx:
        with pytest.raises(ProtocolError, match="malformed JSON"):
            await chat(ctx, ask())
        with pytest.raises(ProtocolError, match="max_response_bytes"):
            await chat(ctx, ask())


async def test_a_slow_first_byte_is_a_timeout(fake: FakeOllama) -> None:
    fake.faults.add(Fault.stall_before_headers(2), path="/api/chat")
    async with aclosing(context(base_url=fake.url, core={"first_byte_timeout": 0.2})) as ctx:
        with pytest.raises(ProviderTimeout):
            await chat(ctx, ask())


async def test_health_of_a_server_that_does_not_answer_is_down_timeout(fake: FakeOllama) -> None:
    fake.faults.add(Fault.stall_before_headers(2), path="/api/version")
    async with aclosing(context(base_url=fake.url, core={"health_timeout": 0.2})) as ctx:
        report = await health(ctx)
    assert (report.status, report.reason) == ("down", "timeout")


async def test_nothing_listening_says_start_ollama() -> None:
    async with aclosing(context(base_url=refused_url())) as ctx:
        with pytest.raises(ProviderUnavailable, match="ollama serve"):
            await chat(ctx, ask())
        report = await health(ctx)
    assert (report.status, report.reason) == ("down", "unreachable")


@BOTH_BACKENDS
async def test_cancelling_a_stream_hangs_up_on_the_server() -> None:
    with FakeOllama(reply_tokens=200, stream_delay=0.01) as slow:
        received: list[str] = []
        async with aclosing(context(base_url=slow.url)) as ctx:
            with anyio.CancelScope() as scope:
                async for chunk in stream_chat(ctx, ask()):
                    received.append(chunk.content)
                    scope.cancel()
        assert 1 <= len(received) < 200  # lines read in one piece arrive before the cancel
        slow.stats.wait_until(lambda s: s.client_disconnects == 1 and s.open_connections == 0)
        assert slow.stats.history[-1].outcome == "client_disconnected"


async def test_embeddings_are_unit_vectors_in_input_order(ctx: ProviderContext) -> None:
    result = await embed(ctx, EmbedRequest(model="nomic-embed-text", inputs=("a", "b", "a")))
    assert result.dimensions == 768
    assert result.vectors[0] == result.vectors[2] != result.vectors[1]
    assert all(math.hypot(*v) == pytest.approx(1.0) for v in result.vectors)
    assert result.usage.prompt_tokens == 3


async def test_embed_dimensions_and_truncate_reach_the_server(ctx: ProviderContext) -> None:
    cut = await embed(ctx, EmbedRequest(model="nomic-embed-text", inputs=("a",), dimensions=64))
    assert cut.dimensions == 64
    assert math.hypot(*cut.vectors[0]) == pytest.approx(1.0)
    too_long = " ".join(["word"] * 3000)
    with pytest.raises(InvalidRequest, match="context length"):
        await embed(ctx, EmbedRequest(model="nomic-embed-text", inputs=(too_long,), truncate=False))


@pytest.mark.parametrize("dimensions", [None, 32])
async def test_an_old_server_gives_the_same_vector_space(
    ctx: ProviderContext, dimensions: int | None
) -> None:
    request = EmbedRequest(
        model="nomic-embed-text", inputs=("first text", "second"), dimensions=dimensions
    )
    with FakeOllama(embed_endpoint=False) as old:
        async with aclosing(context(base_url=old.url)) as legacy_ctx:
            legacy = await embed(legacy_ctx, request)
        paths = [exchange.request.path for exchange in old.stats.history]
    modern = await embed(ctx, request)
    assert paths == ["/api/embed", "/api/embeddings", "/api/embeddings"]
    assert legacy.normalized is modern.normalized is True
    assert legacy.dimensions == modern.dimensions
    for old_vector, new_vector in zip(legacy.vectors, modern.vectors, strict=True):
        assert old_vector == pytest.approx(new_vector, abs=1e-6)


async def test_models_are_listed_and_marked_loaded(fake: FakeOllama, ctx: ProviderContext) -> None:
    await chat(ctx, ask("llama3.2"))
    models = {m.id: m for m in await list_models(ctx)}
    assert set(models) == {"llama3.2:latest", "nomic-embed-text:latest"}
    assert {name for name, m in models.items() if m.loaded} == set(fake.loaded)
    assert models["llama3.2:latest"].loaded is True
    assert models["nomic-embed-text:latest"].kind == "embedding"
    assert models["llama3.2:latest"].size_bytes == 2_019_393_189


async def test_health_reports_what_is_resident(fake: FakeOllama, ctx: ProviderContext) -> None:
    report = await health(ctx)
    assert (report.status, report.version) == ("up", "0.12.6")
    assert [m.name for m in report.loaded_models] == fake.loaded
    assert report.loaded_models[0].fully_on_gpu is True
    assert report.loaded_models[0].expires_at is not None


async def test_health_tells_busy_and_missing_models_apart(fake: FakeOllama) -> None:
    fake.faults.add(Fault.error(503, FakeOllama.BUSY_MESSAGE), path="/api/ps", times=1)
    core: dict[str, Any] = {"chain": ["ollama"], "chat_model": "llama3.2"}
    async with aclosing(context(base_url=fake.url, core=core)) as ctx:
        busy = await health(ctx)
        fine = await health(ctx)
    core["chat_model"] = "mistral"
    async with aclosing(context(base_url=fake.url, core=core)) as ctx:
        missing = await health(ctx)
    assert (busy.status, busy.reason) == ("degraded", "busy")
    assert (fine.status, fine.reason) == ("up", None)
    assert (missing.status, missing.reason) == ("degraded", "model_missing")
    assert missing.message is not None
    assert "ollama pull mistral" in missing.message


async def test_pull_installs_a_model_with_progress() -> None:
    wanted = OllamaModel("qwen3:0.6b", size=522_653_767)
    with FakeOllama(registry=[wanted]) as fake:
        async with aclosing(context(base_url=fake.url)) as ctx:
            steps = [step async for step in pull(ctx, "qwen3:0.6b")]
            listed = {m.id for m in await list_models(ctx)}
            with pytest.raises(ModelNotFound, match=r"ollama\.com/library"):
                [step async for step in pull(ctx, "no-such-model")]
    assert steps[0].status == "pulling manifest"
    assert steps[-1].status == "success"
    layers: dict[str, list[int]] = {}
    for step in steps:
        if step.digest is not None and step.completed_bytes is not None:
            layers.setdefault(step.digest, []).append(step.completed_bytes)
    assert layers
    for digest, completed in layers.items():
        assert completed == sorted(completed), digest
        last = next(s for s in reversed(steps) if s.digest == digest)
        assert last.fraction == 1.0
    assert "qwen3:0.6b" in listed
