"""Request mapping, settings and the pure reading of Ollama's objects."""

from __future__ import annotations

from typing import Any

import pytest

from aegis_llm import ChatOptions, ChatRequest, EmbedRequest, Message
from aegis_llm._settings import load_provider_settings
from aegis_llm.errors import ConfigurationError, InvalidRequest, ProtocolError
from aegis_llm_ollama import OllamaSettings, canonical
from aegis_llm_ollama._errors import ServerReported
from aegis_llm_ollama._names import name_key
from aegis_llm_ollama._wire import (
    chat_body,
    chat_piece,
    embed_body,
    finish_reason,
    legacy_embed_body,
    usage,
)


def settings(**values: Any) -> OllamaSettings:
    loaded = load_provider_settings(OllamaSettings, "ollama", {}, values)
    assert isinstance(loaded, OllamaSettings)
    return loaded


def request(**options: Any) -> ChatRequest:
    return ChatRequest(
        model="llama3.2",
        messages=(Message(role="user", content="hi"),),
        options=ChatOptions(**options),
    )


def test_plain_chat_sends_only_what_was_asked() -> None:
    body = chat_body(settings(), request(), stream=True)
    assert body == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }


def test_typed_options_map_to_ollama_names() -> None:
    body = chat_body(
        settings(),
        request(temperature=0.2, top_p=0.5, seed=7, stop=["\n\n", "END"], max_tokens=64),
        stream=False,
    )
    assert body["stream"] is False
    assert body["options"] == {
        "temperature": 0.2,
        "top_p": 0.5,
        "seed": 7,
        "stop": ["\n\n", "END"],
        "num_predict": 64,
    }


@pytest.mark.parametrize(
    "response_format",
    ["json", {"type": "object", "properties": {"age": {"type": "integer"}}}],
)
def test_response_format_becomes_format(response_format: Any) -> None:
    body = chat_body(settings(), request(response_format=response_format), stream=False)
    assert body["format"] == response_format
    assert "options" not in body


def test_settings_give_keep_alive_num_ctx_and_default_options() -> None:
    body = chat_body(
        settings(keep_alive="10m", num_ctx=8192, options={"num_thread": 2, "temperature": 1.0}),
        request(temperature=0.3),
        stream=True,
    )
    assert body["keep_alive"] == "10m"
    assert body["options"] == {"num_thread": 2, "num_ctx": 8192, "temperature": 0.3}


def test_extra_overrides_settings_and_splits_request_fields_from_options() -> None:
    body = chat_body(
        settings(keep_alive="10m", num_ctx=8192),
        request(extra={"keep_alive": 0, "num_ctx": 2048, "think": False, "top_k": 20}),
        stream=True,
    )
    assert body["keep_alive"] == 0
    assert body["think"] is False
    assert body["options"] == {"num_ctx": 2048, "top_k": 20}


@pytest.mark.parametrize("bad", ["5 minutes", True, None, float("inf"), [5]])
def test_a_bad_keep_alive_per_call_is_refused_before_sending(bad: object) -> None:
    with pytest.raises(InvalidRequest, match="keep_alive") as caught:
        chat_body(settings(), request(extra={"keep_alive": bad}), stream=True)
    assert caught.value.hint is not None
    with pytest.raises(InvalidRequest, match="keep_alive"):
        embed_body(settings(), EmbedRequest(model="m", inputs=("a",), extra={"keep_alive": bad}))


def test_request_fields_in_extra_are_not_buried_in_options() -> None:
    extra = {"logprobs": True, "top_logprobs": 3, "format": "json", "shift": False}
    body = chat_body(settings(), request(extra=extra), stream=True)
    assert {key: body[key] for key in extra} == extra
    assert "options" not in body


def test_the_typed_response_format_wins_over_extra_format() -> None:
    body = chat_body(settings(), request(response_format="json", extra={"format": {}}), stream=True)
    assert body["format"] == "json"


@pytest.mark.parametrize(
    ("image", "sent"),
    [
        ("iVBORw0KGgo=", "iVBORw0KGgo="),
        ("data:image/png;base64,iVBORw0KGgo=", "iVBORw0KGgo="),
    ],
)
def test_images_go_as_bare_base64(image: str, sent: str) -> None:
    chat = ChatRequest(
        model="llava", messages=(Message(role="user", content="?", images=(image,)),)
    )
    assert chat_body(settings(), chat, stream=True)["messages"][0]["images"] == [sent]


