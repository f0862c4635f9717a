"""Failover from a provider that refuses connections, and skipping one whose breaker is open.

The setup is the SDK's default chain: LM Studio first (its port refuses connections,
nothing listens there), Ollama second (the loopback server). The same setup is given
to a hand-written `httpx` try/except (the baseline: what a user writes without a
library) and to LiteLLM's Router with a fallback group. "Breaker open" trips aegis-llm's
breaker (and lets LiteLLM cool its deployment down) before measuring; the hand-written
version has no breaker, so it keeps paying for the refused connection.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any, NoReturn

import httpx
from benchkit import workload
from benchkit.clients import Candidate, Session, Unavailable
from benchkit.clients._base import Opener
from benchkit.clients._litellm import route
from benchkit.clients._wire import WIRES
from benchkit.loopback import Loopback
from benchkit.results import Measurement
from benchkit.scenarios._rounds import open_entrants, run_rounds
from benchkit.scenarios.http import Sizes, measurements_of

__all__ = ["measure"]

_NEVER_OPEN: dict[str, float] = {"failure_threshold": 1_000_000}
_OPEN_FOR_THE_RUN: dict[str, float] = {"failure_threshold": 1, "cooldown": 3600.0}


class _ChatOnly:
    """Failover is measured on chat; the other operations are not part of it."""

    def stream(self) -> AsyncIterator[str]:
        raise NotImplementedError

    async def embed(self) -> NoReturn:
        raise NotImplementedError


def _handwritten(down: str) -> Opener:
    openai, ollama = WIRES["openai"], WIRES["ollama"]

    class _TryExcept(_ChatOnly):
        def __init__(self, client: httpx.AsyncClient, up: str) -> None:
            self._client = client
            self._up = up

        async def chat(self) -> str:
            try:
                response = await self._client.post(
                    down + openai.chat_path, json=openai.chat_body(stream=False)
                )
                wire = openai
            except httpx.ConnectError:
                response = await self._client.post(
                    self._up + ollama.chat_path, json=ollama.chat_body(stream=False)
                )
                wire = ollama
            response.raise_for_status()
            return wire.reply(response.json())

    @asynccontextmanager
    async def open_session(up: str) -> AsyncIterator[Session]:
        async with httpx.AsyncClient(timeout=60) as client:
            yield _TryExcept(client, up)

    return open_session


def _aegis(down: str, breaker: dict[str, float], chain: tuple[str, ...]) -> Opener:
    try:
        from aegis_llm import AegisSettings, AsyncClient
    except ImportError as error:
        raise Unavailable("aegis-llm is not installed") from error
    settings = AegisSettings.load(chain=list(chain), breaker=breaker)

    class _Chain(_ChatOnly):
        def __init__(self, client: AsyncClient) -> None:
            self._client = client

        async def chat(self) -> str:
            reply = await self._client.chat(
                list(workload.CHAT_MESSAGES),
                model=workload.CHAT_MODEL_OLLAMA,
            )
            if reply.provider != "ollama":
                raise RuntimeError(f"answered by {reply.provider}, not by the second provider")
            return reply.content

    @asynccontextmanager
    async def open_session(up: str) -> AsyncIterator[Session]:
        overrides = {"lmstudio": {"base_url": down}, "ollama": {"base_url": up}}
        async with AsyncClient(settings, provider_settings=overrides) as client:
            session = _Chain(client)
            await session.chat()  # with a breaker that opens at once, this opens it
            yield session

    return open_session


def _litellm_router(down: str, *, cooldowns: bool) -> Opener:
    try:
        from litellm.router import Router
    except ImportError as error:
        raise Unavailable("the `litellm` package is not installed (bench extra)") from error

    class _Router(_ChatOnly):
        def __init__(self, router: Any) -> None:
            self._router = router

        async def chat(self) -> str:
            reply = await self._router.acompletion(
                model="primary", messages=list(workload.CHAT_MESSAGES)
            )
            return str(reply.choices[0].message.content)

    @asynccontextmanager
    async def open_session(up: str) -> AsyncIterator[Session]:
        primary = route("openai", down) | {"model": f"openai/{workload.CHAT_MODEL_OPENAI}"}
        secondary = route("ollama", up)
        router = Router(
            model_list=[
                {"model_name": "primary", "litellm_params": primary},
                {"model_name": "secondary", "litellm_params": secondary},
            ],
            fallbacks=[{"primary": ["secondary"]}],
            num_retries=0,
            disable_cooldowns=not cooldowns,
            allowed_fails=0,
            cooldown_time=3600,
        )
        session = _Router(router)
        await session.chat()
        yield session

    return open_session


def _candidates(down: str) -> list[Candidate]:
    def bind(family: str, label: str, make: Callable[[], Opener]) -> Candidate:
        return Candidate(family, label, "ollama", make)

    chain = ("lmstudio", "ollama")
    return [
        bind("httpx", "hand-written httpx try/except", partial(_handwritten, down)),
        bind("aegis", "aegis-llm chain lmstudio→ollama", partial(_aegis, down, _NEVER_OPEN, chain)),
        bind("litellm", "LiteLLM Router fallback", partial(_litellm_router, down, cooldowns=False)),
        bind(
            "aegis-open",
            "aegis-llm, lmstudio breaker open",
            partial(_aegis, down, _OPEN_FOR_THE_RUN, chain),
        ),
        bind(
            "litellm-cooldown",
            "LiteLLM Router, primary cooled down",
            partial(_litellm_router, down, cooldowns=True),
        ),
    ]


async def _skip_cost(down: str, up: str, pairs: int) -> Measurement:
    """What skipping an open-breaker provider adds: paired (chain - direct) differences.

    Calls alternate between a client whose chain starts with the open-breaker provider
    and one that asks Ollama directly, so drift hits both halves of every pair alike.
    """
    label = "aegis-llm: open breaker skip (chain - direct)"
    try:
        skipping = _aegis(down, _OPEN_FOR_THE_RUN, ("lmstudio", "ollama"))
        direct = _aegis(down, _OPEN_FOR_THE_RUN, ("ollama",))
    except Unavailable as error:
        return Measurement("failover", "skip", "s", "aegis", label, "ollama", missing=str(error))
    differences = []
    async with AsyncExitStack() as stack:
        via_chain = await stack.enter_async_context(skipping(up))
        straight = await stack.enter_async_context(direct(up))
        for _ in range(pairs):
            started = time.perf_counter()
            await via_chain.chat()
            middle = time.perf_counter()
            await straight.chat()
            differences.append((middle - started) - (time.perf_counter() - middle))
    return Measurement(
        "failover",
        "skip",
        "s",
        "aegis",
        label,
        "ollama",
        value=statistics.median(differences),
        samples=len(differences),
    )


async def measure(
    loopback: Loopback, sizes: Sizes, down: str, families: set[str]
) -> list[Measurement]:
    """Interleaved failover rounds, then the paired skip-cost measurement.

    `families` picks the clients as for the other scenarios ("aegis" brings its
    open-breaker variant along, "litellm" its cooled-down one).
    """
    chosen = [c for c in _candidates(down) if c.family.split("-")[0] in families]
    async with AsyncExitStack() as stack:
        entrants = await open_entrants(stack, chosen, loopback.urls)

        async def body(session: Session) -> dict[str, list[float]]:
            samples = []
            for _ in range(sizes.chats):
                started = time.perf_counter()
                await session.chat()
                samples.append(time.perf_counter() - started)
            return {"latency": samples}

        await run_rounds(entrants, sizes.rounds, loopback, lambda s: s.chat(), body)
    found = measurements_of("failover", (("median", "latency", "median", "s"),), entrants)
    if "aegis" in families:
        found.append(await _skip_cost(down, loopback.urls["ollama"], sizes.rounds * sizes.chats))
    return found
