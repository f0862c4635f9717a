"""FakeOpenAI in every flavour against the official `openai` client: if the client cannot
read the fake, or maps its errors to the wrong exception, the fake is wrong."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from aegis_llm.testing.fakes import Fault
from aegis_llm.testing.fakes.openai import NO_MODELS_LOADED, FakeOpenAI, Flavour, OpenAIModel

Make = Callable[..., FakeOpenAI]
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "What is RAG?"}]
CHAT_MODEL = "llama-3.2-3b-instruct"
EMBED_MODEL = "text-embedding-nomic-embed-text-v1.5"
ALL: tuple[Flavour, ...] = ("lmstudio", "llamacpp", "vllm", "openai")
MULTI_MODEL: tuple[Flavour, ...] = ("lmstudio", "vllm", "openai")


def _client(server: FakeOpenAI, *, key: str = "unused", retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=retries)


@pytest.fixture(params=ALL)
def flavour(request: pytest.FixtureRequest) -> Flavour:
    chosen: Flavour = request.param
    return chosen


@pytest.fixture
def server(flavour: Flavour, make_openai: Make) -> FakeOpenAI:
    return make_openai(flavour)


@pytest.fixture
def client(server: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with _client(server) as client:
        yield client


def test_models_list(client: openai.OpenAI, server: FakeOpenAI) -> None:
    ids = [model.id for model in client.models.list()]

    expected = [CHAT_MODEL] if server.flavour == "llamacpp" else [CHAT_MODEL, EMBED_MODEL]
    assert ids == expected


def test_chat(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=CHAT_MODEL, messages=USER)

    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 8
    assert len((reply.choices[0].message.content or "").split()) == 8


def test_streaming_chat_with_usage(client: openai.OpenAI, server: FakeOpenAI) -> None:
    whole = client.chat.completions.create(model=CHAT_MODEL, messages=USER)
    chunks = list(
        client.chat.completions.create(
            model=CHAT_MODEL,
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    if server.flavour == "vllm":  # some vLLM builds; the client passes it through as None
        assert chunks[-1].choices is None  # type: ignore[comparison-overlap]
    else:
        assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + 8


def test_max_tokens_stops_with_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=CHAT_MODEL, messages=USER, max_tokens=3)

    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 3


@pytest.mark.parametrize("flavour", MULTI_MODEL)
def test_embeddings_float_and_base64_agree(client: openai.OpenAI) -> None:
    as_floats = client.embeddings.create(
        model=EMBED_MODEL, input=["alpha", "beta"], encoding_format="float"
    )
    as_base64 = client.embeddings.create(model=EMBED_MODEL, input=["alpha", "beta"])

    assert [item.index for item in as_floats.data] == [0, 1]
    assert len(as_floats.data[0].embedding) == 768
    assert math.sqrt(sum(v * v for v in as_floats.data[0].embedding)) == pytest.approx(1, abs=1e-5)
    for floats, decoded in zip(as_floats.data, as_base64.data, strict=True):
        assert decoded.embedding == pytest.approx(floats.embedding, abs=1e-6)
    assert as_floats.usage.prompt_tokens == 2


@pytest.mark.parametrize("flavour", ["openai"])
def test_embedding_dimensions_and_token_inputs(client: openai.OpenAI) -> None:
    cut = client.embeddings.create(model=EMBED_MODEL, input="alpha", dimensions=32)
    tokens = client.embeddings.create(model=EMBED_MODEL, input=[[1, 2, 3]], encoding_format="float")

    assert len(cut.data[0].embedding) == 32
    assert len(tokens.data[0].embedding) == 768


def test_reversed_embeddings_keep_their_indexes(make_openai: Make) -> None:
    server = make_openai("openai", reverse_embeddings=True)
    with _client(server) as client:
        reply = client.embeddings.create(
            model=EMBED_MODEL, input=["a", "b", "c"], encoding_format="float"
        )
        first = client.embeddings.create(model=EMBED_MODEL, input="a", encoding_format="float")

    assert [item.index for item in reply.data] == [2, 1, 0]
    assert reply.data[2].embedding == first.data[0].embedding


@pytest.mark.parametrize("flavour", MULTI_MODEL)
def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=USER)


def test_bad_request_is_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=CHAT_MODEL, messages=[])


def test_wrong_key_is_an_authentication_error(flavour: Flavour, make_openai: Make) -> None:
    server = make_openai(flavour, api_key="secret")
    with _client(server, key="wrong") as wrong, _client(server, key="secret") as right:
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model=CHAT_MODEL, messages=USER)
        assert right.chat.completions.create(model=CHAT_MODEL, messages=USER)


def test_llamacpp_keeps_health_and_models_public(make_openai: Make) -> None:
    server = make_openai("llamacpp", api_key="secret")

    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/v1/models").status_code == 200
    refused = httpx.post(f"{server.url}/v1/chat/completions", json={})
    assert refused.json() == {
        "error": {"code": 401, "message": "Invalid API Key", "type": "authentication_error"}
    }


def test_rate_limit_without_retries_is_a_rate_limit_error(server: FakeOpenAI) -> None:
    server.faults.add(Fault.rate_limited(30))

    with _client(server) as client, pytest.raises(openai.RateLimitError) as caught:
        client.models.list()

    assert caught.value.response.headers["retry-after"] == "30"


def test_server_error_is_an_internal_server_error(server: FakeOpenAI) -> None:
    server.faults.add(Fault.error(500, "kaput"), path="/v1/chat/completions")

    with _client(server) as client, pytest.raises(openai.InternalServerError, match="kaput"):
        client.chat.completions.create(model=CHAT_MODEL, messages=USER)


@pytest.mark.parametrize("flavour", ["lmstudio", "vllm", "openai"])
def test_error_mid_stream_raises_in_the_client(client: openai.OpenAI, server: FakeOpenAI) -> None:
    server.faults.add(Fault.error_mid_stream(3, "GPU fell over"))
    stream = client.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True)
    received: list[str] = []

    with pytest.raises(openai.APIError, match="GPU fell over"):
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)

    assert len(received) == 3, "every chunk before the error arrived"


@pytest.mark.parametrize("flavour", ["llamacpp"])
def test_llamacpp_error_field_is_invisible_to_the_client(
    client: openai.OpenAI, server: FakeOpenAI
) -> None:
    server.faults.add(Fault.error_mid_stream(3, "GPU fell over"))

    chunks = list(client.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True))

    assert len(chunks) == 3, "the stream just stops: no finish chunk, no [DONE], no exception"
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks)


def test_lmstudio_v0_models_show_state_and_type(make_openai: Make) -> None:
    server = make_openai("lmstudio")
    with _client(server) as client:
        client.embeddings.create(model=EMBED_MODEL, input="x")
    listed = httpx.get(f"{server.url}/api/v0/models").json()["data"]
    one = httpx.get(f"{server.url}/api/v0/models/{EMBED_MODEL}").json()

    assert [(m["id"], m["type"], m["state"]) for m in listed] == [
        (CHAT_MODEL, "llm", "loaded"),
        (EMBED_MODEL, "embeddings", "loaded"),
    ], "the embedding model was loaded just in time"
    assert one["max_context_length"] == 2048
    assert one["quantization"] == "Q4_K_M"


def test_lmstudio_v0_chat_adds_stats_model_info_runtime(make_openai: Make) -> None:
    server = make_openai("lmstudio")
    body = {"model": CHAT_MODEL, "messages": USER}

    answer = httpx.post(f"{server.url}/api/v0/chat/completions", json=body).json()

    assert answer["stats"]["stop_reason"] == "eosFound"
    assert answer["model_info"]["arch"] == "llama"
    assert answer["runtime"]["supported_formats"] == ["gguf"]
    assert answer["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("status", "error"), [(400, openai.BadRequestError), (404, openai.NotFoundError)]
)
def test_lmstudio_no_models_loaded(
    make_openai: Make, status: int, error: type[openai.APIStatusError]
) -> None:
    server = make_openai(
        "lmstudio",
        models=[OpenAIModel("a", loaded=False), OpenAIModel("b", loaded=False)],
        jit=False,
        no_models_status=status,
    )
    with _client(server) as client:
        listed = list(client.models.list())
        with pytest.raises(error) as caught:
            client.chat.completions.create(model="a", messages=USER)

    assert listed == [], "without JIT only loaded models are listed"
    assert caught.value.body == {
        "message": NO_MODELS_LOADED,
        "type": "invalid_request_error",
        "param": "model",
        "code": None,
    }


def test_lmstudio_single_loaded_model_serves_any_name(make_openai: Make) -> None:
    server = make_openai(
        "lmstudio", models=[OpenAIModel("only-one"), OpenAIModel("idle", loaded=False)], jit=False
    )
    with _client(server) as client:
        reply = client.chat.completions.create(model="whatever", messages=USER)

    assert reply.model == "only-one"


def test_lmstudio_unknown_route_answers_200(make_openai: Make) -> None:
    server = make_openai("lmstudio")

    answer = httpx.get(f"{server.url}/api/tags?x=1")

    assert answer.status_code == 200
    assert answer.json() == {"error": "Unexpected endpoint or method. (GET /api/tags?x=1)"}
    assert answer.headers["x-powered-by"] == "Express"


def test_llamacpp_health_while_loading(make_openai: Make) -> None:
    server = make_openai("llamacpp", loading=True)
    with _client(server) as client:
        loading = httpx.get(f"{server.url}/health")
        with pytest.raises(openai.InternalServerError, match="Loading model"):
            client.chat.completions.create(model=CHAT_MODEL, messages=USER)
        server.loading = False
        ready = httpx.get(f"{server.url}/health")
        assert client.chat.completions.create(model=CHAT_MODEL, messages=USER)

    assert loading.status_code == 503
    assert loading.json()["error"]["type"] == "unavailable_error"
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})


def test_llamacpp_lists_its_model_with_null_meta_while_loading(make_openai: Make) -> None:
    server = make_openai("llamacpp", loading=True)
    with _client(server) as client:
        loading = client.models.list().model_dump()["data"]
        server.loading = False
        ready = client.models.list().model_dump()["data"]

    assert [entry["meta"] for entry in loading] == [None]
    assert ready[0]["meta"]["n_ctx_train"] == 131_072


def test_lmstudio_v1_models_list_instances(make_openai: Make) -> None:
    server = make_openai("lmstudio")

    listed = httpx.get(f"{server.url}/api/v1/models").json()["models"]

    chat, embedder = listed
    assert (chat["key"], chat["type"], chat["architecture"]) == (CHAT_MODEL, "llm", "llama")
    assert chat["loaded_instances"] == [{"id": CHAT_MODEL, "config": {"context_length": 4096}}]
    assert chat["quantization"]["name"] == "Q4_K_M"
    assert (embedder["key"], embedder["type"], embedder["loaded_instances"]) == (
        EMBED_MODEL,
        "embedding",
        [],
    )
    assert embedder["max_context_length"] == 2048
    assert "capabilities" not in embedder, "absent for embedding models"


def test_lmstudio_v1_load_twice_gives_a_second_instance_and_unload_frees_each(
    make_openai: Make,
) -> None:
    server = make_openai("lmstudio", jit=False)
    url = f"{server.url}/api/v1/models"

    first = httpx.post(f"{url}/load", json={"model": EMBED_MODEL, "echo_load_config": True})
    second = httpx.post(f"{url}/load", json={"model": EMBED_MODEL}).json()
    instances = [i["id"] for i in httpx.get(url).json()["models"][1]["loaded_instances"]]
    state = httpx.get(f"{server.url}/api/v0/models/{EMBED_MODEL}").json()["state"]
    unloaded = [httpx.post(f"{url}/unload", json={"instance_id": i}).json() for i in instances]
    again = httpx.post(f"{url}/unload", json={"instance_id": EMBED_MODEL})

    assert first.status_code == 200
    assert first.json() == {
        "type": "embedding",
        "instance_id": EMBED_MODEL,
        "load_time_seconds": 0.25,
        "status": "loaded",
        "load_config": {"context_length": 2048},
    }
    assert second["instance_id"] == f"{EMBED_MODEL}:2"
    assert instances == [EMBED_MODEL, f"{EMBED_MODEL}:2"]
    assert state == "loaded"
    assert unloaded == [{"instance_id": i} for i in instances]
    assert not next(m for m in server.models if m.id == EMBED_MODEL).loaded
    assert again.status_code == 404
    assert again.json()["error"]["type"] == "model_not_found"


def test_lmstudio_v1_load_of_an_unknown_model_is_404(make_openai: Make) -> None:
    server = make_openai("lmstudio")

    answer = httpx.post(f"{server.url}/api/v1/models/load", json={"model": "nope"})

    assert answer.status_code == 404
    assert answer.json() == {
        "error": {"type": "model_not_found", "message": 'Model "nope" not found.'}
    }


def test_llamacpp_serves_one_model_and_needs_an_embedding_model_to_embed(
    make_openai: Make,
) -> None:
    chat_only = make_openai("llamacpp")
    embedder = make_openai("llamacpp", models=[OpenAIModel("bge.gguf", kind="embeddings")])
    with _client(chat_only) as chat_client, _client(embedder) as embed_client:
        reply = chat_client.chat.completions.create(model="anything", messages=USER)
        with pytest.raises(openai.APIStatusError) as caught:
            chat_client.embeddings.create(model="anything", input="x")
        vectors = embed_client.embeddings.create(model="bge.gguf", input="x")

    assert reply.model == "anything", "llama.cpp echoes the requested name"
    assert caught.value.status_code == 501
    assert len(vectors.data[0].embedding) == 768


def test_vllm_health_and_flat_errors(make_openai: Make) -> None:
    server = make_openai("vllm")

    health = httpx.get(f"{server.url}/health")
    missing = httpx.post(
        f"{server.url}/v1/chat/completions", json={"model": "nope", "messages": USER}
    )

    assert (health.status_code, health.content) == (200, b"")
    assert missing.json() == {
        "object": "error",
        "message": "The model `nope` does not exist.",
        "type": "NotFoundError",
        "param": None,
        "code": 404,
    }


def test_openai_unknown_route(make_openai: Make) -> None:
    server = make_openai("openai")

    answer = httpx.get(f"{server.url}/v1/nothing")

    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "Invalid URL (GET /v1/nothing)"


def test_models_retrieve_and_change_at_runtime(make_openai: Make) -> None:
    server = make_openai("openai")
    server.add_model(OpenAIModel("publisher/new-model"))
    server.remove_model(EMBED_MODEL)
    server.set_loaded(CHAT_MODEL, loaded=False)

    with _client(server) as client:
        fetched = client.models.retrieve("publisher/new-model")
        ids = [model.id for model in client.models.list()]

    assert fetched.id == "publisher/new-model"
    assert ids == [CHAT_MODEL, "publisher/new-model"]
    assert not next(m for m in server.models if m.id == CHAT_MODEL).loaded
