"""Circuit breakers in a client: skipping, half-open probes (by request or health hook), waiting."""

from __future__ import annotations

import contextlib

import anyio
import pytest
from resilience_fakes import Answer, Fail, ScriptedProvider, build_client

from aegis_llm import AsyncClient
from aegis_llm._resilience import Gate
from aegis_llm.errors import (
    AllProvidersFailed,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)

REFUSED = Fail(ProviderUnavailable("refused"))


pytestmark = pytest.mark.anyio


async def test_an_open_breaker_skips_the_provider_without_calling_it() -> None:
    alpha, beta = ScriptedProvider("alpha", default=REFUSED), ScriptedProvider("beta")
    async with build_client(alpha, beta, breaker={"failure_threshold": 3}) as llm:
        for _ in range(3):
            await llm.chat("hi", model="m")
        reply = await llm.chat("hi", model="m")
    assert len(alpha.calls) == 3
    skipped = reply.attempts[0]
    assert (skipped.provider, skipped.outcome) == ("alpha", "skipped")
    assert "circuit open after 3 failures" in (skipped.error or "")
    assert reply.provider == "beta"


async def test_declines_do_not_count_against_the_breaker() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ModelNotFound("no such model")))
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta, breaker={"failure_threshold": 2}) as llm:
        for _ in range(5):
            await llm.chat("hi", model="m")
    assert len(alpha.calls) == 5


async def test_an_opening_breaker_stops_the_retries_of_the_call_in_flight() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderError("503", status_code=503)))
    beta = ScriptedProvider("beta")
    settings = {"retry": {"max_attempts": 5}, "breaker": {"failure_threshold": 2}}
    async with build_client(alpha, beta, **settings) as llm:
        reply = await llm.chat("hi", model="m")
    assert len(alpha.calls) == 2
    assert reply.attempts[0].retries == 1
    assert reply.provider == "beta"


async def _open(llm: AsyncClient, provider: ScriptedProvider, times: int = 3) -> None:
    """Make ``provider`` fail ``times`` requests in a row (whether the chain then fails or not)."""
    provider.then(*[REFUSED] * times)
    for _ in range(times):
        with contextlib.suppress(AllProvidersFailed):
            await llm.chat("hi", model="m")


async def test_after_the_cool_down_the_next_request_probes_and_its_success_closes() -> None:
    alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
    async with build_client(alpha, beta, breaker={"cooldown": 10}) as llm:
        await _open(llm, alpha)
        await anyio.sleep(10)
        probe = await llm.chat("hi", model="m")
        after = await llm.chat("hi", model="m")
    assert (probe.provider, after.provider) == ("alpha", "alpha")
    assert len(alpha.calls) == 5


async def test_a_failed_probe_reopens_without_retries() -> None:
    alpha = ScriptedProvider("alpha")
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta, breaker={"cooldown": 10}) as llm:
        await _open(llm, alpha)
        await anyio.sleep(10)
        alpha.then(Fail(ProviderError("503", status_code=503)))
        probe = await llm.chat("hi", model="m")
        after = await llm.chat("hi", model="m")
    assert len(alpha.calls) == 4  # the probe was not retried, and the next call skipped it
    assert (probe.attempts[0].outcome, probe.attempts[0].retries) == ("error", 0)
    assert after.attempts[0].outcome == "skipped"


async def test_only_one_request_probes_while_the_others_fail_over() -> None:
    alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
    async with build_client(alpha, beta, breaker={"cooldown": 10}) as llm:
        await _open(llm, alpha)
        await anyio.sleep(10)
        alpha.then(Answer("slow probe", after=5))
        replies: list[str] = []

        async def ask() -> None:
            replies.append((await llm.chat("hi", model="m")).provider)

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(ask)
    assert sorted(replies) == ["alpha", "beta", "beta"]
    assert len(alpha.calls) == 4


async def test_when_everything_cools_down_it_waits_for_the_first_recovery() -> None:
    alpha = ScriptedProvider("alpha")
    async with build_client(alpha, breaker={"cooldown": 10}, timeout=60) as llm:
        await _open(llm, alpha)
        await anyio.sleep(4)
        started = anyio.current_time()
        reply = await llm.chat("hi", model="m")
        waited = anyio.current_time() - started
    assert waited == pytest.approx(6.0)
    assert [(a.provider, a.outcome) for a in reply.attempts] == [
        ("alpha", "skipped"),
        ("alpha", "success"),
    ]


