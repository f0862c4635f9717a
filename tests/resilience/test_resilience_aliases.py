"""Model aliases: one logical name, each provider's own id; from settings, env and code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from resilience_fakes import Fail, ScriptedProvider, build_client, build_host

from aegis_llm import Client
from aegis_llm.errors import ConfigurationError, ProviderUnavailable

pytestmark = pytest.mark.anyio

LLAMA = {"llama3.2-3b": {"alpha": "llama-3.2-3b-instruct", "beta": "llama3.2:3b"}}


def _models(*providers: ScriptedProvider) -> list[tuple[str, str]]:
    return [(call.provider, call.model) for p in providers for call in p.calls]


async def test_each_provider_gets_its_own_id_for_the_alias() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderUnavailable("refused")))
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta, code_aliases=LLAMA) as llm:
        reply = await llm.chat("hi", model="llama3.2-3b")
    assert _models(alpha, beta) == [("alpha", "llama-3.2-3b-instruct"), ("beta", "llama3.2:3b")]
    assert [a.model for a in reply.attempts] == ["llama-3.2-3b-instruct", "llama3.2:3b"]
    assert reply.model == "llama3.2:3b"


async def test_an_unmapped_name_passes_through_unchanged() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderUnavailable("refused")))
    beta = ScriptedProvider("beta")
    half = {"qwen": {"alpha": "qwen2.5-7b-instruct"}}
    async with build_client(alpha, beta, code_aliases={**LLAMA, **half}) as llm:
        await llm.chat("hi", model="mistral:7b")
        await llm.chat("hi", model="qwen")
    assert _models(alpha, beta) == [
        ("alpha", "mistral:7b"),
        ("alpha", "qwen2.5-7b-instruct"),
        ("beta", "mistral:7b"),
        ("beta", "qwen"),
    ]


@pytest.fixture
def config_file() -> None:
    """An aegis-llm.toml in the (empty, temporary) working directory."""
    Path("aegis-llm.toml").write_text(
        '[aliases."llama3.2-3b"]\nalpha = "llama-3.2-3b-instruct"\nbeta = "llama3.2:3b"\n'
    )


@pytest.mark.usefixtures("config_file")
async def test_aliases_from_the_config_file() -> None:
    beta = ScriptedProvider("beta")
    async with build_client(beta) as llm:
        await llm.chat("hi", model="llama3.2-3b")
    assert _models(beta) == [("beta", "llama3.2:3b")]


async def test_aliases_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEGIS_LLM_ALIASES", json.dumps(LLAMA))
    beta = ScriptedProvider("beta")
    async with build_client(beta) as llm:
        await llm.chat("hi", model="llama3.2-3b")
    assert _models(beta) == [("beta", "llama3.2:3b")]


async def test_aliases_in_code_add_to_the_settings_per_provider() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderUnavailable("refused")))
    beta = ScriptedProvider("beta")
    code = {"llama3.2-3b": {"beta": "llama3.2:3b-instruct-q8_0"}, "phi": {"beta": "phi4"}}
    async with build_client(alpha, beta, code_aliases=code, aliases=LLAMA) as llm:
        await llm.chat("hi", model="llama3.2-3b")
        assert llm.aliases == {
            "llama3.2-3b": {"alpha": "llama-3.2-3b-instruct", "beta": "llama3.2:3b-instruct-q8_0"},
            "phi": {"beta": "phi4"},
        }
    assert _models(alpha, beta) == [
        ("alpha", "llama-3.2-3b-instruct"),
        ("beta", "llama3.2:3b-instruct-q8_0"),
    ]


@pytest.mark.parametrize(
    "aliases",
    [{"m": {"Not-A-Provider": "x"}}, {"m": {"alpha": ""}}, {"m": "not a table"}],
    ids=["bad-provider-name", "empty-id", "not-a-table"],
)
def test_malformed_aliases_are_a_configuration_error(aliases: object) -> None:
    with pytest.raises(ConfigurationError, match="aliases"):
        build_host(ScriptedProvider("alpha"), aliases=aliases)


def test_the_blocking_client_takes_aliases_too() -> None:
    beta = ScriptedProvider("beta")
    config, host = build_host(beta)
    with Client(config, host=host, aliases=LLAMA) as llm:
        reply = llm.chat("hi", model="llama3.2-3b", timeout=30)
    assert reply.model == "llama3.2:3b"
