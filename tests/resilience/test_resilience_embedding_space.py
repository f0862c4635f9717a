"""The embedding-space guard: vectors of two models never mix, in config or at run time."""

from __future__ import annotations

import pytest
from resilience_fakes import CHAT_AND_HEALTH, Fail, ScriptedProvider, Vectors, build_client

from aegis_llm.errors import (
    ConfigurationError,
    EmbeddingSpaceMismatch,
    ProviderUnavailable,
)

pytestmark = pytest.mark.anyio

REFUSED = Fail(ProviderUnavailable("refused"))
BGE = {"bge-m3": {"alpha": "text-embedding-bge-m3", "beta": "bge-m3:567m"}}
TWO = {"embed_chain": ["alpha", "beta"], "embed_model": "bge-m3"}


def test_a_chain_of_two_without_an_alias_is_refused_when_the_client_is_built() -> None:
    with pytest.raises(ConfigurationError, match="could mix vectors") as caught:
        build_client(ScriptedProvider("alpha"), ScriptedProvider("beta"), **TWO)
    assert "alpha, beta" in str(caught.value)
    assert '[aliases."bge-m3"]' in str(caught.value)


def test_an_alias_that_misses_a_member_is_refused_naming_it() -> None:
    partial = {"bge-m3": {"alpha": "text-embedding-bge-m3"}}
    with pytest.raises(ConfigurationError, match="naming the model of beta"):
        build_client(ScriptedProvider("alpha"), ScriptedProvider("beta"), aliases=partial, **TWO)


def test_aliases_given_in_code_count_for_the_check() -> None:
    build_client(ScriptedProvider("alpha"), ScriptedProvider("beta"), code_aliases=BGE, **TWO)


async def test_a_covering_alias_allows_failover_with_each_providers_id() -> None:
    alpha, beta = ScriptedProvider("alpha", default=REFUSED), ScriptedProvider("beta")
    async with build_client(alpha, beta, aliases=BGE, **TWO) as llm:
        result = await llm.embed(["a", "bc"])
    assert (result.provider, result.model) == ("beta", "bge-m3:567m")
    assert [a.model for a in result.attempts] == ["text-embedding-bge-m3", "bge-m3:567m"]


async def test_a_single_provider_needs_no_alias() -> None:
    async with build_client(ScriptedProvider("alpha"), embed_model="anything") as llm:
        result = await llm.embed("text")
    assert result.provider == "alpha"


async def test_a_per_call_chain_that_could_mix_is_refused_before_any_call() -> None:
    alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
    async with build_client(alpha, beta) as llm:
        with pytest.raises(EmbeddingSpaceMismatch, match="could mix"):
            await llm.embed("text", model="nomic-embed-text", chain=["alpha", "beta"])
    assert alpha.calls == beta.calls == []


async def test_a_fallback_of_another_dimension_raises_instead_of_mixing() -> None:
    alpha = ScriptedProvider("alpha", [Vectors(1024), REFUSED])
    beta = ScriptedProvider("beta", [Vectors(768)])
    gamma = ScriptedProvider("gamma")
    aliases = {"bge-m3": {**BGE["bge-m3"], "gamma": "bge-m3"}}
    chain = ["alpha", "beta", "gamma"]
    settings = {"aliases": aliases, "embed_chain": chain, "embed_model": "bge-m3"}
    async with build_client(alpha, beta, gamma, **settings) as llm:
        first = await llm.embed("text")
        with pytest.raises(EmbeddingSpaceMismatch) as caught:
            await llm.embed("text")
        assert llm._router.breakers["beta"].failures == 0  # beta answered; it is not down
    assert first.dimensions == 1024
    message = str(caught.value)
    assert "768" in message
    assert "1024" in message
    assert gamma.calls == []


async def test_the_same_dimension_from_another_member_is_accepted() -> None:
    alpha = ScriptedProvider("alpha", [Vectors(384), REFUSED])
    beta = ScriptedProvider("beta", [Vectors(384)])
    async with build_client(alpha, beta, aliases=BGE, **TWO) as llm:
        await llm.embed("text")
        second = await llm.embed("text")
    assert (second.provider, second.dimensions) == ("beta", 384)


async def test_each_model_and_requested_dimension_has_its_own_space() -> None:
    alpha = ScriptedProvider("alpha", [Vectors(384), Vectors(768), Vectors(256)])
    async with build_client(alpha) as llm:
        await llm.embed("text", model="minilm")
        await llm.embed("text", model="nomic")
        cut = await llm.embed("text", model="nomic", dimensions=256)
    assert cut.dimensions == 256


async def test_a_provider_ignoring_the_requested_dimension_is_caught() -> None:
    alpha = ScriptedProvider("alpha", [Vectors(768)])
    async with build_client(alpha) as llm:
        with pytest.raises(EmbeddingSpaceMismatch, match="asked for 256"):
            await llm.embed("text", model="nomic", dimensions=256)


async def test_a_member_that_cannot_embed_is_skipped() -> None:
    chat_only = ScriptedProvider("alpha", capabilities=CHAT_AND_HEALTH)
    beta = ScriptedProvider("beta")
    async with build_client(chat_only, beta, aliases=BGE, **TWO) as llm:
        result = await llm.embed("text")
    assert [(a.provider, a.outcome) for a in result.attempts] == [
        ("alpha", "skipped"),
        ("beta", "success"),
    ]
