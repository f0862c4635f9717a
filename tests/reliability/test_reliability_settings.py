"""Every limit is a setting with a sane default, and what is set is what the plugins enforce."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from aegis_llm import AegisSettings, AsyncClient
from aegis_llm.errors import AllProvidersFailed, ProviderTimeout
from aegis_llm.http import HttpLimits
from aegis_llm.testing.fakes import FakeOllama, Fault

# ``transport`` travels with the limits but chooses the byte mover; it bounds nothing.
BOUNDS = [spec.name for spec in fields(HttpLimits) if spec.name != "transport"]
CHANGED = {
    "connect_timeout": 1.5,
    "first_byte_timeout": 30.0,
    "idle_timeout": 7.0,
    "stream_timeout": 99.0,
    "max_response_bytes": 12345,
    "max_line_bytes": 678,
    "max_connections": 9,
}


def limits_of(core: AegisSettings) -> HttpLimits:
    """The limits a plugin's ``HttpApi`` gets for these settings."""
    llm = AsyncClient(core, provider_settings={"ollama": {"base_url": "http://127.0.0.1:9"}})
    return HttpLimits.from_context(llm.provider("ollama").ctx)


def bounds_of(core: AegisSettings) -> dict[str, object]:
    return {name: getattr(limits_of(core), name) for name in BOUNDS}


def test_the_defaults_are_the_http_kits_and_sane(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    defaults = limits_of(AegisSettings.load())
    assert defaults == HttpLimits()
    # Connecting fails fast; models loading cold get minutes; no answer is unbounded.
    assert defaults.connect_timeout <= 5 < 60 <= defaults.first_byte_timeout
    assert defaults.idle_timeout < defaults.stream_timeout < float("inf")
    assert defaults.max_line_bytes <= defaults.max_response_bytes <= 1 << 30


def test_every_limit_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sorted(CHANGED) == sorted(BOUNDS)
    for name, value in CHANGED.items():
        monkeypatch.setenv(f"AEGIS_LLM_{name.upper()}", str(value))
    assert bounds_of(AegisSettings.load()) == CHANGED


def test_every_limit_comes_from_the_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aegis-llm.toml").write_text(
        "".join(f"{name} = {value}\n" for name, value in CHANGED.items())
    )
    assert bounds_of(AegisSettings.load()) == CHANGED


@pytest.mark.anyio
async def test_a_limit_set_in_the_environment_is_enforced_by_the_plugin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AEGIS_LLM_FIRST_BYTE_TIMEOUT", "0.3")
    monkeypatch.setenv("AEGIS_LLM_RETRY__MAX_ATTEMPTS", "1")
    with FakeOllama() as server:
        server.faults.add(Fault.stall_before_headers(60), path="/api/chat")
        settings = AegisSettings.load(chain=["ollama"], chat_model="llama3.2")
        async with AsyncClient(
            settings, provider_settings={"ollama": {"base_url": server.url}}
        ) as llm:
            with pytest.raises(AllProvidersFailed) as caught:
                await llm.chat("hi")
    assert [a.error_type for a in caught.value.attempts] == [ProviderTimeout.__name__]
