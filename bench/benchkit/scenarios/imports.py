"""Cold import cost: each sample is a fresh interpreter timing its own import.

Nothing is cached in `sys.modules`, and rounds alternate the candidates so machine
noise hits all alike. For aegis-llm the figure includes plugin discovery (loading
every installed plugin's entry point), which is what `AsyncClient()` pays on start.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Mapping

from benchkit.loopback import child_environment
from benchkit.results import Measurement

__all__ = ["AEGIS", "CANDIDATES", "measure", "medians", "sample"]

AEGIS = "aegis_llm + discovery"

CANDIDATES: dict[str, tuple[str, str]] = {
    AEGIS: (
        "aegis",
        "import aegis_llm\n"
        "host = aegis_llm.PluginHost(aegis_llm.AegisSettings.load())\n"
        "assert host.statuses()\n",
    ),
    "httpx": ("httpx", "import httpx\n"),
    "ollama (official client)": ("official-ollama", "import ollama\n"),
    "openai (official client)": ("official-openai", "import openai\n"),
    "litellm": ("litellm", "import litellm\n"),
    "aiohttp": ("aiohttp", "import aiohttp\n"),
}
"""Label -> (table family, code timed in a fresh interpreter)."""

_PROBE = "import time\nt = time.perf_counter()\n{code}print(time.perf_counter() - t)\n"


def sample(code: str) -> float:
    """Seconds `code` takes in a fresh interpreter (raises if it fails)."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        env=child_environment(),
    )
    return float(out.stdout.strip().splitlines()[-1])


def _rounds(codes: Mapping[str, str], rounds: int) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Samples per label over `rounds` alternating rounds, and why a label failed.

    A candidate whose import fails (not installed) leaves the rotation with its error.
    """
    samples: dict[str, list[float]] = {name: [] for name in codes}
    failed: dict[str, str] = {}
    for _ in range(rounds):
        for name, code in codes.items():
            if name in failed:
                continue
            try:
                samples[name].append(sample(code))
            except subprocess.CalledProcessError as error:
                last = (error.stderr or "").strip().splitlines()[-1:] or ["import failed"]
                failed[name] = last[0]
    return samples, failed


def medians(codes: Mapping[str, str], rounds: int) -> dict[str, float]:
    """Median seconds per label over `rounds` alternating fresh-interpreter samples."""
    samples, failed = _rounds(codes, rounds)
    if failed:
        raise RuntimeError("; ".join(f"{name}: {why}" for name, why in failed.items()))
    return {name: statistics.median(values) for name, values in samples.items()}


def measure(rounds: int) -> list[Measurement]:
    samples, failed = _rounds({label: code for label, (_, code) in CANDIDATES.items()}, rounds)
    found = []
    for label, (family, _) in CANDIDATES.items():
        if label in failed:
            found.append(Measurement("import", "median", "s", family, label, missing=failed[label]))
        else:
            values = samples[label]
            found.append(
                Measurement(
                    "import", "median", "s", family, label,
                    value=statistics.median(values), samples=len(values),
                )
            )  # fmt: skip
    return found
