"""The loopback server process: the fakes for both APIs, behind replaying fronts.

Run by `loopback.Loopback` as `python -m benchkit.serve [--direct]`. It prints one JSON
line with the base URLs, then answers each `stats` line on stdin with a JSON line of its
own CPU time and request counts, and exits when stdin closes. A separate process keeps
the server off the client's GIL: on two cores, the server's work does not slow the
client down, and its CPU time is measured on its own.

`--direct` serves the fakes without the replaying front, to show what they cost alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections.abc import Callable

from benchkit import workload
from benchkit.replay import ReplayFront

from aegis_llm.testing.fakes import FakeServer
from aegis_llm.testing.fakes.ollama import FakeOllama, OllamaModel
from aegis_llm.testing.fakes.openai import FakeOpenAI, OpenAIModel


def _reply(prompt: str) -> list[str]:
    return workload.reply(prompt)


def _fakes() -> dict[str, FakeServer]:
    ollama = FakeOllama(
        [
            OllamaModel(workload.CHAT_MODEL_OLLAMA, loaded=True),
            OllamaModel(
                workload.EMBED_MODEL,
                kind="embedding",
                embedding_length=workload.EMBED_DIMENSIONS,
            ),
        ],
        reply=_reply,
    )
    openai = FakeOpenAI(
        "lmstudio",
        [
            OpenAIModel(workload.CHAT_MODEL_OPENAI),
            OpenAIModel(
                workload.EMBED_MODEL,
                kind="embeddings",
                embedding_length=workload.EMBED_DIMENSIONS,
            ),
        ],
        reply=_reply,
    )
    return {"ollama": ollama, "openai": openai}


def _answer_stats(counts: Callable[[], tuple[int, int]], stop: Callable[[], None]) -> None:
    """Reply to `stats` lines until stdin closes, then stop the server."""
    for line in sys.stdin:
        if line.strip() == "stats":
            requests, misses = counts()
            report = {"cpu_seconds": time.process_time(), "requests": requests, "misses": misses}
            print(json.dumps(report), flush=True)
    stop()


async def _serve_replayed(fakes: dict[str, FakeServer]) -> None:
    fronts = {name: ReplayFront(fake.host, fake.port) for name, fake in fakes.items()}
    servers = {name: await front.start() for name, front in fronts.items()}
    urls = {
        name: f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        for name, server in servers.items()
    }
    print(json.dumps(urls), flush=True)
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def counts() -> tuple[int, int]:
        return (
            sum(front.counters.requests for front in fronts.values()),
            sum(front.counters.misses for front in fronts.values()),
        )

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def stop() -> None:
        loop.call_soon_threadsafe(finish)

    threading.Thread(target=_answer_stats, args=(counts, stop), daemon=True).start()
    await done
    for server in servers.values():
        server.close()


def _serve_direct(fakes: dict[str, FakeServer]) -> None:
    print(json.dumps({name: fake.url for name, fake in fakes.items()}), flush=True)

    def counts() -> tuple[int, int]:
        total = sum(fake.stats.requests_received for fake in fakes.values())
        return total, total

    _answer_stats(counts, lambda: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--direct", action="store_true", help="no replaying front")
    args = parser.parse_args()
    fakes = _fakes()
    for fake in fakes.values():
        fake.start()
    try:
        if args.direct:
            _serve_direct(fakes)
        else:
            asyncio.run(_serve_replayed(fakes))
    finally:
        for fake in fakes.values():
            fake.stop()


if __name__ == "__main__":
    main()
