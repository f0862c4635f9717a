"""The retry layer: what is repeated on the same provider, how often, and how long it waits."""

from __future__ import annotations

import itertools

import anyio
import pytest
from resilience_fakes import Answer, Fail, ScriptedProvider, build_client

from aegis_llm.errors import (
    AegisLLMError,
    AuthenticationError,
    InvalidRequest,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
)

pytestmark = pytest.mark.anyio

REPEATABLE = [
    RateLimited("429 too many requests"),
    ProviderError("503 busy", status_code=503),
    ProviderError("500 internal", status_code=500),
    ProviderTimeout("no first byte in 120s"),
    ProviderUnavailable("connection reset before the first byte", refused=False),
]


def _name(error: object) -> str:
    return f"{type(error).__name__}-{getattr(error, 'status_code', '')}"


def _gaps(provider: ScriptedProvider) -> list[float]:
    times = [call.at for call in provider.calls]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


@pytest.mark.parametrize("error", REPEATABLE, ids=_name)
async def test_what_repeating_can_fix_is_retried_on_the_same_provider(
    error: AegisLLMError,
) -> None:
    alpha = ScriptedProvider("alpha", [Fail(error), Fail(error), Answer("third time")])
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta) as llm:
        reply = await llm.chat("hi", model="m")
    assert (reply.content, reply.provider) == ("third time", "alpha")
    assert [(a.provider, a.outcome, a.retries) for a in reply.attempts] == [("alpha", "success", 2)]
    assert beta.calls == []


@pytest.mark.parametrize("error", REPEATABLE, ids=_name)
async def test_exhausted_retries_fail_over(error: AegisLLMError) -> None:
    alpha, beta = ScriptedProvider("alpha", default=Fail(error)), ScriptedProvider("beta")
    breaker = {"failure_threshold": 10}
    async with build_client(alpha, beta, retry={"max_attempts": 4}, breaker=breaker) as llm:
        reply = await llm.chat("hi", model="m")
    assert reply.provider == "beta"
    assert len(alpha.calls) == 4
    assert (reply.attempts[0].outcome, reply.attempts[0].retries) == ("error", 3)
    assert reply.attempts[0].error_type == type(error).__name__


async def test_connection_refused_fails_over_at_once() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderUnavailable("refused", refused=True)))
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta) as llm:
        started = anyio.current_time()
        reply = await llm.chat("hi", model="m")
        elapsed = anyio.current_time() - started
    assert reply.provider == "beta"
    assert len(alpha.calls) == 1
    assert elapsed == 0.0  # not one retry wait, even of virtual time


def _mislabelled() -> ModelNotFound:
    error = ModelNotFound("no such model", model="m")
    error.retryable = True  # a plugin bug must not make the SDK hammer the server
    return error


@pytest.mark.parametrize(
    "error",
    [
        ModelNotFound("no such model", model="m"),
        AuthenticationError("401"),
        ProviderError("400 bad request", status_code=400),
        _mislabelled(),
    ],
    ids=["model-not-found", "auth", "400", "mislabelled"],
)
async def test_what_repeating_cannot_fix_is_never_retried(error: AegisLLMError) -> None:
    alpha, beta = ScriptedProvider("alpha", default=Fail(error)), ScriptedProvider("beta")
    async with build_client(alpha, beta, retry={"max_attempts": 5}) as llm:
        reply = await llm.chat("hi", model="m")
    assert len(alpha.calls) == 1
    assert reply.provider == "beta"


async def test_invalid_request_is_neither_retried_nor_failed_over() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(InvalidRequest("bad")))
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta, retry={"max_attempts": 5}) as llm:
        with pytest.raises(InvalidRequest):
            await llm.chat("hi", model="m")
    assert (len(alpha.calls), len(beta.calls)) == (1, 0)


async def test_retry_after_is_honoured() -> None:
    alpha = ScriptedProvider("alpha", [Fail(RateLimited("slow down", retry_after=7.0)), Answer()])
    async with build_client(alpha) as llm:
        await llm.chat("hi", model="m")
    assert _gaps(alpha) == [pytest.approx(7.0)]


async def test_retry_after_is_capped_by_the_setting() -> None:
    alpha = ScriptedProvider("alpha", [Fail(RateLimited("come back", retry_after=600)), Answer()])
    async with build_client(alpha, retry={"retry_after_max": 10}) as llm:
        await llm.chat("hi", model="m")
    assert _gaps(alpha) == [pytest.approx(10.0)]


async def test_without_a_hint_waits_back_off_exponentially_up_to_the_maximum() -> None:
    busy = Fail(ProviderError("503", status_code=503))
    alpha = ScriptedProvider("alpha", [busy, busy, busy, Answer()])
    retry = {"max_attempts": 4, "backoff_initial": 1.0, "backoff_max": 2.5}
    async with build_client(alpha, retry=retry, breaker={"failure_threshold": 10}) as llm:
        await llm.chat("hi", model="m")
    first, second, third = _gaps(alpha)
    tolerance = 1e-9  # virtual times are sums of floats
    assert 1.0 - tolerance <= first <= 2.0 + tolerance  # 1 s plus up to 1 s of jitter
    assert 2.0 - tolerance <= second <= 2.5 + tolerance  # 2 s plus jitter, capped
    assert third == pytest.approx(2.5)  # 4 s plus jitter, capped


async def test_no_retry_whose_wait_would_pass_the_deadline() -> None:
    alpha = ScriptedProvider("alpha", [Fail(RateLimited("later", retry_after=20)), Answer()])
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta, timeout=15) as llm:
        started = anyio.current_time()
        reply = await llm.chat("hi", model="m")
        elapsed = anyio.current_time() - started
    assert reply.provider == "beta"
    assert len(alpha.calls) == 1
    assert reply.attempts[0].error_type == "RateLimited"
    assert elapsed == 0.0


async def test_one_attempt_means_no_retries() -> None:
    alpha = ScriptedProvider("alpha", default=Fail(ProviderError("503", status_code=503)))
    beta = ScriptedProvider("beta")
    async with build_client(alpha, beta, retry={"max_attempts": 1}) as llm:
        reply = await llm.chat("hi", model="m")
    assert (len(alpha.calls), reply.provider) == (1, "beta")
