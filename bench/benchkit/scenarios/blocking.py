"""The blocking `Client` against `AsyncClient`, both through the ollama plugin.

The blocking client drives an async client on a private event-loop thread, so every
call crosses threads twice; this shows what that costs per chat. Rounds alternate the
two, and the async half runs on the harness's own loop (`asyncio.Runner`).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from benchkit import workload
from benchkit.loopback import Loopback
from benchkit.results import Measurement
from benchkit.scenarios.http import Sizes
from benchkit.stats import percentile

__all__ = ["measure"]

_LABELS = {"aegis": "aegis-llm AsyncClient (ollama)", "aegis-sync": "aegis-llm Client (blocking)"}


def _missing(reason: str) -> list[Measurement]:
    return [
        Measurement("blocking", metric, "s", family, label, "ollama", missing=reason)
        for family, label in _LABELS.items()
        for metric in ("median", "p99")
    ]


def measure(runner: asyncio.Runner, loopback: Loopback, sizes: Sizes) -> list[Measurement]:
    try:
        from aegis_llm import AegisSettings, AsyncClient, Client
    except ImportError:
        return _missing("aegis-llm is not installed")
    settings = AegisSettings.load(chain=["ollama"])
    overrides = {"ollama": {"base_url": loopback.urls["ollama"]}}
    messages: list[Any] = list(workload.CHAT_MESSAGES)
    model = workload.CHAT_MODEL_OLLAMA

    async def timed_async(client: AsyncClient, times: int) -> list[float]:
        samples = []
        for _ in range(times):
            started = time.perf_counter()
            await client.chat(messages, model=model)
            samples.append(time.perf_counter() - started)
        return samples

    samples: dict[str, list[float]] = {"aegis": [], "aegis-sync": []}
    async_client = AsyncClient(settings, provider_settings=overrides)
    try:
        with Client(settings, provider_settings=overrides) as blocking:
            blocking.chat(messages, model=model)
            runner.run(timed_async(async_client, 3))
            for _ in range(sizes.rounds):
                samples["aegis"] += runner.run(timed_async(async_client, sizes.chats))
                for _ in range(sizes.chats):
                    started = time.perf_counter()
                    blocking.chat(messages, model=model)
                    samples["aegis-sync"].append(time.perf_counter() - started)
    except Exception as error:
        return _missing(f"failed: {type(error).__name__}: {error}"[:200])
    finally:
        runner.run(async_client.aclose())
    return [
        Measurement(
            "blocking", metric, "s", family, _LABELS[family], "ollama",
            value=reduce(values), samples=len(values),
        )
        for family, values in samples.items()
        for metric, reduce in (
            ("median", statistics.median),
            ("p99", lambda v: percentile(v, 0.99)),
        )
    ]  # fmt: skip