async def test_a_recovery_after_the_deadline_fails_fast_naming_each_cool_down() -> None:
    alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
    async with build_client(alpha, beta, breaker={"cooldown": 100}, timeout=30) as llm:
        alpha.then(*[REFUSED] * 3)
        beta.then(*[REFUSED] * 3)
        for _ in range(3):
            with pytest.raises(AllProvidersFailed):
                await llm.chat("hi", model="m")
        started = anyio.current_time()
        with pytest.raises(AllProvidersFailed, match="cooling down") as caught:
            await llm.chat("hi", model="m")
        elapsed = anyio.current_time() - started
    assert elapsed == 0.0
    assert [(a.provider, a.outcome) for a in caught.value.attempts] == [
        ("alpha", "skipped"),
        ("beta", "skipped"),
    ]
    assert all("next probe in 100.0s" in (a.error or "") for a in caught.value.attempts)
    assert len(alpha.calls) == len(beta.calls) == 3


async def test_a_request_waits_for_another_requests_probe_when_nothing_else_is_left() -> None:
    alpha = ScriptedProvider("alpha")
    async with build_client(alpha, breaker={"cooldown": 10}) as llm:
        await _open(llm, alpha)
        await anyio.sleep(10)
        alpha.then(Answer("probe", after=5))
        finished: list[float] = []

        async def ask() -> None:
            await llm.chat("hi", model="m")
            finished.append(anyio.current_time())

        async with anyio.create_task_group() as group:
            group.start_soon(ask)
            group.start_soon(ask)
    assert len(alpha.calls) == 5
    assert finished[0] == pytest.approx(finished[1])  # the second went right after the probe


async def test_a_deadline_cut_probe_does_not_count_as_a_failure() -> None:
    alpha = ScriptedProvider("alpha")
    async with build_client(alpha, breaker={"cooldown": 10}, timeout=60) as llm:
        await _open(llm, alpha)
        await anyio.sleep(10)
        alpha.then(Answer(after=20))
        with pytest.raises(AllProvidersFailed):
            await llm.chat("hi", model="m", timeout=5)
        breaker = llm._router.breakers["alpha"]
        assert breaker.admit(anyio.current_time()).gate is Gate.PROBE


class TestProbeByHealthHook:
    async def test_on_demand_a_down_report_keeps_it_open_without_a_request(self) -> None:
        alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
        llm = build_client(alpha, beta, breaker={"cooldown": 10, "probe": "health"})
        try:  # not entered as a context manager: no background probing
            await _open(llm, alpha)
            await anyio.sleep(10)
            alpha.health = "down"
            skipped = await llm.chat("hi", model="m")
            await anyio.sleep(10)
            alpha.health = "up"
            recovered = await llm.chat("hi", model="m")
        finally:
            await llm.aclose()
        assert alpha.health_checks == 2
        assert len(alpha.calls) == 4  # three failures, then only the recovered request
        assert (skipped.provider, recovered.provider) == ("beta", "alpha")

    async def test_in_the_background_a_recovered_provider_is_closed_before_any_request(
        self,
    ) -> None:
        alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
        settings = {"breaker": {"cooldown": 10, "probe": "health"}}
        async with build_client(alpha, beta, **settings) as llm:
            alpha.health = "down"
            await _open(llm, alpha)
            await anyio.sleep(10.5)
            assert alpha.health_checks == 1  # probed at 10 s: still down, reopened
            alpha.health = "up"
            await anyio.sleep(10)
            assert alpha.health_checks == 2
            assert llm._router.breakers["alpha"].open_until is None
            reply = await llm.chat("hi", model="m")
        assert [(a.provider, a.outcome) for a in reply.attempts] == [("alpha", "success")]
        assert alpha.health_checks == 2

    async def test_a_health_hook_that_hangs_counts_as_down(self) -> None:
        alpha, beta = ScriptedProvider("alpha"), ScriptedProvider("beta")
        settings = {"breaker": {"cooldown": 10, "probe": "health"}, "health_timeout": 2}
        llm = build_client(alpha, beta, **settings)
        try:
            await _open(llm, alpha)
            await anyio.sleep(10)
            alpha.health = "hang"
            started = anyio.current_time()
            reply = await llm.chat("hi", model="m")
        finally:
            await llm.aclose()
        assert reply.provider == "beta"
        assert anyio.current_time() - started == pytest.approx(2.0)


async def test_timeouts_count_against_the_breaker() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderTimeout("idle")))
    beta = ScriptedProvider("beta")
    settings = {"retry": {"max_attempts": 1}, "breaker": {"failure_threshold": 2}}
    async with build_client(alpha, beta, **settings) as llm:
        for _ in range(4):
            await llm.chat("hi", model="m")
    assert len(alpha.calls) == 2
