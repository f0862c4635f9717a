"""Settings precedence: defaults < config file < environment < arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_testkit import ScriptedSettings

from aegis_llm import AegisSettings, HttpProviderSettings
from aegis_llm._settings import load_provider_settings
from aegis_llm.errors import ConfigurationError


def test_defaults() -> None:
    settings = AegisSettings.load()
    assert settings.chain == ["lmstudio", "ollama"]
    assert settings.embed_chain == ["st_cpu"]


def test_file_then_env_then_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    Path("aegis-llm.toml").write_text('chain = ["ollama"]\ntimeout = 10\nidle_timeout = 7\n')
    assert AegisSettings.load().chain == ["ollama"]
    monkeypatch.setenv("AEGIS_LLM_TIMEOUT", "20")
    settings = AegisSettings.load()
    assert (settings.timeout, settings.idle_timeout) == (20, 7)
    assert AegisSettings.load(timeout=30).timeout == 30


def test_pyproject_tool_table_is_read() -> None:
    Path("pyproject.toml").write_text('[project]\nname="x"\n[tool.aegis-llm]\nchain="ollama"\n')
    assert AegisSettings.load().chain == ["ollama"]


def test_explicit_config_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("embed_chain = ['ollama']\n")
    monkeypatch.setenv("AEGIS_LLM_CONFIG", str(config))
    assert AegisSettings.load().embed_chain == ["ollama"]
    monkeypatch.setenv("AEGIS_LLM_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match=r"missing\.toml"):
        AegisSettings.load()


def test_comma_separated_lists_and_nested_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_LLM_CHAIN", "ollama, lmstudio")
    monkeypatch.setenv("AEGIS_LLM_RETRY__MAX_ATTEMPTS", "5")
    settings = AegisSettings.load()
    assert settings.chain == ["ollama", "lmstudio"]
    assert settings.retry.max_attempts == 5


@pytest.mark.parametrize("bad", [{"timeout": -1}, {"chain": ["Not A Name"]}, {"retry": {"x": 1}}])
def test_bad_values_are_configuration_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        AegisSettings.load(**bad)


def test_broken_toml_is_a_configuration_error() -> None:
    Path("aegis-llm.toml").write_text("chain = [\n")
    with pytest.raises(ConfigurationError, match=r"aegis-llm\.toml"):
        AegisSettings.load()


class KeyedSettings(HttpProviderSettings):
    base_url: str = "http://127.0.0.1:9"


def test_provider_settings_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"greeting": "from-file"}
    assert load_provider_settings(ScriptedSettings, "alpha", table).greeting == "from-file"
    monkeypatch.setenv("AEGIS_LLM_ALPHA_GREETING", "from-env")
    assert load_provider_settings(ScriptedSettings, "alpha", table).greeting == "from-env"
    explicit = load_provider_settings(ScriptedSettings, "alpha", table, {"greeting": "arg"})
    assert explicit.greeting == "arg"
    assert isinstance(explicit, ScriptedSettings)


def test_instances_read_their_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_LLM_VLLM_BASE_URL", "http://127.0.0.1:8000/v1/")
    vllm = load_provider_settings(KeyedSettings, "vllm", {})
    other = load_provider_settings(KeyedSettings, "lmstudio", {})
    assert vllm.base_url == "http://127.0.0.1:8000/v1"
    assert other.base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize("url", ["ftp://host", "file:///etc/passwd", "localhost:11434", "http://"])
def test_base_urls_must_be_http(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        load_provider_settings(KeyedSettings, "alpha", {"base_url": url})


def test_unknown_provider_keys_are_rejected() -> None:
    with pytest.raises(ConfigurationError, match="nonsense"):
        load_provider_settings(KeyedSettings, "alpha", {"nonsense": 1})


def test_api_keys_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_LLM_ALPHA_API_KEY", "sk-canary-123")
    settings = load_provider_settings(KeyedSettings, "alpha", {})
    assert "sk-canary-123" not in repr(settings)
    assert "sk-canary-123" not in settings.model_dump_json()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "sk-canary-123"
