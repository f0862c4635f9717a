"""One deadline for the whole chain: tries, retry waits and failovers all draw on it."""

from __future__ import annotations

import math

import anyio
import pytest
from resilience_fakes import Answer, Fail, Hang, ScriptedProvider, build_client

from aegis_llm.errors import AllProvidersFailed, InvalidRequest, RateLimited

pytestmark = pytest.mark.anyio


async def test_a_hanging_provider_is_cut_at_the_deadline_and_the_rest_not_tried() -> None:
    alpha, beta = ScriptedProvider("alpha", default=Hang()), ScriptedProvider("beta")
    async with build_client(alpha, beta, timeout=10) as llm:
        started = anyio.current_time()
        with pytest.raises(AllProvidersFailed) as caught:
            await llm.chat("hi", model="m")
        elapsed = anyio.current_time() - started
    assert elapsed == pytest.approx(10.0)
    cut, untried = caught.value.attempts
    assert (cut.provider, cut.outcome, cut.error_type) == ("alpha", "error", "ProviderTimeout")
    assert "deadline of 10s passed" in (cut.error or "")
    assert cut.duration_seconds == pytest.approx(10.0)
    assert (untried.provider, untried.outcome, untried.error_type) == (
        "beta",
        "skipped",
        "ProviderTimeout",
    )
    assert beta.calls == []


async def test_a_per_call_timeout_overrides_the_setting() -> None:
    alpha = ScriptedProvider("alpha", default=Hang())
    async with build_client(alpha, timeout=300) as llm:
        started = anyio.current_time()
        with pytest.raises(AllProvidersFailed):
            await llm.chat("hi", model="m", timeout=3)
        assert anyio.current_time() - started == pytest.approx(3.0)


async def test_retry_waits_count_against_the_deadline() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(RateLimited("busy", retry_after=4)))
    settings = {"retry": {"max_attempts": 10}, "breaker": {"failure_threshold": 100}}
    async with build_client(alpha, timeout=10, **settings) as llm:
        started = anyio.current_time()
        with pytest.raises(AllProvidersFailed):
            await llm.chat("hi", model="m")
        elapsed = anyio.current_time() - started
    # tries at 0, 4 and 8 s; a fourth would start at 12 s, past the deadline
    assert [call.at - started for call in alpha.calls] == pytest.approx([0.0, 4.0, 8.0])
    assert elapsed == pytest.approx(8.0)


async def test_what_is_left_of_the_deadline_goes_to_the_next_provider() -> None:
    alpha = ScriptedProvider("alpha", [Fail(RateLimited("busy", retry_after=8)), Answer()])
    beta = ScriptedProvider("beta", [Answer("beta in time", after=5)])
    async with build_client(alpha, beta, timeout=6) as llm:
        reply = await llm.chat("hi", model="m")
    assert (reply.provider, reply.content) == ("beta", "beta in time")
    assert len(alpha.calls) == 1


async def test_a_slow_answer_within_the_deadline_is_kept() -> None:
    alpha = ScriptedProvider("alpha", [Answer("slow", after=9.5)])
    async with build_client(alpha, timeout=10) as llm:
        reply = await llm.chat("hi", model="m")
    assert reply.content == "slow"


async def test_embed_and_stream_honour_the_per_call_timeout() -> None:
    alpha = ScriptedProvider("alpha", default=Hang())
    async with build_client(alpha) as llm:
        started = anyio.current_time()
        with pytest.raises(AllProvidersFailed):
            await llm.embed("text", model="m", timeout=2)
        with pytest.raises(AllProvidersFailed):
            async for _ in llm.stream_chat("hi", model="m", timeout=3):
                pass
        assert anyio.current_time() - started == pytest.approx(5.0)


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf])
async def test_a_timeout_that_is_not_a_positive_number_is_refused_before_any_call(
    timeout: float,
) -> None:
    alpha = ScriptedProvider("alpha")
    async with build_client(alpha) as llm:
        with pytest.raises(InvalidRequest, match="timeout"):
            await llm.chat("hi", model="m", timeout=timeout)
        with pytest.raises(InvalidRequest, match="timeout"):
            llm.stream_chat("hi", model="m", timeout=timeout)
    assert alpha.calls == []
