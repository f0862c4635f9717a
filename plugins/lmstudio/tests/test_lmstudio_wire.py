"""Request bodies, usage normalisation and error mapping: pure functions, no I/O."""

from __future__ import annotations

import math
from typing import Any

import pytest
from lmstudio_testkit import chat_request, embed_request

from aegis_llm import ChatRequest
from aegis_llm.errors import (
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    Unsupported,
)
from aegis_llm.http import ErrorBody
from aegis_llm_lmstudio._connection import api_root
from aegis_llm_lmstudio._errors import known_error, reported_error, start_hint
from aegis_llm_lmstudio._payload import chat_body, check_chat, check_embed, embed_body
from aegis_llm_lmstudio._usage import finish_reason, usage_from
from aegis_llm_lmstudio._values import amount, count


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("http://127.0.0.1:1234", "http://127.0.0.1:1234"),
        ("http://127.0.0.1:1234/v1", "http://127.0.0.1:1234"),
        ("http://127.0.0.1:1234/v1/", "http://127.0.0.1:1234"),
        ("https://gpu.lan/llm/v1", "https://gpu.lan/llm"),
        ("http://v1", "http://v1"),  # a host called v1 is not a path
        ("http://host/v10", "http://host/v10"),
    ],
)
def test_base_url_with_or_without_v1_gives_one_root(base_url: str, root: str) -> None:
    assert api_root(base_url) == root


def test_chat_body_maps_every_typed_option() -> None:
    request = chat_request(
        "qwen", temperature=0.2, top_p=0.9, max_tokens=7, seed=3, stop=["\n", "END"]
    )
    body = chat_body(request, stream=False, native=False)
    assert body == {
        "model": "qwen",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "max_tokens": 7,
        "seed": 3,
        "stop": ["\n", "END"],
        "stream": False,
    }


def test_stream_body_asks_for_usage_unless_extra_says_otherwise() -> None:
    assert chat_body(chat_request(), stream=True, native=False)["stream_options"] == {
        "include_usage": True
    }
    custom = chat_request(extra={"stream_options": {"include_usage": False}})
    assert chat_body(custom, stream=True, native=False)["stream_options"] == {
        "include_usage": False
    }


def test_extra_passes_provider_options_through() -> None:
    request = chat_request(extra={"top_k": 40, "temperature": 1.2, "ttl": 300})
    check_chat(request, "lmstudio")
    body = chat_body(request, stream=False, native=True)
    assert (body["top_k"], body["temperature"], body["ttl"]) == (40, 1.2, 300)


@pytest.mark.parametrize(
    ("options", "clash"),
    [
        ({"extra": {"stream": True}}, "stream"),
        ({"extra": {"model": "other"}}, "model"),
        ({"extra": {"messages": []}}, "messages"),
        ({"temperature": 0.5, "extra": {"temperature": 1.9}}, "temperature"),
        ({"stop": ["x"], "extra": {"stop": ["y"], "seed": 1}}, "stop"),
    ],
)
def test_extra_may_not_contradict_the_request(options: dict[str, Any], clash: str) -> None:
    with pytest.raises(InvalidRequest, match=clash) as caught:
        check_chat(chat_request(**options), "vllm")
    assert caught.value.provider == "vllm"
    assert caught.value.hint


def test_embed_extra_may_not_contradict_the_request() -> None:
    check_embed(embed_request("a", extra={"encoding_format": "float"}), "p")
    with pytest.raises(InvalidRequest, match="input"):
        check_embed(embed_request("a", extra={"input": ["b"]}), "p")
    with pytest.raises(InvalidRequest, match="dimensions"):
        check_embed(embed_request("a", dimensions=8, extra={"dimensions": 16}), "p")


@pytest.mark.parametrize(
    ("native", "expected"),
    [
        (False, {"type": "json_object"}),
        (
            True,  # LM Studio rejects json_object: a schema accepting any object instead
            {
                "type": "json_schema",
                "json_schema": {"name": "response", "schema": {"type": "object"}},
            },
        ),
    ],
)
def test_json_mode_fits_the_server(native: bool, expected: dict[str, object]) -> None:
    body = chat_body(chat_request(response_format="json"), stream=False, native=native)
    assert body["response_format"] == expected


def test_a_schema_is_sent_as_json_schema_everywhere() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    for native in (False, True):
        body = chat_body(chat_request(response_format=schema), stream=False, native=native)
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": schema},
        }


def test_images_become_data_url_parts_and_names_are_kept() -> None:
    request = ChatRequest.model_validate(
        {
            "model": "vision",
            "messages": [
                {"role": "user", "content": "what is it?", "images": ["/9j/AAA", "iVBORw0K"]},
                {"role": "tool", "content": "42", "name": "calc", "tool_call_id": "call_1"},
            ],
        }
    )
    user, tool = chat_body(request, stream=False, native=True)["messages"]
    assert user["content"] == [
        {"type": "text", "text": "what is it?"},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AAA"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
    ]
    assert tool == {"role": "tool", "content": "42", "name": "calc", "tool_call_id": "call_1"}


