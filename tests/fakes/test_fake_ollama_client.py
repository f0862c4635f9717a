"""FakeOllama against the official `ollama` client: if the client cannot read the fake, the
fake is wrong."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import ollama
import pytest

from aegis_llm.testing.fakes import Fault
from aegis_llm.testing.fakes.ollama import FakeOllama, OllamaModel, canonical_name

USER = [{"role": "user", "content": "What is RAG?"}]
Make = Callable[..., FakeOllama]


@pytest.fixture
def client(fake_ollama: FakeOllama) -> Iterator[ollama.Client]:
    with ollama.Client(host=fake_ollama.url) as client:
        yield client


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


def test_chat_answers_with_metrics(client: ollama.Client) -> None:
    reply = client.chat(model="llama3.2", messages=USER, stream=False)

    assert reply.model == "llama3.2", "the name is echoed as sent"
    assert reply.done is True
    assert reply.done_reason == "stop"
    assert reply.message.role == "assistant"
    assert len((reply.message.content or "").split()) == 8
    assert reply.eval_count == 8
    assert reply.total_duration is not None
    assert reply.eval_duration is not None
    assert reply.total_duration > reply.eval_duration > 0


def test_streaming_chat_matches_the_whole_reply(client: ollama.Client) -> None:
    whole = client.chat(model="llama3.2", messages=USER, stream=False).message.content
    parts = list(client.chat(model="llama3.2", messages=USER, stream=True))

    assert "".join(part.message.content or "" for part in parts) == whole
    assert [part.done for part in parts] == [False] * 8 + [True]
    assert parts[-1].done_reason == "stop"
    assert parts[-1].eval_count == 8


def test_reply_is_configurable(make_ollama: Make) -> None:
    server = make_ollama(reply="Paris is the capital")
    with ollama.Client(host=server.url) as client:
        parts = [part.message.content for part in client.chat("llama3.2", USER, stream=True)]

    assert parts == ["Paris", " is", " the", " capital", ""]


def test_num_predict_cuts_the_reply_with_done_reason_length(make_ollama: Make) -> None:
    server = make_ollama(reply_tokens=500)
    with ollama.Client(host=server.url) as client:
        reply = client.chat("llama3.2", USER, options={"num_predict": 5}, stream=False)

    assert reply.done_reason == "length"
    assert reply.eval_count == 5


def test_format_json_gets_json(client: ollama.Client) -> None:
    reply = client.chat("llama3.2", USER, format="json", stream=False)

    assert set(json.loads(reply.message.content or "")) == {"reply"}


def test_generate_streams_and_returns_context(client: ollama.Client) -> None:
    parts = list(client.generate(model="llama3.2", prompt="Why?", stream=True))

    assert parts[-1].done is True
    assert parts[-1].response == ""
    assert parts[-1].context
    assert "".join(part.response or "" for part in parts).strip()


def test_empty_messages_load_and_keep_alive_zero_unloads(fake_ollama: FakeOllama) -> None:
    with ollama.Client(host=fake_ollama.url) as client:
        loaded = client.chat(model="llama3.2", messages=[], stream=False)
        unloaded = client.chat(model="llama3.2", messages=[], keep_alive=0, stream=False)
        listed = client.ps()

    assert (loaded.done_reason, unloaded.done_reason) == ("load", "unload")
    assert listed.models == []


def test_any_model_unloads_even_one_that_cannot_chat(client: ollama.Client) -> None:
    # Ollama expires the runner before it checks what the model can do.
    client.embed(model="nomic-embed-text", input="load me")
    chat = client.chat(model="nomic-embed-text", messages=[], keep_alive=0)
    generate = client.generate(model="nomic-embed-text", prompt="", keep_alive=0)

    assert (chat.done_reason, generate.done_reason) == ("unload", "unload")
    assert "nomic-embed-text:latest" not in [model.model for model in client.ps().models]


def test_embed_is_batched_normalised_and_deterministic(client: ollama.Client) -> None:
    first = client.embed(model="nomic-embed-text", input=["alpha", "beta"])
    again = client.embed(model="nomic-embed-text:latest", input="alpha")

    assert len(first.embeddings) == 2
    assert len(first.embeddings[0]) == 768
    assert first.embeddings[0] == again.embeddings[0]
    assert first.embeddings[0] != first.embeddings[1]
    assert _norm(list(first.embeddings[0])) == pytest.approx(1.0, abs=1e-5)
    assert first.prompt_eval_count == 2


def test_embed_dimensions_cut_and_renormalise(client: ollama.Client) -> None:
    full = client.embed(model="nomic-embed-text", input="alpha").embeddings[0]
    cut = client.embed(model="nomic-embed-text", input="alpha", dimensions=64).embeddings[0]

    assert len(cut) == 64
    assert _norm(list(cut)) == pytest.approx(1.0, abs=1e-5)
    scale = _norm(list(full[:64]))
    assert [round(value * scale, 4) for value in cut] == [round(value, 4) for value in full[:64]]


def test_embed_without_truncation_rejects_long_input(make_ollama: Make) -> None:
    small = OllamaModel("tiny-embed", kind="embedding", context_length=3, embedding_length=8)
    server = make_ollama([small])
    with ollama.Client(host=server.url) as client:
        assert client.embed(model="tiny-embed", input="one two three four five").embeddings
        with pytest.raises(ollama.ResponseError) as caught:
            client.embed(model="tiny-embed", input="one two three four five", truncate=False)

    assert caught.value.status_code == 400
    assert caught.value.error == "the input length exceeds the context length"


def test_legacy_embeddings_are_single_and_unnormalised(client: ollama.Client) -> None:
    legacy = client.embeddings(model="nomic-embed-text", prompt="alpha").embedding
    modern = client.embed(model="nomic-embed-text", input="alpha").embeddings[0]

    assert len(legacy) == 768
    assert _norm(list(legacy)) > 2
    norm = _norm(list(legacy))
    assert [round(value / norm, 4) for value in legacy] == [round(v, 4) for v in modern[:768]]


def test_old_server_has_no_embed_endpoint(make_ollama: Make) -> None:
    server = make_ollama(embed_endpoint=False)
    with ollama.Client(host=server.url) as client:
        with pytest.raises(ollama.ResponseError) as caught:
            client.embed(model="nomic-embed-text", input="alpha")
        assert client.embeddings(model="nomic-embed-text", prompt="alpha").embedding

    assert caught.value.status_code == 404
    assert caught.value.error == "404 page not found"


def test_list_shows_installed_models_with_details(client: ollama.Client) -> None:
    models = client.list().models

    assert [model.model for model in models] == ["llama3.2:latest", "nomic-embed-text:latest"]
    assert models[1].details is not None
    assert models[1].details.family == "nomic-bert"
    assert models[0].size == 2_019_393_189


def test_ps_shows_loaded_models_and_vram(make_ollama: Make) -> None:
    partly_on_gpu = OllamaModel(
        "qwen2.5:7b", loaded=True, size=5_000, size_vram=3_000, expires_at="2030-01-01T00:00:00Z"
    )
    server = make_ollama([partly_on_gpu, OllamaModel("other:1b")])
    with ollama.Client(host=server.url) as client:
        running = client.ps().models

    assert [model.model for model in running] == ["qwen2.5:7b"]
    assert (running[0].size, running[0].size_vram) == (5_000, 3_000)
    assert running[0].expires_at is not None
    assert running[0].expires_at.year == 2030


def test_using_a_model_loads_it(client: ollama.Client) -> None:
    client.embed(model="nomic-embed-text", input="x")

    assert {model.model for model in client.ps().models} == {
        "llama3.2:latest",
        "nomic-embed-text:latest",
    }


def test_show_reports_capabilities_and_model_info(client: ollama.Client) -> None:
    shown = client.show("nomic-embed-text")

    assert shown.capabilities == ["embedding"]
    assert shown.modelinfo is not None
    assert shown.modelinfo["nomic_bert.embedding_length"] == 768
    assert shown.details is not None
    assert shown.details.quantization_level == "F16"


def test_pull_reports_progress_then_installs(make_ollama: Make) -> None:
    server = make_ollama(models=[], registry=[OllamaModel("phi3:mini", size=10_000)], pull_steps=2)
    with ollama.Client(host=server.url) as client:
        updates = list(client.pull("phi3:mini", stream=True))
        installed = [model.model for model in client.list().models]

    statuses = [update.status for update in updates]
    assert statuses[0] == "pulling manifest"
    assert statuses[-4:] == [
        "verifying sha256 digest",
        "writing manifest",
        "removing any unused layers",
        "success",
    ]
    layers = OllamaModel("phi3:mini", size=10_000).layers()
    progress = [update for update in updates if update.digest]
    assert len(progress) == 3 * len(layers), "an announcement and two steps per layer"
    assert [update.digest for update in progress[::3]] == [f"sha256:{d}" for d, _ in layers]
    assert progress[0].status == f"pulling {layers[0][0][:12]}"
    assert (progress[0].total, progress[0].completed) == (layers[0][1], None)
    assert progress[2].completed == layers[0][1]
    assert installed == ["phi3:mini"]


def test_pull_of_an_unknown_model_fails_inside_the_stream(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError, match="file does not exist"):
        list(client.pull("no-such-model", stream=True))
    with pytest.raises(ollama.ResponseError) as caught:
        client.pull("no-such-model", stream=False)

    assert caught.value.status_code == 500


def test_version_is_reported(make_ollama: Make) -> None:
    server = make_ollama(version="0.9.1")

    assert httpx.get(f"{server.url}/api/version").json() == {"version": "0.9.1"}
    assert httpx.head(f"{server.url}/api/version").status_code == 200


def test_unknown_model_is_404_with_ollamas_text(client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as chat_error:
        client.chat(model="mistral", messages=USER)
    with pytest.raises(ollama.ResponseError) as embed_error:
        client.embed(model="mistral", input="x")

    assert chat_error.value.status_code == 404
    assert chat_error.value.error == "model 'mistral' not found"
    assert embed_error.value.status_code == 404
    assert embed_error.value.error == 'model "mistral" not found, try pulling it first'


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model": "nomic-embed-text"}, '"nomic-embed-text" does not support chat'),
        ({"model": "llama3.2", "think": True}, '"llama3.2" does not support thinking'),
        ({"model": "llama3.2", "keep_alive": "soon"}, 'time: invalid duration "soon"'),
        ({"model": "llama3.2", "top_logprobs": 21}, "top_logprobs must be between 0 and 20"),
    ],
)
def test_bad_requests_are_400_with_ollamas_text(
    client: ollama.Client, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(messages=USER, **arguments)

    assert caught.value.status_code == 400
    assert caught.value.error == message


def test_malformed_bodies_get_go_style_errors(fake_ollama: FakeOllama) -> None:
    with httpx.Client(base_url=fake_ollama.url) as http:
        empty = http.post("/api/chat", content=b"")
        broken = http.post("/api/chat", content=b"{nope")
        wrong = http.post("/api/chat", json={"model": "llama3.2", "messages": "hi"})
        numbers = http.post("/api/embed", json={"model": "nomic-embed-text", "input": [1, 2]})
        nameless = http.post("/api/chat", json={"messages": []})
        method = http.get("/api/chat")

    assert (empty.status_code, empty.json()) == (400, {"error": "missing request body"})
    assert broken.json() == {"error": "invalid character 'n' looking for beginning of value"}
    assert wrong.json()["error"].startswith("json: cannot unmarshal string into Go struct field")
    assert (numbers.status_code, numbers.json()) == (400, {"error": "invalid input type"})
    assert (nameless.status_code, nameless.json()) == (400, {"error": "model is required"})
    assert (method.status_code, method.text) == (405, "405 method not allowed")


def test_a_stream_failing_before_its_first_line_is_an_error_status(
    fake_ollama: FakeOllama,
) -> None:
    # Ollama's streamResponse: nothing written yet, so the error gets its own status (500)
    # and body, under the bare application/json it presets; the client sees that status.
    crash = "model runner has unexpectedly stopped"
    fake_ollama.faults.add(Fault.error_mid_stream(0, crash), times=2)
    with (
        ollama.Client(host=fake_ollama.url) as client,
        pytest.raises(ollama.ResponseError) as caught,
    ):
        list(client.chat(model="llama3.2", messages=USER, stream=True))
    raw = httpx.post(f"{fake_ollama.url}/api/chat", json={"model": "llama3.2", "messages": USER})

    assert (caught.value.status_code, caught.value.error) == (500, crash)
    assert (raw.status_code, raw.headers["content-type"]) == (500, "application/json")
    assert raw.content == json.dumps({"error": crash}, separators=(",", ":")).encode()


def test_content_types_are_the_ones_gin_sends(fake_ollama: FakeOllama) -> None:
    chat = {"model": "llama3.2", "messages": USER, "stream": False}
    with httpx.Client(base_url=fake_ollama.url) as http:
        whole = http.post("/api/chat", json=chat)
        refused = http.post("/api/chat", json={**chat, "model": "mistral"})
        refused_stream = http.post("/api/chat", json={"model": "mistral", "messages": USER})
        pulled = http.post("/api/pull", json={"model": "llama3.2", "stream": False})
        pull_failed = http.post("/api/pull", json={"model": "no-such-model", "stream": False})
        unknown = http.get("/api/nothing")
        wrong_method = http.get("/api/chat")
    with ollama.Client(host=fake_ollama.url) as client:
        quiet_pull = client.pull("llama3.2", stream=False)

    c_json = "application/json; charset=utf-8"  # gin's c.JSON
    assert [r.headers["content-type"] for r in (whole, refused, refused_stream)] == [c_json] * 3
    # waitForStream sets the type itself before c.JSON, and gin keeps a preset type.
    assert (pulled.headers["content-type"], pulled.json()) == (
        "application/json",
        {"status": "success"},
    )
    assert (pull_failed.status_code, pull_failed.headers["content-type"]) == (
        500,
        "application/json",
    )
    assert quiet_pull.status == "success"
    # gin's own 404 and 405 (serveError) are bare text/plain.
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, "text/plain")
    assert (wrong_method.status_code, wrong_method.headers["content-type"]) == (405, "text/plain")


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("3.5", "number 3.5"),
        ("1e3", "number 1e3"),  # quoted as written, not as Python reads it
        ("9223372036854775808", "number 9223372036854775808"),  # beyond int64
        ('"8"', "string"),
        ("true", "bool"),
        ("[8]", "array"),
    ],
)
def test_embed_dimensions_that_are_not_an_int_are_a_go_decoding_error(
    fake_ollama: FakeOllama, written: str, found: str
) -> None:
    # Unreachable through the official client, whose pydantic model makes an int of "8"
    # and refuses 3.5 itself; any other client gets Ollama's 400. Decoding fails before
    # any check, so even a request without a model gets this error.
    body = f'{{"model":"nomic-embed-text","input":"alpha","dimensions":{written}}}'
    with httpx.Client(base_url=fake_ollama.url) as http:
        refused = http.post("/api/embed", content=body.encode())
        nameless = http.post("/api/embed", content=f'{{"dimensions":{written}}}'.encode())
        unset = http.post("/api/embed", content=body.replace(written, "null").encode())

    error = (
        f"json: cannot unmarshal {found} into Go struct field EmbedRequest.dimensions of type int"
    )
    assert (refused.status_code, refused.json()) == (400, {"error": error})
    assert nameless.json() == {"error": error}
    assert len(unset.json()["embeddings"][0]) == 768


def test_keep_alive_takes_the_micro_sign_and_the_greek_mu_like_go(client: ollama.Client) -> None:
    # time.ParseDuration accepts U+00B5 (what Duration.String writes) and U+03BC alike.
    expiries = []
    for micro in ("\u00b5", "\u03bc"):
        asked = datetime.now(UTC)
        client.embed(model="nomic-embed-text", input="x", keep_alive=f"300000000{micro}s")
        (loaded,) = [m for m in client.ps().models if m.model == "nomic-embed-text:latest"]
        assert loaded.expires_at is not None
        expiries.append(loaded.expires_at - asked)

    assert all(timedelta(seconds=299) < left < timedelta(seconds=302) for left in expiries)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("llama3.2", "llama3.2:latest"),
        ("Llama3.2:Latest", "llama3.2:latest"),
        ("library/llama3.2", "llama3.2:latest"),
        ("registry.ollama.ai/library/llama3.2:1b", "llama3.2:1b"),
        ("user/model", "user/model:latest"),
        ("host:5000/user/model", "host:5000/user/model:latest"),
    ],
)
def test_names_are_normalised_like_ollama(given: str, canonical: str) -> None:
    assert canonical_name(given) == canonical


def test_models_can_change_while_running(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_model(OllamaModel("gemma3:1b"))
    fake_ollama.remove_model("nomic-embed-text")

    with ollama.Client(host=fake_ollama.url) as client:
        names = [model.model for model in client.list().models]
        reply = client.chat(model="gemma3:1b", messages=USER, stream=False)

    assert sorted(names) == ["gemma3:1b", "llama3.2:latest"]
    assert reply.done is True
    assert fake_ollama.loaded == ["gemma3:1b", "llama3.2:latest"], "longest to live first"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.mark.anyio
async def test_async_client_streams_under_both_backends(fake_ollama: FakeOllama) -> None:
    client = ollama.AsyncClient(host=fake_ollama.url)
    try:
        stream = await client.chat(model="llama3.2", messages=USER, stream=True)
        parts = [part async for part in stream]
    finally:
        await client._client.aclose()

    assert parts[-1].done is True
    assert len(parts) == 9


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["city"],
        },
    },
}
NOW = {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
ASK_WEATHER = [{"role": "user", "content": "What is the weather in Paris?"}]


def test_offered_tools_get_one_whole_call_with_schema_arguments(client: ollama.Client) -> None:
    reply = client.chat("llama3.2", ASK_WEATHER, tools=[WEATHER, NOW], stream=False)

    assert reply.done_reason == "stop", "Ollama's native API says stop after a call"
    assert reply.message.content == ""
    (call,) = reply.message.tool_calls or []
    assert call.function.name == "get_weather"
    assert call.function.arguments == {"city": "example", "unit": "celsius", "days": 1}


def test_a_streamed_call_comes_whole_in_one_chunk_before_done(client: ollama.Client) -> None:
    parts = list(client.chat("llama3.2", ASK_WEATHER, tools=[WEATHER], stream=True))

    assert [part.done for part in parts] == [False, True]
    calls = parts[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]
    assert parts[1].message.tool_calls is None
    assert parts[1].eval_count


def test_the_tool_the_user_names_is_called(client: ollama.Client) -> None:
    ask = [{"role": "user", "content": "call now please"}]
    reply = client.chat("llama3.2", ask, tools=[WEATHER, NOW], stream=False)

    calls = reply.message.tool_calls or []
    assert [(c.function.name, c.function.arguments) for c in calls] == [("now", {})]


def test_after_a_tool_result_the_model_answers_in_text(client: ollama.Client) -> None:
    history = [
        *ASK_WEATHER,
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
        },
        {"role": "tool", "content": "18 degrees", "tool_name": "get_weather"},
    ]
    reply = client.chat("llama3.2", history, tools=[WEATHER], stream=False)

    assert reply.message.tool_calls is None
    assert reply.message.content


def test_calls_can_be_switched_off(make_ollama: Make) -> None:
    server = make_ollama(call_tools=False, reply="No call")
    with ollama.Client(host=server.url) as client:
        reply = client.chat("llama3.2", ASK_WEATHER, tools=[WEATHER], stream=False)

    assert (reply.message.content, reply.message.tool_calls) == ("No call", None)


def test_a_model_without_tools_refuses_them(make_ollama: Make) -> None:
    server = make_ollama(models=[OllamaModel("gemma:2b", capabilities=("completion",))])
    with ollama.Client(host=server.url) as client, pytest.raises(ollama.ResponseError) as caught:
        client.chat("gemma:2b", ASK_WEATHER, tools=[WEATHER])

    assert caught.value.status_code == 400
    assert caught.value.error == "registry.ollama.ai/library/gemma:2b does not support tools"


THINKER = OllamaModel("qwen3:latest", capabilities=("completion", "tools", "thinking"))


def test_think_streams_reasoning_before_the_answer(make_ollama: Make) -> None:
    server = make_ollama(models=[THINKER], reply="Paris", think_tokens=3)
    with ollama.Client(host=server.url) as client:
        parts = list(client.chat("qwen3", USER, think=True, stream=True))
        whole = client.chat("qwen3", USER, think=True, stream=False)
        plain = client.chat("qwen3", USER, think=False, stream=False)

    assert [(bool(p.message.thinking), p.message.content) for p in parts] == [
        (True, ""),
        (True, ""),
        (True, ""),
        (False, "Paris"),
        (False, ""),
    ]
    assert whole.message.thinking == "".join(p.message.thinking or "" for p in parts)
    assert whole.message.content == "Paris"
    assert whole.eval_count == 4, "reasoning tokens are generated tokens too"
    assert (plain.message.thinking, plain.message.content) == (None, "Paris")