@pytest.mark.parametrize("image", ["https://example.com/cat.png", "data:image/svg+xml,<svg/>"])
def test_images_ollama_cannot_read_are_refused_before_sending(image: str) -> None:
    chat = ChatRequest(
        model="llava", messages=(Message(role="user", content="?", images=(image,)),)
    )
    with pytest.raises(InvalidRequest, match="base64"):
        chat_body(settings(), chat, stream=True)


@pytest.mark.parametrize(
    ("given", "sent"),
    [(300, 300), ("300", 300), (0, 0), (0.5, "0.5s"), (90.25, "90.25s"), (-5, -1), ("1h", "1h")],
)
def test_keep_alive_is_sent_as_every_ollama_reads_it(given: object, sent: object) -> None:
    # Some Ollama releases cut a number of seconds to an integer: 0.5 would unload at once.
    for body in (
        chat_body(settings(keep_alive=given), request(), stream=True),
        chat_body(settings(), request(extra={"keep_alive": given}), stream=True),
    ):
        assert body["keep_alive"] == sent
        assert type(body["keep_alive"]) is type(sent)


def test_typed_fields_win_over_extra() -> None:
    body = chat_body(settings(), request(max_tokens=5, extra={"num_predict": 99}), stream=True)
    assert body["options"]["num_predict"] == 5


def test_messages_carry_images_and_tool_names() -> None:
    chat = ChatRequest(
        model="llava",
        messages=(
            Message(role="system", content="be brief", name="ignored"),
            Message(role="user", content="what is this?", images=("aGk=",)),
            Message(role="tool", content="42", name="calculator", tool_call_id="c1"),
        ),
    )
    assert chat_body(settings(), chat, stream=False)["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "what is this?", "images": ["aGk="]},
        {"role": "tool", "content": "42", "tool_name": "calculator", "tool_call_id": "c1"},
    ]


def test_embed_body_batches_inputs_with_truncate_and_dimensions() -> None:
    embed = EmbedRequest(
        model="nomic-embed-text",
        inputs=("a", "b"),
        dimensions=256,
        truncate=False,
        extra={"keep_alive": "1h", "num_ctx": 512},
    )
    # num_ctx from settings is for chat models only; extra still reaches options.
    assert embed_body(settings(num_ctx=8192), embed) == {
        "model": "nomic-embed-text",
        "keep_alive": "1h",
        "input": ["a", "b"],
        "truncate": False,
        "dimensions": 256,
        "options": {"num_ctx": 512},
    }


def test_legacy_embed_body_has_one_prompt() -> None:
    embed = EmbedRequest(model="m", inputs=("a", "b"))
    assert legacy_embed_body(settings(keep_alive=-1), embed, "b") == {
        "model": "m",
        "keep_alive": -1.0,
        "prompt": "b",
    }


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("5m", "5m"),
        ("1h30m", "1h30m"),
        ("+.5h", "+.5h"),
        ("300", 300.0),
        ("-1", -1.0),
        (0, 0.0),
        ("2.5s", "2.5s"),
    ],
)
def test_keep_alive_accepts_seconds_and_go_durations(given: object, kept: object) -> None:
    assert settings(keep_alive=given).keep_alive == kept


@pytest.mark.parametrize("given", ["5 minutes", "forever", "5M", "", "m", "1.2.3s"])
def test_keep_alive_rejects_what_ollama_would_reject(given: str) -> None:
    with pytest.raises(ConfigurationError, match="keep_alive"):
        settings(keep_alive=given)


def test_settings_come_from_the_instance_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_LLM_OLLAMA_BASE_URL", "http://gpu-box:11434/")
    monkeypatch.setenv("AEGIS_LLM_OLLAMA_KEEP_ALIVE", "30m")
    monkeypatch.setenv("AEGIS_LLM_OLLAMA_NUM_CTX", "4096")
    loaded = settings()
    assert (loaded.base_url, loaded.keep_alive, loaded.num_ctx) == (
        "http://gpu-box:11434",
        "30m",
        4096,
    )