def test_embed_body() -> None:
    request = embed_request("a", "", model="nomic", dimensions=256, extra={"user": "u"})
    assert embed_body(request) == {
        "model": "nomic",
        "input": ["a", ""],
        "dimensions": 256,
        "user": "u",
    }


def test_usage_from_every_dialect_in_seconds() -> None:
    usage = usage_from(
        {
            "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
            "stats": {"tokens_per_second": 51.5, "time_to_first_token": 0.111},
            "timings": {"prompt_ms": 40.0, "predicted_ms": 180.0},
        }
    )
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (5, 9, 14)
    assert usage.tokens_per_second == 51.5
    assert usage.time_to_first_token_seconds == 0.111
    assert usage.prompt_seconds == pytest.approx(0.04)
    assert usage.completion_seconds == pytest.approx(0.18)


def test_usage_drops_values_that_are_not_counts() -> None:
    usage = usage_from(
        {
            "usage": {"prompt_tokens": -1, "completion_tokens": True, "total_tokens": "3"},
            "stats": {"tokens_per_second": float("nan"), "generation_time": 10**400},
            "timings": None,
        }
    )
    assert usage.model_dump(exclude_none=True) == {}


def test_values() -> None:
    assert count(3) == 3
    assert count(False) is None
    assert amount(1500, 1000.0) == 1.5
    assert amount(math.inf) is None


@pytest.mark.parametrize(
    ("wire", "ours"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("eosFound", "other"),
        (None, None),
        (7, "other"),
    ],
)
def test_finish_reasons(wire: object, ours: str | None) -> None:
    assert finish_reason(wire) == ours


@pytest.mark.parametrize("status", [400, 404])
def test_no_models_loaded_is_model_not_found_whatever_the_status(status: int) -> None:
    body = ErrorBody(
        "No models loaded. Please load a model in the developer page or use the 'lms load' "
        "command.",
        type="invalid_request_error",
    )
    error = known_error(status, body, provider="lmstudio")
    assert isinstance(error, ModelNotFound)
    assert error.hint is not None
    assert "lms load <model>" in error.hint


@pytest.mark.parametrize("status", [400, 404])
@pytest.mark.parametrize("code", ["model_not_found", None])
def test_a_chat_model_asked_to_embed_says_which_kind_to_use(status: int, code: str | None) -> None:
    message = 'Failed to load model "qwen2.5-7b-instruct". Error: Model is not embedding.'
    body = ErrorBody(message, type="invalid_request_error", code=code)
    error = known_error(status, body, provider="lmstudio")
    assert isinstance(error, ModelNotFound)
    assert error.hint is not None
    assert "embedding" in error.hint


@pytest.mark.parametrize(
    "message", ["Model 'nomic-embed' is not a chat model", "Model 'qwen' is not an embedding model"]
)
def test_a_model_of_the_other_kind_is_unsupported_not_a_bad_request(message: str) -> None:
    # InvalidRequest would stop the chain; another provider may serve the alias.
    error = known_error(400, ErrorBody(message), provider="lmstudio")
    assert isinstance(error, Unsupported)
    assert (error.provider, message in str(error)) == ("lmstudio", True)
    assert error.hint is not None
    assert "another provider" in error.hint


def test_model_not_found_code_wins_over_a_400_status() -> None:
    body = ErrorBody("The model `x` does not exist", code="model_not_found")
    assert isinstance(known_error(400, body, provider="p"), ModelNotFound)


def test_auth_errors_name_the_instance_variable() -> None:
    error = known_error(401, ErrorBody("Invalid API Key"), provider="vllm")
    assert isinstance(error, AuthenticationError)
    assert "AEGIS_LLM_VLLM_API_KEY" in str(error)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (501, "This server does not support embeddings. Start it with `--embeddings`"),
        (500, "Llama model must be created with embedding=True to call this method"),
        (200, "Unexpected endpoint or method. (POST /api/v1/models/load)"),
    ],
)
def test_missing_features_are_unsupported(status: int, message: str) -> None:
    error = known_error(status, ErrorBody(message), provider="p")
    assert isinstance(error, Unsupported)


def test_other_errors_are_left_to_the_core() -> None:
    assert known_error(500, ErrorBody("boom"), provider="p") is None
    assert known_error(429, ErrorBody("slow down"), provider="p") is None


def test_an_error_inside_a_200_answer_keeps_the_servers_code() -> None:
    error = reported_error(ErrorBody("bad", code="400"), provider="p")
    assert isinstance(error, ProviderError)
    assert error.status_code == 400
    assert not error.retryable


def test_start_hint_names_the_instance() -> None:
    hint = start_hint("vllm", "http://127.0.0.1:8000")
    assert "AEGIS_LLM_VLLM_BASE_URL" in hint
    assert "http://127.0.0.1:8000" in hint
    assert "lms server start" in hint
