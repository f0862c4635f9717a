"""Load test: many chat, stream and embed requests through a two-provider chain under faults.

    python loadtest/run.py                      # 10,000 requests, 256 in flight, 10 % faults
    python loadtest/run.py --requests 1000      # what CI runs
    python loadtest/run.py --json               # figures as JSON (exit code 1 on a failed check)

LM Studio's and Ollama's fakes run in a child process on 127.0.0.1; each hits
a request with a fault of a random kind (refusals, resets, stalls, truncation,
4xx/5xx/429, malformed, oversized, errors and garbage mid-stream, trickling)
at ``--fault-rate``. Every request must end in one whole answer or one typed
SDK error; the run also checks the connection pool's limit, that nothing is
left open after the client closes, and that RSS stays flat.
"""

from __future__ import annotations

import argparse
import sys
import time

import anyio
from loadkit.probes import ConnectionPeaks, rss_mib
from loadkit.report import Figures
from loadkit.servers import REPLY, Servers
from loadkit.workload import CHAT_MODEL, EMBED_MODEL, Tally, plan, run

from aegis_llm import AegisSettings, AsyncClient

CHECKPOINTS = 10


FIRST_BYTE_TIMEOUT = 5.0
STALL = FIRST_BYTE_TIMEOUT + 1.0
"""A stalling fake outlasts the first-byte and idle limits, so its faults end in timeouts."""


def settings(max_connections: int) -> AegisSettings:
    """Limits short enough for stalls to end within the run, long enough for queueing.

    With 256 requests in flight over 2 x 64 connections, a request waits for a
    connection and for the client's own CPU before its first byte; the
    first-byte limit must cover that, or a healthy server looks like a dead one.
    """
    return AegisSettings.load(
        chain=["lmstudio", "ollama"],
        embed_chain=["lmstudio", "ollama"],
        chat_model=CHAT_MODEL,
        embed_model=EMBED_MODEL,
        connect_timeout=1.0,
        first_byte_timeout=FIRST_BYTE_TIMEOUT,
        idle_timeout=2.0,
        stream_timeout=10.0,
        timeout=30.0,
        max_response_bytes=1 << 20,
        max_connections=max_connections,
        retry={"max_attempts": 3, "backoff_initial": 0.02, "backoff_max": 0.2},
        breaker={"failure_threshold": 5, "cooldown": 0.5},
        aliases={
            CHAT_MODEL: {"lmstudio": "llama-3.2-3b-instruct", "ollama": "llama3.2:latest"},
            EMBED_MODEL: {
                "lmstudio": "text-embedding-nomic-embed-text-v1.5",
                "ollama": "nomic-embed-text:latest",
            },
        },
    )


async def measure(args: argparse.Namespace, servers: Servers, figures: Figures) -> None:
    core = settings(args.max_connections)
    overrides = {name: {"base_url": url} for name, url in servers.urls.items()}
    kinds = plan(args.requests, args.seed)
    tally = Tally(args.requests, expected_text=REPLY)
    step = max(1, args.requests // CHECKPOINTS)
    watchdog = core.timeout + core.stream_timeout + 5.0

    def on_done(done: int) -> None:
        if done % step == 0:
            figures.rss_checkpoints_mib.append(rss_mib())

    started = time.perf_counter()
    with ConnectionPeaks(servers.urls) as probe:
        async with AsyncClient(core, provider_settings=overrides) as llm:
            with anyio.move_on_after(args.max_seconds):
                await run(
                    llm,
                    kinds,
                    tally,
                    concurrency=args.concurrency,
                    watchdog=watchdog,
                    on_done=on_done,
                )
        figures.wall_seconds = time.perf_counter() - started
        figures.sockets_after_close = probe.now()
    figures.peak_connections = probe.peaks
    figures.probe_samples = probe.samples
    figures.kinds = dict(tally.kinds)
    figures.duplicated = tally.duplicated
    figures.summarise(tally.counts(), tally.answered_seconds())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--fault-rate", type=float, default=0.10)
    parser.add_argument("--max-connections", type=int, default=64, help="per provider")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on the run")
    parser.add_argument("--rss-budget-mib", type=float, default=32.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    figures = Figures(
        requests=args.requests,
        concurrency=args.concurrency,
        fault_rate=args.fault_rate,
        seed=args.seed,
        backend=args.backend,
        max_connections=args.max_connections,
        rss_budget_mib=args.rss_budget_mib,
    )
    with Servers(args.fault_rate, args.seed, STALL) as servers:
        anyio.run(measure, args, servers, figures, backend=args.backend)
        figures.servers = servers.counters(settle=True)
    figures.check()
    print(figures.as_json() if args.json else figures.as_text())
    return 0 if not figures.failures else 1


if __name__ == "__main__":
    sys.exit(main())