def test_default_base_url_is_ollamas_loopback_port() -> None:
    assert settings().base_url == "http://127.0.0.1:11434"


@pytest.mark.parametrize(
    ("name", "full"),
    [
        ("llama3.2", "llama3.2:latest"),
        ("llama3.2:latest", "llama3.2:latest"),
        ("llama3.2:3b", "llama3.2:3b"),
        ("jmorgan/llama3", "jmorgan/llama3:latest"),
        ("gpt-oss:120b-cloud", "gpt-oss:120b-cloud"),
        ("localhost:5000/team/model", "localhost:5000/team/model:latest"),
        ("registry.ollama.ai/library/qwen3:8b", "qwen3:8b"),
        ("library/qwen3", "qwen3:latest"),
        ("registry.ollama.ai/jmorgan/llama3", "jmorgan/llama3:latest"),
        ("hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M", "hf.co/bartowski/Llama-3.2-1B-GGUF:Q4_K_M"),
        ("https://my.registry/team/model:1b", "my.registry/team/model:1b"),
    ],
)
def test_canonical_names(name: str, full: str) -> None:
    """Ollama's shortest display form, which /api/tags and /api/ps use."""
    assert canonical(name) == full


def test_name_keys_match_spellings_ollama_treats_as_one_model() -> None:
    assert name_key("Llama3.2") == name_key("registry.ollama.ai/library/llama3.2:latest")
    assert name_key("llama3.2") != name_key("llama3.2:1b")
    assert name_key("jmorgan/llama3") != name_key("llama3")


def test_chat_piece_reads_text_and_done() -> None:
    assert chat_piece({"message": {"role": "assistant", "content": "hé"}, "done": False}) == (
        "hé",
        "",
        None,
        False,
    )


@pytest.mark.parametrize(
    "record",
    [
        [],
        "text",
        None,
        {"done": False},
        {"message": "hi", "done": False},
        {"message": {"content": 3}, "done": False},
        {"message": {"content": "x"}, "done": "yes"},
    ],
)
def test_chat_piece_rejects_other_shapes(record: object) -> None:
    with pytest.raises(ProtocolError):
        chat_piece(record)


def test_chat_piece_surfaces_error_objects() -> None:
    with pytest.raises(ServerReported, match="out of memory"):
        chat_piece({"error": "out of memory"})


def test_usage_converts_nanoseconds_and_computes_the_rate() -> None:
    found = usage(
        {
            "total_duration": 5_000_000_000,
            "load_duration": 1_000_000_000,
            "prompt_eval_count": 26,
            "prompt_eval_duration": 130_000_000,
            "eval_count": 259,
            "eval_duration": 3_700_000_000,
        }
    )
    assert found.prompt_tokens == 26
    assert found.completion_tokens == 259
    assert found.total_tokens == 285
    assert found.total_seconds == pytest.approx(5.0)
    assert found.load_seconds == pytest.approx(1.0)
    assert found.prompt_seconds == pytest.approx(0.13)
    assert found.completion_seconds == pytest.approx(3.7)
    assert found.tokens_per_second == pytest.approx(259 / 3.7)


def test_usage_reads_an_omitted_count_as_zero_only_beside_another() -> None:
    cached = usage({"eval_count": 4, "eval_duration": 0})
    assert (cached.prompt_tokens, cached.completion_tokens, cached.total_tokens) == (0, 4, 4)
    assert cached.tokens_per_second is None
    nothing = usage({})
    assert (nothing.prompt_tokens, nothing.total_tokens, nothing.total_seconds) == (None,) * 3


def test_usage_ignores_nonsense_metrics() -> None:
    odd = usage({"eval_count": -3, "eval_duration": "fast", "total_duration": True})
    assert (odd.completion_tokens, odd.completion_seconds, odd.total_seconds) == (None,) * 3


@pytest.mark.parametrize(
    ("reason", "mapped"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("load", "load"),
        ("unload", "unload"),
        ("something-new", "other"),
        (None, None),
        ("", None),
    ],
)
def test_finish_reason(reason: str | None, mapped: str | None) -> None:
    assert finish_reason({"done_reason": reason}) == mapped
