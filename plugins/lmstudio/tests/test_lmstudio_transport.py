"""Every operation against scripted answers: the exact bytes of LM Studio, llama.cpp and vLLM."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from struct import pack
from typing import Any

import pytest
from lmstudio_testkit import (
    DONE,
    NOT_FOUND,
    Script,
    answer,
    chat_request,
    collect,
    completion,
    completion_chunks,
    context,
    embed_request,
    event,
    json_reply,
    raw,
    read_into,
    refuse,
    sse,
)

from aegis_llm.errors import (
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    StreamInterrupted,
    Unsupported,
)
from aegis_llm_lmstudio._chat import chat, stream_chat
from aegis_llm_lmstudio._embed import embed
from aegis_llm_lmstudio._health import health
from aegis_llm_lmstudio._loading import load_model, unload_model
from aegis_llm_lmstudio._models import list_models

pytestmark = pytest.mark.anyio

V0_MODELS = {
    "object": "list",
    "data": [
        {
            "id": "qwen2.5-7b-instruct",
            "object": "model",
            "type": "llm",
            "publisher": "lmstudio-community",
            "arch": "qwen2",
            "compatibility_type": "gguf",
            "quantization": "Q4_K_M",
            "state": "loaded",
            "max_context_length": 32768,
        },
        {
            "id": "text-embedding-nomic-embed-text-v1.5",
            "object": "model",
            "type": "embeddings",
            "state": "not-loaded",
            "max_context_length": 2048,
            "quantization": "Q8_0",
        },
    ],
}
LLAMACPP_MODELS = {
    "object": "list",
    "data": [
        {
            "id": "/models/tiny.gguf",
            "object": "model",
            "owned_by": "llamacpp",
            "meta": {"n_ctx_train": 4096, "n_embd": 64, "size": 566720},
        }
    ],
}
STATS = {"tokens_per_second": 50.0, "time_to_first_token": 0.05, "generation_time": 0.2}
USAGE = {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
NO_MODELS = {
    "error": {
        "message": "No models loaded. Please load a model in the developer page or use the "
        "'lms load' command.",
        "type": "invalid_request_error",
        "param": "model",
        "code": None,
    }
}


def lmstudio(**routes: object) -> Script:
    """LM Studio: native model list plus the given extra routes."""
    script = Script({("GET", "/api/v0/models"): answer(V0_MODELS)})
    script.routes.update(routes)  # type: ignore[arg-type]
    return script


# Chat.


async def test_lm_studio_chat_goes_through_the_native_api_for_its_stats() -> None:
    script = Script(
        {
            ("GET", "/api/v0/models"): answer(V0_MODELS),
            ("POST", "/api/v0/chat/completions"): answer(
                completion("Hello!", usage=USAGE, stats=STATS)
            ),
        }
    )
    ctx = context(script)
    first = await chat(ctx, chat_request("qwen2.5-7b-instruct", max_tokens=5))
    await chat(ctx, chat_request("qwen2.5-7b-instruct"))
    assert first.content == "Hello!"
    assert (first.provider, first.model, first.finish_reason) == (
        "lmstudio",
        "served-model",
        "stop",
    )
    assert first.usage.total_tokens == 7
    assert first.usage.tokens_per_second == 50.0
    assert first.usage.time_to_first_token_seconds == 0.05
    assert script.paths.count("/api/v0/models") == 1  # detected once per client
    assert script.bodies("/api/v0/chat/completions")[0]["max_tokens"] == 5
    await ctx.aclose()


async def test_other_servers_chat_on_v1_and_report_llama_cpp_timings() -> None:
    timings = {"prompt_ms": 12.0, "predicted_ms": 60.0, "predicted_per_second": 50.0}
    script = Script(
        {("POST", "/v1/chat/completions"): answer(completion("x", usage=USAGE, timings=timings))}
    )
    reply = await chat(context(script, base_url="http://gpu:8080/v1"), chat_request())
    assert script.paths == ["/api/v0/models", "/v1/chat/completions"]
    assert reply.usage.completion_seconds == pytest.approx(0.06)
    assert reply.usage.tokens_per_second == 50.0


async def test_native_api_pinned_off_skips_the_probe() -> None:
    script = Script({("POST", "/v1/chat/completions"): answer(completion("x"))})
    await chat(context(script, native_api=False), chat_request())
    assert script.paths == ["/v1/chat/completions"]


@pytest.mark.parametrize(
    "reply", [answer(NOT_FOUND, status=404), answer({"error": "Unexpected endpoint or method."})]
)
async def test_native_api_pinned_on_fails_loudly_where_there_is_none(reply: object) -> None:
    script = Script({("GET", "/api/v0/models"): reply})  # type: ignore[dict-item]
    with pytest.raises((ProviderError, ProtocolError)):
        await list_models(context(script, native_api=True))
    assert script.paths == ["/api/v0/models"]


async def test_an_old_lm_studio_answering_200_to_unknown_paths_falls_back_to_v1() -> None:
    unknown = {"error": "Unexpected endpoint or method. (GET /api/v0/models)"}
    script = Script(
        {
            ("GET", "/api/v0/models"): answer(unknown),
            ("POST", "/v1/chat/completions"): answer(completion("x")),
        }
    )
    assert (await chat(context(script), chat_request())).content == "x"


async def test_a_tool_call_answer_has_empty_text() -> None:
    script = Script({("POST", "/v1/chat/completions"): answer(completion(None))})
    assert (await chat(context(script, native_api=False), chat_request())).content == ""


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"choices": []}',
        b'{"choices": [{"message": "text"}]}',
        b'{"choices": [{"message": {"content": 5}}]}',
    ],
)
async def test_malformed_answers_are_protocol_errors_naming_the_provider(body: bytes) -> None:
    script = Script({("POST", "/v1/chat/completions"): raw(body)})
    with pytest.raises(ProtocolError) as caught:
        await chat(context(script, native_api=False, name="vllm"), chat_request())
    assert caught.value.provider == "vllm"


async def test_an_error_object_in_a_200_answer_is_the_servers_error() -> None:
    script = Script(
        {("POST", "/v1/chat/completions"): answer({"error": {"message": "boom", "code": 500}})}
    )
    with pytest.raises(ProviderError, match="boom"):
        await chat(context(script, native_api=False), chat_request())


async def test_a_flat_vllm_error_object_in_a_200_answer_is_the_servers_error() -> None:
    flat = {"object": "error", "message": "bad sampler", "type": "BadRequestError", "code": 400}
    script = Script({("POST", "/v1/chat/completions"): answer(flat)})
    with pytest.raises(ProviderError, match="bad sampler") as caught:
        await chat(context(script, native_api=False), chat_request())
    assert caught.value.status_code == 400


async def test_an_oversized_answer_is_a_protocol_error() -> None:
    big = json.dumps(completion("x" * 5000)).encode()
    script = Script({("POST", "/v1/chat/completions"): raw(big)})
    ctx = context(script, native_api=False, core={"max_response_bytes": 1024})
    with pytest.raises(ProtocolError, match="max_response_bytes"):
        await chat(ctx, chat_request())


@pytest.mark.parametrize("status", [400, 404])
async def test_no_models_loaded_names_the_model_and_how_to_load_one(status: int) -> None:
    script = lmstudio()
    script.routes[("POST", "/api/v0/chat/completions")] = answer(NO_MODELS, status=status)
    with pytest.raises(ModelNotFound) as caught:
        await chat(context(script), chat_request("qwen2.5-7b-instruct"))
    assert caught.value.model == "qwen2.5-7b-instruct"
    assert caught.value.provider == "lmstudio"
    assert "lms load" in str(caught.value)


async def test_unknown_model_on_vllm_is_model_not_found() -> None:
    flat = {"object": "error", "message": "The model `nope` does not exist.", "code": 404}
    script = Script({("POST", "/v1/chat/completions"): answer(flat, status=404)})
    with pytest.raises(ModelNotFound) as caught:
        await chat(context(script, native_api=False), chat_request("nope"))
    assert caught.value.model == "nope"


async def test_401_never_shows_the_key() -> None:
    refusal = {"error": {"message": "Incorrect API key provided: sk-live-999", "code": 401}}
    script = Script({("GET", "/api/v0/models"): answer(refusal, status=401)})
    with pytest.raises(AuthenticationError) as caught:
        await chat(context(script, api_key="sk-live-999"), chat_request())
    assert "sk-live-999" not in str(caught.value)
    assert "sk-live-999" not in repr(caught.value)
    assert script.requests[0].headers["authorization"] == "Bearer sk-live-999"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),  # openai-python's order
        ({"Retry-After": "<30 s from now as an HTTP date>"}, 30.0),
    ],
)
async def test_429_carries_retry_after(headers: dict[str, str], seconds: float) -> None:
    if headers["Retry-After"].startswith("<"):  # made now: collection may be long past
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        headers = {"Retry-After": format_datetime(when, usegmt=True)}
    script = Script(
        {
            ("POST", "/v1/chat/completions"): answer(
                {"error": {"message": "slow down"}}, status=429, headers=headers
            )
        }
    )
    with pytest.raises(RateLimited) as caught:
        await chat(context(script, native_api=False), chat_request())
    assert caught.value.retry_after == pytest.approx(seconds, abs=2.0)
    assert caught.value.retryable


async def test_connection_refused_says_how_to_start_the_server() -> None:
    with pytest.raises(ProviderUnavailable) as refused:
        await chat(context(refuse, name="lab"), chat_request())
    assert refused.value.refused
    assert refused.value.provider == "lab"
    assert "lms server start" in str(refused.value)
    assert "AEGIS_LLM_LAB_BASE_URL" in str(refused.value)


# Streaming.


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_stream_yields_text_then_a_done_chunk_with_usage() -> None:
    script = lmstudio()
    script.routes[("POST", "/v1/chat/completions")] = sse(
        completion_chunks(["Hel", "lo", " wörld"], usage=USAGE)
    )
    chunks = await collect(stream_chat(context(script), chat_request("qwen", max_tokens=9)))
    assert [c.content for c in chunks] == ["Hel", "lo", " wörld", ""]
    assert [c.done for c in chunks] == [False, False, False, True]
    last = chunks[-1]
    assert (last.finish_reason, last.model, last.provider) == ("stop", "served-model", "lmstudio")
    assert last.usage is not None
    assert last.usage.total_tokens == 7
    sent = script.bodies("/v1/chat/completions")[0]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_stream_skips_comments_pings_and_empty_deltas() -> None:
    events = completion_chunks(["a", "", "b"])
    events.insert(2, b": ping\n\n")
    events.insert(0, b":\n\n")
    script = Script({("POST", "/v1/chat/completions"): sse(events)})
    chunks = await collect(stream_chat(context(script, native_api=False), chat_request()))
    assert [c.content for c in chunks] == ["a", "b", ""]


async def test_stream_without_done_is_interrupted_with_the_partial_text() -> None:
    script = Script(
        {("POST", "/v1/chat/completions"): sse(completion_chunks(["par", "tial"], done=False))}
    )
    received: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        await read_into(received, stream_chat(context(script, native_api=False), chat_request()))
    assert received == ["par", "tial"]
    assert caught.value.partial == "partial"
    assert caught.value.provider == "lmstudio"


async def test_stream_cut_before_any_text_is_a_protocol_error() -> None:
    events = completion_chunks(["never sent"], done=False)[:1]  # the role chunk only
    script = Script({("POST", "/v1/chat/completions"): sse(events)})
    with pytest.raises(ProtocolError, match="DONE") as caught:
        await collect(stream_chat(context(script, native_api=False), chat_request()))
    assert caught.value.provider == "lmstudio"


@pytest.mark.parametrize(
    ("error_event", "kind"),
    [
        (event({"code": 500, "message": "KV cache full"}, "error"), ProviderError),
        (event(NO_MODELS), ModelNotFound),
    ],
)
async def test_an_error_event_before_any_text_is_the_servers_error(
    error_event: bytes, kind: type[Exception]
) -> None:
    script = Script({("POST", "/v1/chat/completions"): sse([error_event])})
    with pytest.raises(kind) as caught:
        await collect(stream_chat(context(script, native_api=False), chat_request("m1")))
    assert not isinstance(caught.value, StreamInterrupted)


async def test_llama_cpp_error_field_mid_stream_is_interrupted() -> None:
    events = completion_chunks(["so", "me"], done=False)[:3]
    events.append(event({"code": 500, "message": "KV cache full", "type": "server_error"}, "error"))
    script = Script({("POST", "/v1/chat/completions"): sse(events)})
    with pytest.raises(StreamInterrupted, match="KV cache full") as caught:
        await collect(stream_chat(context(script, native_api=False), chat_request()))
    assert caught.value.partial == "some"
    assert isinstance(caught.value.__cause__, ProviderError)


async def test_vllm_error_event_before_done_is_interrupted() -> None:
    error = {"error": {"object": "error", "message": "bad sampler", "code": 400}}
    events = [*completion_chunks(["x"], done=False)[:2], event(error), DONE]
    script = Script({("POST", "/v1/chat/completions"): sse(events)})
    with pytest.raises(StreamInterrupted, match="bad sampler") as caught:
        await collect(stream_chat(context(script, native_api=False), chat_request()))
    assert caught.value.partial == "x"


@pytest.mark.parametrize("text_first", [False, True])
async def test_a_flat_vllm_error_event_is_not_swallowed(text_first: bool) -> None:
    flat = {"object": "error", "message": "bad sampler", "type": "BadRequestError", "code": 400}
    events = completion_chunks(["x"], done=False)[: 2 if text_first else 1]
    script = Script({("POST", "/v1/chat/completions"): sse([*events, event(flat), DONE])})
    expected = StreamInterrupted if text_first else ProviderError
    with pytest.raises(expected, match="bad sampler"):
        await collect(stream_chat(context(script, native_api=False), chat_request()))


async def test_malformed_event_before_any_text_is_a_protocol_error() -> None:
    script = Script({("POST", "/v1/chat/completions"): sse([b"data: {oops\n\n"])})
    with pytest.raises(ProtocolError) as caught:
        await collect(stream_chat(context(script, native_api=False), chat_request()))
    assert caught.value.provider == "lmstudio"


async def test_malformed_event_after_text_keeps_the_partial() -> None:
    events = [*completion_chunks(["kept"], done=False)[:2], b"data: [1, 2]\n\n"]
    script = Script({("POST", "/v1/chat/completions"): sse(events)})
    with pytest.raises(StreamInterrupted) as caught:
        await collect(stream_chat(context(script, native_api=False), chat_request()))
    assert caught.value.partial == "kept"
    assert isinstance(caught.value.__cause__, ProtocolError)


@pytest.mark.parametrize("status", [400, 404])
async def test_stream_refused_with_no_models_loaded(status: int) -> None:
    script = lmstudio()
    script.routes[("POST", "/v1/chat/completions")] = answer(NO_MODELS, status=status)
    with pytest.raises(ModelNotFound) as caught:
        await collect(stream_chat(context(script), chat_request("qwen")))
    assert caught.value.model == "qwen"


async def test_vllm_usage_chunk_with_null_choices() -> None:
    events = completion_chunks(["a"], done=False)
    events += [event({"choices": None, "usage": USAGE}), DONE]
    script = Script({("POST", "/v1/chat/completions"): sse(events)})
    chunks = await collect(stream_chat(context(script, native_api=False), chat_request()))
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 4


async def test_closing_a_stream_early_releases_the_connection() -> None:
    script = Script({("POST", "/v1/chat/completions"): sse(completion_chunks(["a", "b", "c"]))})
    ctx = context(script, native_api=False)
    stream = stream_chat(ctx, chat_request())
    first = await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]
    assert first.content == "a"
    await ctx.aclose()


@pytest.mark.parametrize(
    "call",
    [
        lambda ctx: chat(ctx, chat_request(extra={"stream": True})),
        lambda ctx: collect(stream_chat(ctx, chat_request(seed=1, extra={"seed": 2}))),
        lambda ctx: embed(ctx, embed_request("a", extra={"model": "other"})),
    ],
)
async def test_contradictory_extra_is_rejected_before_any_request(call: Any) -> None:
    script = lmstudio()
    with pytest.raises(InvalidRequest):
        await call(context(script))
    assert script.requests == []


# Embeddings.


def embeddings(*vectors: list[float], reverse: bool = False, **extra: object) -> dict[str, object]:
    items = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
    return {"object": "list", "data": items[::-1] if reverse else items, **extra}


async def test_embeddings_come_back_in_input_order() -> None:
    body = embeddings([1.0, 0.0], [0.0, 1.0], [0.5, 0.5], reverse=True, model="nomic@q8")
    body["usage"] = {"prompt_tokens": 3, "total_tokens": 3}
    script = Script({("POST", "/v1/embeddings"): answer(body)})
    result = await embed(context(script), embed_request("a", "b", "c", model="nomic"))
    assert result.vectors == [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]
    assert (result.dimensions, result.model, result.provider) == (2, "nomic@q8", "lmstudio")
    assert result.usage.prompt_tokens == 3
    assert script.bodies("/v1/embeddings") == [{"model": "nomic", "input": ["a", "b", "c"]}]


async def test_base64_embeddings_are_little_endian_float32() -> None:
    vectors = [[0.5, -2.0, 1e-3], [3.25, 0.0, -1.0]]
    items = [
        {"object": "embedding", "index": i, "embedding": base64.b64encode(pack("<3f", *v)).decode()}
        for i, v in enumerate(vectors)
    ]
    script = Script({("POST", "/v1/embeddings"): answer({"object": "list", "data": items})})
    request = embed_request("a", "b", extra={"encoding_format": "base64"})
    result = await embed(context(script, native_api=False), request)
    assert result.vectors == [pytest.approx(v) for v in vectors]
    assert result.dimensions == 3


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"12345").decode()])
async def test_broken_base64_embeddings_are_protocol_errors(bad: str) -> None:
    items = [{"object": "embedding", "index": 0, "embedding": bad}]
    script = Script({("POST", "/v1/embeddings"): answer({"object": "list", "data": items})})
    with pytest.raises(ProtocolError, match="base64"):
        await embed(context(script, native_api=False), embed_request("a"))


async def test_zero_usage_from_old_lm_studio_is_unknown_not_zero() -> None:
    body = embeddings([1.0, 0.0])
    body["usage"] = {"prompt_tokens": 0, "total_tokens": 0}
    script = Script({("POST", "/v1/embeddings"): answer(body)})
    result = await embed(context(script), embed_request("some text"))
    assert (result.usage.prompt_tokens, result.usage.total_tokens) == (None, None)


@pytest.mark.parametrize(
    "body",
    [
        embeddings([1.0]),  # one vector for two inputs
        embeddings([1.0], [1.0, 2.0]),  # different lengths
        embeddings([1.0], ["x"]),  # not numbers
        embeddings([], []),  # empty vectors
        {
            "object": "list",
            "data": [{"index": 0, "embedding": [1.0]}, {"index": 0, "embedding": [2.0]}],
        },
        {"data": "nope"},
    ],
)
async def test_malformed_embeddings_are_protocol_errors(body: dict[str, object]) -> None:
    script = Script({("POST", "/v1/embeddings"): answer(body)})
    with pytest.raises(ProtocolError) as caught:
        await embed(context(script), embed_request("a", "b"))
    assert caught.value.provider == "lmstudio"


async def test_ignored_dimensions_are_an_error_not_a_silent_wrong_size() -> None:
    script = Script({("POST", "/v1/embeddings"): answer(embeddings([1.0, 2.0, 3.0]))})
    with pytest.raises(ProviderError, match="dimensions"):
        await embed(context(script), embed_request("a", dimensions=2))


# Models.


async def test_lm_studio_models_tell_loaded_kind_context_and_quantization() -> None:
    models = await list_models(context(lmstudio()))
    chat_model, embedder = models
    assert (chat_model.id, chat_model.kind, chat_model.loaded) == (
        "qwen2.5-7b-instruct",
        "chat",
        True,
    )
    assert (chat_model.context_length, chat_model.quantization) == (32768, "Q4_K_M")
    assert chat_model.details["arch"] == "qwen2"
    assert (embedder.kind, embedder.loaded, embedder.context_length) == ("embedding", False, 2048)


async def test_servers_without_the_native_list_fall_back_to_v1_models() -> None:
    script = Script({("GET", "/v1/models"): answer(LLAMACPP_MODELS)})
    ctx = context(script, name="llamacpp")
    [model] = await list_models(ctx)
    await list_models(ctx)
    assert (model.id, model.provider, model.kind, model.loaded) == (
        "/models/tiny.gguf",
        "llamacpp",
        "unknown",
        None,
    )
    assert (model.context_length, model.size_bytes) == (4096, 566720)
    assert script.paths == ["/api/v0/models", "/v1/models", "/v1/models"]


@pytest.mark.parametrize(
    "body", [{"data": [{"object": "model"}]}, {"data": [7]}, {"models": []}, [1]]
)
async def test_malformed_model_lists_are_protocol_errors(body: object) -> None:
    script = Script({("GET", "/v1/models"): answer(body)})
    with pytest.raises(ProtocolError):
        await list_models(context(script, native_api=False))


async def test_a_failing_native_list_is_not_mistaken_for_a_missing_one() -> None:
    script = Script({("GET", "/api/v0/models"): answer({"error": "boom"}, status=500)})
    with pytest.raises(ProviderError):
        await list_models(context(script))
    assert script.paths == ["/api/v0/models"]


# Health.


async def test_lm_studio_health_lists_loaded_models() -> None:
    report = await health(context(lmstudio()))
    assert (report.status, report.reason, report.provider) == ("up", None, "lmstudio")
    assert [m.name for m in report.loaded_models] == ["qwen2.5-7b-instruct"]
    assert report.details == {"api": "lmstudio", "models": 2}
    assert report.latency_seconds is not None


async def test_lm_studio_without_a_loaded_model_is_up_and_says_how_to_load() -> None:
    unloaded = {"data": [{**V0_MODELS["data"][1]}]}  # type: ignore[index]
    script = Script({("GET", "/api/v0/models"): answer(unloaded)})
    report = await health(context(script))
    assert report.status == "up"
    assert report.message is not None
    assert "lms load" in report.message


async def test_llama_cpp_loading_is_degraded_not_down() -> None:
    loading = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    script = Script(
        {
            ("GET", "/v1/models"): answer({"data": [{"id": "m", "meta": None}]}),
            ("GET", "/health"): answer(loading, status=503),
        }
    )
    report = await health(context(script))
    assert (report.status, report.reason) == ("degraded", "loading")


async def test_a_server_with_a_healthy_health_endpoint_is_up() -> None:
    script = Script({("GET", "/v1/models"): answer(LLAMACPP_MODELS), ("GET", "/health"): raw(b"")})
    report = await health(context(script))
    assert report.status == "up"
    assert script.paths == ["/api/v0/models", "/v1/models", "/health"]


async def test_no_models_at_all_is_degraded() -> None:
    script = Script({("GET", "/api/v0/models"): answer({"object": "list", "data": []})})
    report = await health(context(script))
    assert (report.status, report.reason) == ("degraded", "model_missing")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (answer({"error": {"message": "Invalid API Key"}}, status=401), "auth"),
        (answer({"error": "busy"}, status=429), "busy"),
        (raw(b"<html>"), "error"),
    ],
)
async def test_unhealthy_servers_are_reports_not_exceptions(reply: object, reason: str) -> None:
    script = Script({("GET", "/v1/models"): reply})  # type: ignore[dict-item]
    report = await health(context(script, native_api=False, api_key="k"))
    assert report.reason == reason
    assert report.status == ("degraded" if reason == "busy" else "down")
    assert report.message


async def test_an_unreachable_server_is_down_with_a_hint() -> None:
    report = await health(context(refuse, name="vllm"))
    assert (report.status, report.reason, report.provider) == ("down", "unreachable", "vllm")
    assert report.latency_seconds is None, "no answer, so no round trip to report"
    assert report.message is not None
    assert "AEGIS_LLM_VLLM_BASE_URL" in report.message


# Loading and unloading (LM Studio 0.4+).


V1_MODELS = {
    "models": [
        {
            "type": "llm",
            "key": "qwen",
            "loaded_instances": [
                {"id": "qwen", "config": {"context_length": 4096}},
                {"id": "qwen:2", "config": {"context_length": 8192}},
            ],
            "max_context_length": 32768,
        },
        {"type": "embedding", "key": "nomic", "loaded_instances": []},
    ]
}


def v1_server(**routes: object) -> Script:
    """LM Studio 0.4+: the v1 model list plus the given routes."""
    script = Script({("GET", "/api/v1/models"): answer(V1_MODELS)})
    script.routes.update(routes)  # type: ignore[arg-type]
    return script


@pytest.mark.parametrize(
    "reply",
    [
        {
            "model_instance_id": "nomic",
            "config": {"context_length": 2048},
            "load_time_seconds": 2.5,
        },
        {
            "type": "embedding",
            "instance_id": "nomic",
            "status": "loaded",
            "load_config": {"context_length": 2048},
            "load_time_seconds": 2.5,
        },
    ],
)
async def test_load_reads_both_documented_answers(reply: dict[str, object]) -> None:
    script = v1_server()
    script.routes[("POST", "/api/v1/models/load")] = answer(reply)
    model = await load_model(context(script), "nomic")
    assert (model.id, model.loaded, model.context_length) == ("nomic", True, 2048)
    assert model.kind == "embedding", "from the answer, or else from the list"
    assert model.details == {"load_time_seconds": 2.5}
    assert script.bodies("/api/v1/models/load") == [{"model": "nomic"}]


@pytest.mark.parametrize(("wanted", "context_length"), [("qwen", 4096), ("qwen:2", 8192)])
async def test_loading_a_loaded_model_does_not_load_a_second_copy(
    wanted: str, context_length: int
) -> None:
    script = v1_server()
    model = await load_model(context(script), wanted)
    assert (model.id, model.kind, model.loaded) == (wanted, "chat", True)
    assert model.context_length == context_length
    assert script.paths == ["/api/v1/models"], "LM Studio would load another instance"


async def test_loading_an_unknown_model_is_model_not_found() -> None:
    missing = {"error": {"type": "model_not_found", "message": 'Model "nope" not found.'}}
    script = v1_server()
    script.routes[("POST", "/api/v1/models/load")] = answer(missing, status=404)
    with pytest.raises(ModelNotFound) as caught:
        await load_model(context(script), "nope")
    assert caught.value.model == "nope"


@pytest.mark.parametrize(
    ("wanted", "unloaded"),
    [
        ("qwen:2", ["qwen:2"]),  # one instance, by its id
        ("qwen", ["qwen", "qwen:2"]),  # a model key: every instance of it
        ("nomic", []),  # known and not loaded: nothing to do
    ],
)
async def test_unload_sends_instance_ids(wanted: str, unloaded: list[str]) -> None:
    script = v1_server()
    script.routes[("POST", "/api/v1/models/unload")] = lambda request: json_reply(
        {"instance_id": json.loads(request.content)["instance_id"]}
    )
    await unload_model(context(script), wanted)
    assert script.bodies("/api/v1/models/unload") == [{"instance_id": i} for i in unloaded]


async def test_unloading_an_unknown_model_is_model_not_found() -> None:
    with pytest.raises(ModelNotFound, match="nope"):
        await unload_model(context(v1_server()), "nope")


@pytest.mark.parametrize(
    "reply",
    [
        answer(NOT_FOUND, status=404),  # llama-cpp-python, vLLM
        answer({"error": {"message": "Invalid URL (GET /api/v1/models)"}}, status=404),
        answer({"error": "Unexpected endpoint or method. (GET /api/v1/models)"}),  # old LMS
    ],
)
@pytest.mark.parametrize("operation", [load_model, unload_model])
async def test_servers_without_model_loading_say_unsupported(reply: object, operation: Any) -> None:
    script = Script({("GET", "/api/v1/models"): reply})  # type: ignore[dict-item]
    with pytest.raises(Unsupported):
        await operation(context(script), "qwen")
