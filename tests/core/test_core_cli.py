"""The CLI end to end against a fake Ollama on loopback: output, JSON and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from aegis_llm.cli import main
from aegis_llm.testing.fakes import refused_url
from aegis_llm.testing.fakes.ollama import FakeOllama, OllamaModel

CHAT_MODEL = "llama3.2:latest"


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    fake = FakeOllama(
        [OllamaModel(CHAT_MODEL, loaded=True)],
        reply=["Hello", " from", " the", " fake"],
        registry=[OllamaModel("qwen3:0.6b", size=50_000_000)],
    )
    with fake:
        monkeypatch.setenv("AEGIS_LLM_OLLAMA_BASE_URL", fake.url)
        monkeypatch.setenv("AEGIS_LLM_CHAIN", "ollama")
        monkeypatch.setenv("AEGIS_LLM_EMBED_CHAIN", "ollama")
        yield fake


def test_chat_streams_and_names_who_answered(
    ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "hi", "-m", "llama3.2"]) == 0
    out, err = capsys.readouterr()
    assert out == "Hello from the fake\n"
    assert "ollama" in err
    assert "llama3.2" in err


def test_chat_picks_a_loaded_model_when_none_is_given(
    ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "hi", "--no-stream"]) == 0
    assert capsys.readouterr().out == "Hello from the fake\n"


def test_chat_json_is_the_api_model(ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hi", "-m", "llama3.2", "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["content"] == "Hello from the fake"
    assert reply["attempts"][0]["outcome"] == "success"


def test_health_and_models_json(ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health", "--provider", "ollama", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["provider"], report["status"], report["version"]) == ("ollama", "up", "0.12.6")
    assert main(["models", "--provider", "ollama", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in listing["models"]] == [CHAT_MODEL]
    assert listing["errors"] == []


def test_pull_shows_one_bar_that_reaches_the_end(
    ollama: FakeOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pull", "qwen3:0.6b"]) == 0
    err = capsys.readouterr().err
    assert "100.0%" in err
    assert "success" in err


def test_usage_errors_exit_2(ollama: FakeOllama, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hi", "-m", "llama3.2", "--temperature", "9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aegis-llm: error:")
    assert "temperature" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit) as caught:
        main(["chat"])
    assert caught.value.code == 2


def test_a_down_provider_exits_1_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AEGIS_LLM_OLLAMA_BASE_URL", refused_url())
    assert main(["chat", "hi", "-m", "m", "--chain", "ollama"]) == 1
    err = capsys.readouterr().err
    assert "ollama serve" in err
    assert "Traceback" not in err
    assert main(["health", "--provider", "ollama"]) == 1
    assert "down" in capsys.readouterr().out
