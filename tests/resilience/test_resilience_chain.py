"""Chains: order, skipping, failover rules and the record of attempts."""

from __future__ import annotations

import logging

import pytest
from resilience_fakes import Answer, Fail, ScriptedProvider, build_client

from aegis_llm import Capability
from aegis_llm.errors import (
    AllProvidersFailed,
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    Unsupported,
)

pytestmark = pytest.mark.anyio


async def test_the_first_healthy_provider_answers_and_the_rest_are_not_called() -> None:
    alpha, beta = ScriptedProvider("alpha", [Answer("from alpha")]), ScriptedProvider("beta")
    async with build_client(alpha, beta) as llm:
        reply = await llm.chat("hi", model="m")
    assert (reply.content, reply.provider) == ("from alpha", "alpha")
    assert [(a.provider, a.outcome, a.retries) for a in reply.attempts] == [("alpha", "success", 0)]
    assert beta.calls == []


@pytest.mark.parametrize(
    "error",
    [
        ProviderUnavailable("refused"),
        ModelNotFound("no such model", model="m"),
        AuthenticationError("bad key"),
        ProtocolError("garbage"),
        ProviderError("context too long", status_code=400),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_fails_over_on_provider_specific_errors(error: Exception) -> None:
    alpha = ScriptedProvider("alpha", default=Fail(error))  # type: ignore[arg-type]
    beta = ScriptedProvider("beta", [Answer("from beta")])
    async with build_client(alpha, beta) as llm:
        reply = await llm.chat("hi", model="m")
    assert reply.provider == "beta"
    first = reply.attempts[0]
    assert (first.provider, first.outcome, first.retries) == ("alpha", "error", 0)
    assert first.error_type == type(error).__name__
    assert len(alpha.calls) == 1


async def test_invalid_request_stops_the_chain() -> None:
    alpha = ScriptedProvider("alpha", [Fail(InvalidRequest("temperature out of range"))])
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta) as llm:
        with pytest.raises(InvalidRequest, match="temperature"):
            await llm.chat("hi", model="m")
    assert len(alpha.calls) == 1
    assert beta.calls == []


async def test_a_provider_lacking_the_operation_is_skipped_without_a_call() -> None:
    embed_only = ScriptedProvider("alpha", capabilities=frozenset({Capability.EMBED}))
    beta = ScriptedProvider("beta")
    async with build_client(embed_only, beta) as llm:
        reply = await llm.chat("hi", model="m")
        # skipping is not a failure: a thousand skips never open alpha's breaker
        for _ in range(5):
            await llm.chat("hi", model="m")
    assert reply.provider == "beta"
    assert [(a.provider, a.outcome, a.error_type) for a in reply.attempts] == [
        ("alpha", "skipped", "Unsupported"),
        ("beta", "success", None),
    ]
    assert embed_only.calls == []
    assert llm._router.breakers["alpha"].failures == 0


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_provider_called_that_answers_unsupported_declined_and_is_not_skipped(
    streamed: bool,
) -> None:
    # Ollama's 400 '"m" does not support tools' reaches the plugin as Unsupported:
    # the provider was called and said no, which a caller must tell from a skip.
    embed_only = ScriptedProvider("alpha", capabilities=frozenset({Capability.EMBED}))
    refusing = ScriptedProvider("beta", default=Fail(Unsupported('"m" does not support chat')))
    gamma = ScriptedProvider("gamma")
    async with build_client(embed_only, refusing, gamma) as llm:
        if streamed:
            attempts = (await llm.stream_chat("hi", model="m").collect()).attempts
        else:
            attempts = (await llm.chat("hi", model="m")).attempts
    assert [(a.provider, a.outcome, a.error_type) for a in attempts] == [
        ("alpha", "skipped", "Unsupported"),
        ("beta", "declined", "Unsupported"),
        ("gamma", "success", None),
    ]
    assert embed_only.calls == []
    assert len(refusing.calls) == 1
    assert llm._router.breakers["beta"].failures == 0


async def test_a_member_that_is_not_installed_is_skipped_and_named() -> None:
    beta = ScriptedProvider("beta")
    async with build_client(beta, chain=["ghost", "beta"]) as llm:
        reply = await llm.chat("hi", model="m")
    assert [(a.provider, a.outcome) for a in reply.attempts] == [
        ("ghost", "skipped"),
        ("beta", "success"),
    ]
    assert "ghost" in (reply.attempts[0].error or "")


@pytest.mark.parametrize("chain", [["beta", "alpha"], "beta, alpha"], ids=["list", "string"])
async def test_a_per_call_chain_overrides_the_setting(chain: list[str] | str) -> None:
    alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
    async with build_client(alpha, beta, chain=["alpha", "beta"]) as llm:
        reply = await llm.chat("hi", model="m", chain=chain)
    assert reply.provider == "beta"
    assert alpha.calls == []


async def test_an_empty_chain_is_an_invalid_request() -> None:
    async with build_client(ScriptedProvider("alpha")) as llm:
        with pytest.raises(InvalidRequest, match="chain is empty"):
            await llm.chat("hi", model="m", chain=" , ")


async def test_all_failed_carries_every_attempt_and_chains_the_last_error() -> None:
    alpha = ScriptedProvider("alpha", [Fail(ModelNotFound("no m", hint="ollama pull m"))])
    beta = ScriptedProvider("beta", [Fail(ProviderUnavailable("refused", hint="start beta"))])
    async with build_client(alpha, beta, chain=["alpha", "ghost", "beta"]) as llm:
        with pytest.raises(AllProvidersFailed) as caught:
            await llm.chat("hi", model="m")
    failed = caught.value
    assert [(a.provider, a.outcome) for a in failed.attempts] == [
        ("alpha", "error"),
        ("ghost", "skipped"),
        ("beta", "error"),
    ]
    assert "ollama pull m" in str(failed)
    assert "start beta" in str(failed)
    assert isinstance(failed.__cause__, ProviderUnavailable)


async def test_one_debug_record_per_try(caplog: pytest.LogCaptureFixture) -> None:
    alpha = ScriptedProvider("alpha", [Fail(ProviderError("busy", status_code=503))] * 2)
    beta = ScriptedProvider("beta")
    caplog.set_level(logging.DEBUG, logger="aegis_llm")
    async with build_client(alpha, beta, chain=["ghost", "alpha", "beta"]) as llm:
        reply = await llm.chat("hi", model="m")
    records = [r for r in caplog.records if r.name == "aegis_llm"]
    # ghost skipped, alpha's two failed tries, alpha's third try succeeding
    assert (reply.provider, reply.attempts[-1].retries) == ("alpha", 2)
    assert len(records) == len(alpha.calls) + 1 == 4
    assert all(r.levelno == logging.DEBUG for r in records)
    assert ["retrying" in r.getMessage() for r in records] == [False, True, True, False]
    assert records[-1].aegis_llm_attempt == reply.attempts[-1]  # type: ignore[attr-defined]
