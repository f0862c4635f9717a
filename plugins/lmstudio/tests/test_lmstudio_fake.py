"""The plugin over real loopback HTTP against the fake LM Studio, llama.cpp, vLLM and OpenAI.

Everything goes through the public client, configured the way users configure it, so
these tests also prove that another OpenAI-compatible server is just another instance
of this plugin (``[providers.vllm] plugin = "lmstudio"``) with its own settings.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from lmstudio_testkit import read_into

from aegis_llm import AegisSettings, AsyncClient, ChatChunk, ChatRequest, EmbedRequest, Provider
from aegis_llm.errors import (
    AuthenticationError,
    ModelNotFound,
    ProtocolError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    Unsupported,
)
from aegis_llm.testing.fakes import Fault, refused_url
from aegis_llm.testing.fakes.openai import FakeOpenAI, OpenAIModel

pytestmark = pytest.mark.anyio

CHAT_MODEL = "llama-3.2-3b-instruct"
EMBED_MODEL = "text-embedding-nomic-embed-text-v1.5"


def ask(model: str = CHAT_MODEL, text: str = "hello there", **options: Any) -> ChatRequest:
    return ChatRequest.model_validate(
        {"model": model, "messages": [{"role": "user", "content": text}], "options": options}
    )


def texts(*inputs: str, model: str = EMBED_MODEL) -> EmbedRequest:
    return EmbedRequest.model_validate({"model": model, "inputs": inputs})


@pytest.fixture
def lmstudio() -> Iterator[FakeOpenAI]:
    with FakeOpenAI("lmstudio", ping_every=2, reverse_embeddings=True) as server:
        yield server


def configured(**instances: dict[str, Any]) -> AsyncClient:
    """A client with these instances of the plugin, as a config file would declare them."""
    providers = {name: {"plugin": "lmstudio", **table} for name, table in instances.items()}
    return AsyncClient(AegisSettings.model_construct(providers=providers))


Connect = Callable[..., Provider]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """``connect(url, name="lmstudio", **settings)``: a provider instance on its own client."""
    clients: list[AsyncClient] = []

    def open_instance(url: str, name: str = "lmstudio", **settings: Any) -> Provider:
        clients.append(configured(**{name: {"base_url": url, **settings}}))
        return clients[-1].provider(name)

    yield open_instance
    for client in clients:
        await client.aclose()


# LM Studio.


async def test_lm_studio_lists_models_with_their_state(
    connect: Connect, lmstudio: FakeOpenAI
) -> None:
    models = {m.id: m for m in await connect(lmstudio.url).list_models()}
    assert (models[CHAT_MODEL].kind, models[CHAT_MODEL].loaded) == ("chat", True)
    embedder = models[EMBED_MODEL]
    assert (embedder.kind, embedder.loaded, embedder.context_length) == ("embedding", False, 2048)
    assert embedder.quantization == "Q4_K_M"


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_lm_studio_chat_stream_and_stats(connect: Connect, lmstudio: FakeOpenAI) -> None:
    lms = connect(f"{lmstudio.url}/v1")  # with /v1, as LM Studio's UI shows it
    reply = await lms.chat(ask(max_tokens=6))
    chunks = [chunk async for chunk in lms.stream_chat(ask(max_tokens=6))]
    assert reply.content
    assert "".join(c.content for c in chunks) == reply.content  # pings in between
    assert (reply.provider, reply.model, reply.finish_reason) == ("lmstudio", CHAT_MODEL, "length")
    assert reply.usage.completion_tokens == 6
    assert reply.usage.tokens_per_second == 50.0  # from /api/v0 stats
    last = chunks[-1]
    assert last.done
    assert last.usage is not None
    assert last.usage.completion_tokens == 6  # from stream_options.include_usage
    paths = [exchange.request.path for exchange in lmstudio.stats.history]
    assert "/api/v0/chat/completions" in paths
    assert "/v1/chat/completions" in paths
    assert not any(path.startswith("/v1/v1") for path in paths)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
@pytest.mark.parametrize("flavour", ["lmstudio", "vllm"])
async def test_concurrent_first_calls_probe_the_native_api_once(
    connect: Connect, flavour: Any
) -> None:
    with FakeOpenAI(flavour, stream_delay=0.01) as server:
        provider = connect(server.url)
        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(provider.chat, ask(max_tokens=2))
                group.start_soon(_drain, provider.stream_chat(ask(max_tokens=2)))
        paths = [exchange.request.path for exchange in server.stats.history]
    assert paths.count("/api/v0/models") == 1


async def _drain(chunks: AsyncIterator[Any]) -> None:
    async for _ in chunks:
        pass


async def test_lm_studio_embeddings_are_sorted_by_index(
    connect: Connect, lmstudio: FakeOpenAI
) -> None:
    lms = connect(lmstudio.url)
    both = await lms.embed(texts("first", "second"))
    alone = await lms.embed(texts("second"))
    assert both.dimensions == 768
    assert both.vectors[1] == alone.vectors[0]
    assert both.vectors[0] != both.vectors[1]


async def test_embedding_with_a_chat_model_says_to_pick_an_embedding_model(
    connect: Connect, lmstudio: FakeOpenAI
) -> None:
    with pytest.raises(ModelNotFound, match="Model is not embedding") as caught:
        await connect(lmstudio.url).embed(texts("a", model=CHAT_MODEL))
    assert caught.value.hint is not None
    assert "kind embedding" in caught.value.hint


@pytest.mark.parametrize("flavour", ["vllm", "openai"])
async def test_base64_embeddings_asked_through_extra_match_the_floats(
    connect: Connect, flavour: Any
) -> None:
    with FakeOpenAI(flavour) as server:
        provider = connect(server.url)
        floats = await provider.embed(texts("first", "second"))
        packed = await provider.embed(
            EmbedRequest.model_validate(
                {
                    "model": EMBED_MODEL,
                    "inputs": ["first", "second"],
                    "extra": {"encoding_format": "base64"},
                }
            )
        )
    for got, want in zip(packed.vectors, floats.vectors, strict=True):
        assert got == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("status", [400, 404])
async def test_no_models_loaded(connect: Connect, status: int) -> None:
    unloaded = [OpenAIModel(CHAT_MODEL, loaded=False)]
    with FakeOpenAI("lmstudio", unloaded, jit=False, no_models_status=status) as server:
        lms = connect(server.url)
        with pytest.raises(ModelNotFound) as caught:
            await lms.chat(ask())
        report = await lms.health()
    assert caught.value.model == CHAT_MODEL
    assert "lms load" in str(caught.value)
    assert report.status == "up"
    assert report.loaded_models == ()


async def test_lm_studio_api_token(connect: Connect) -> None:
    with FakeOpenAI("lmstudio", api_key="lm-token-123") as server:
        without = connect(server.url, name="lmstudio")
        with pytest.raises(AuthenticationError) as refused:
            await without.chat(ask())
        report = await without.health()
        wrong = connect(server.url, name="wrongkey", api_key="nope-456")
        with pytest.raises(AuthenticationError) as wrong_key:
            await wrong.list_models()
        right = connect(server.url, name="rightkey", api_key="lm-token-123")
        reply = await right.chat(ask())
    assert "AEGIS_LLM_LMSTUDIO_API_KEY" in str(refused.value)
    assert (report.status, report.reason) == ("down", "auth")
    assert "nope-456" not in str(wrong_key.value)
    assert reply.content


async def test_rate_limit_carries_retry_after(connect: Connect, lmstudio: FakeOpenAI) -> None:
    lmstudio.faults.add(Fault.rate_limited(retry_after=3), path="/api/v0/chat/completions")
    with pytest.raises(RateLimited) as caught:
        await connect(lmstudio.url).chat(ask())
    assert caught.value.retry_after == 3.0


async def test_refused_connection(connect: Connect) -> None:
    lms = connect(refused_url())
    with pytest.raises(ProviderUnavailable, match="lms server start"):
        await lms.chat(ask())
    report = await lms.health()
    assert (report.status, report.reason) == ("down", "unreachable")


async def test_malformed_and_oversized_answers(connect: Connect, lmstudio: FakeOpenAI) -> None:
    lms = connect(lmstudio.url)
    lmstudio.faults.add(Fault.malformed_json(), path="/api/v0/chat/completions", times=1)
    with pytest.raises(ProtocolError):
        await lms.chat(ask())
    lmstudio.faults.add(Fault.oversized(200 * 1024 * 1024), path="/api/v0/chat/completions")
    with pytest.raises(ProtocolError, match="max_response_bytes"):
        await lms.chat(ask())


async def test_trickled_stream_is_reassembled(connect: Connect, lmstudio: FakeOpenAI) -> None:
    lms = connect(lmstudio.url, native_api=True)
    whole = await lms.chat(ask(max_tokens=4))
    lmstudio.faults.add(Fault.trickle(8, 0.0005), path="/v1/chat/completions")
    chunks = [chunk async for chunk in lms.stream_chat(ask(max_tokens=4))]
    assert "".join(c.content for c in chunks) == whole.content


async def test_a_dropped_stream_keeps_the_partial_text(
    connect: Connect, lmstudio: FakeOpenAI
) -> None:
    lms = connect(lmstudio.url)
    lmstudio.faults.add(Fault.drop_after(700), path="/v1/chat/completions")
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        await read_into(received, lms.stream_chat(ask(max_tokens=40)))
    assert received
    assert caught.value.partial == "".join(received)


# Errors inside a stream, in each server's own way.


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
@pytest.mark.parametrize("flavour", ["lmstudio", "llamacpp", "vllm", "openai"])
async def test_error_mid_stream_is_interrupted_with_the_partial_text(
    connect: Connect, flavour: Any
) -> None:
    with FakeOpenAI(flavour) as server:
        server.faults.add(Fault.error_mid_stream(after_chunks=3, message="GPU fell off"))
        chunks: list[str] = []
        stream = connect(server.url).stream_chat(ask(max_tokens=20))
        with pytest.raises(StreamInterrupted, match="GPU fell off") as caught:
            await read_into(chunks, stream)
    assert caught.value.partial == "".join(chunks)
    assert caught.value.partial


@pytest.mark.parametrize("flavour", ["lmstudio", "llamacpp"])  # `reasoning`, `reasoning_content`
@pytest.mark.parametrize("after_chunks", [3, 5])
async def test_a_stream_broken_after_reasoning_keeps_the_reasoning_delivered(
    connect: Connect, flavour: Any, after_chunks: int
) -> None:
    # The fault counts the role-only chunk: 3 breaks mid-thought, 5 after all of it and some text.
    received: list[ChatChunk] = []

    async def read(stream: AsyncIterator[ChatChunk]) -> None:
        async for chunk in stream:
            received.append(chunk)

    with FakeOpenAI(flavour, reasoning="six times seven") as server:
        server.faults.add(Fault.error_mid_stream(after_chunks, message="GPU fell off"))
        stream = connect(server.url).stream_chat(ask(max_tokens=20))
        with pytest.raises(StreamInterrupted, match="GPU fell off") as caught:
            await read(stream)
    assert len(received) == after_chunks - 1
    assert caught.value.partial_reasoning == "".join(c.reasoning for c in received)
    assert len(caught.value.partial_reasoning.split()) == min(after_chunks - 1, 3)
    assert caught.value.partial == "".join(c.content for c in received)
    assert "partial_reasoning" in str(caught.value)


# llama.cpp's server.


async def test_llama_cpp_loading_then_ready(connect: Connect) -> None:
    with FakeOpenAI("llamacpp", loading=True) as server:
        llama = connect(server.url, name="llamacpp")
        loading = await llama.health()
        [unsized] = await llama.list_models()  # meta: null while loading
        server.loading = False
        ready = await llama.health()
        [model] = await llama.list_models()
    assert (loading.status, loading.reason) == ("degraded", "loading")
    assert (unsized.id, unsized.context_length, unsized.size_bytes) == (CHAT_MODEL, None, None)
    assert (ready.status, ready.details["api"]) == ("up", "openai")
    assert (model.context_length, model.size_bytes) == (131_072, 2_019_373_888)


async def test_vllm_stream_usage_arrives_in_a_chunk_with_null_choices(connect: Connect) -> None:
    with FakeOpenAI("vllm") as server:
        chunks = [c async for c in connect(server.url).stream_chat(ask(max_tokens=3))]
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.completion_tokens, chunks[-1].finish_reason) == (3, "length")


async def test_llama_cpp_without_embeddings_is_unsupported(connect: Connect) -> None:
    with FakeOpenAI("llamacpp") as server, pytest.raises(Unsupported, match="--embeddings"):
        await connect(server.url).embed(texts("a"))


async def test_load_and_unload_on_lm_studio(connect: Connect) -> None:
    with FakeOpenAI("lmstudio", jit=False) as server:
        lms = connect(server.url)
        loaded = await lms.load_model(EMBED_MODEL)
        again = await lms.load_model(EMBED_MODEL)
        states = {m.id: m.loaded for m in await lms.list_models()}
        await lms.unload_model(CHAT_MODEL)
        left = {m.id: m.loaded for m in await lms.list_models()}
        loads = [e for e in server.stats.history if e.request.path == "/api/v1/models/load"]
    assert (loaded.id, loaded.kind, loaded.loaded) == (EMBED_MODEL, "embedding", True)
    assert loaded.details["load_time_seconds"] == 0.25
    assert again.id == EMBED_MODEL, "no second instance"
    assert len(loads) == 1
    assert states == {CHAT_MODEL: True, EMBED_MODEL: True}
    assert left == {CHAT_MODEL: False, EMBED_MODEL: True}


@pytest.mark.parametrize("flavour", ["llamacpp", "vllm", "openai"])
async def test_load_on_a_server_without_the_endpoint_is_unsupported(
    connect: Connect, flavour: Any
) -> None:
    with FakeOpenAI(flavour) as server, pytest.raises(Unsupported):
        await connect(server.url).load_model(CHAT_MODEL)


# Another OpenAI-compatible server as a provider of its own name, configured without code.


async def test_vllm_instance_from_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = [OpenAIModel("Qwen/Qwen2.5-1.5B-Instruct"), OpenAIModel("BAAI/bge-m3", "embeddings")]
    with FakeOpenAI("vllm", models, api_key="vllm-secret") as server:
        (tmp_path / "aegis-llm.toml").write_text(
            f'chain = ["vllm"]\n\n[providers.vllm]\nplugin = "lmstudio"\n'
            f'base_url = "{server.url}/v1"\n'
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("AEGIS_LLM_VLLM_API_KEY", "vllm-secret")
        async with AsyncClient.from_settings() as llm:
            reply = await llm.chat("hi", model="Qwen/Qwen2.5-1.5B-Instruct", max_tokens=3)
            stream = llm.stream_chat("hi", model="Qwen/Qwen2.5-1.5B-Instruct", max_tokens=3)
            streamed = await stream.collect()
            vectors = await llm.embed(["a", "b"], model="BAAI/bge-m3", chain=["vllm"])
            models_seen = await llm.list_models(["vllm"])
            [report] = await llm.health(["vllm"])
            with pytest.raises(ModelNotFound) as missing:
                await llm.provider("vllm").chat(ask("no-such-model"))
    assert (reply.provider, streamed.provider, vectors.provider) == ("vllm", "vllm", "vllm")
    assert streamed.content == reply.content
    assert [m.id for m in models_seen] == ["BAAI/bge-m3", "Qwen/Qwen2.5-1.5B-Instruct"]
    assert (report.status, report.details["api"]) == ("up", "openai")
    assert missing.value.provider == "vllm"
    assert missing.value.model == "no-such-model"


async def test_vllm_instance_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeOpenAI("vllm") as server:
        instance = {"vllm": {"plugin": "lmstudio", "base_url": server.url}}
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("AEGIS_LLM_PROVIDERS", json.dumps(instance))
        async with AsyncClient.from_settings() as llm:
            reply = await llm.chat("hi", model=CHAT_MODEL, chain=["vllm"], max_tokens=2)
            assert "vllm" in llm.provider_names
    assert (reply.provider, reply.model) == ("vllm", CHAT_MODEL)
