"""Each figure as a multiple of its baseline, and the issue's targets checked against them.

Ratios read "times the cost of the baseline", lower is better: for throughput that is
the baseline's requests per second over the client's (a slowdown). The one exception is
st_cpu's texts per second, client over baseline, because its target is written that way
("st_cpu >= 0.95x raw encode").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from benchkit.results import Measurement, Run

__all__ = ["TARGETS", "Target", "Verdict", "baseline_of", "ratio", "verdicts"]


def baseline_of(run: Run, m: Measurement) -> Measurement | None:
    """The measurement `m` is compared to: raw httpx on the same API, or its own baseline."""
    if m.scenario == "import":
        return run.find("import", "median", "httpx")
    if m.scenario == "blocking":
        return run.find("chat", m.metric, "httpx", "ollama")
    if m.scenario == "failover":
        return run.find("failover", "median", "httpx", "ollama") if m.metric == "median" else None
    if m.scenario == "st_cpu":
        stall = m.metric.startswith("stall")
        return None if stall else run.find("st_cpu", m.metric, "st-raw")
    return run.find(m.scenario, m.metric, "httpx", m.api)


def ratio(run: Run, m: Measurement) -> float | None:
    """`m` over its baseline (inverted for rates: a slowdown); None if either is missing."""
    base = baseline_of(run, m)
    if m.value is None or base is None or base.value is None or not base.value or not m.value:
        return None
    if m.metric == "rps":
        return base.value / m.value
    return m.value / base.value


@dataclass(frozen=True, slots=True)
class Target:
    """One of the issue's targets: a figure, a bound, and which way the bound goes."""

    name: str
    scenario: str
    metric: str
    family: str
    api: str | None
    bound: float
    kind: str
    """"ratio" (to the baseline), "vs-ollama-import", or "absolute" (seconds)."""
    at_least: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    target: Target
    value: float | None
    status: str
    """"met", "missed", or "not measured: <why>"."""


TARGETS: Final = (
    *(
        Target(f"chat latency (median), {plugin} plugin / raw httpx", "chat", "median",
               "aegis", api, 1.10, "ratio")
        for api, plugin in (("ollama", "ollama"), ("openai", "lmstudio"))
    ),
    *(
        Target(f"500-token stream (total), {plugin} plugin / raw httpx", "stream", "total",
               "aegis", api, 1.15, "ratio")
        for api, plugin in (("ollama", "ollama"), ("openai", "lmstudio"))
    ),
    *(
        Target(f"throughput slowdown, 64 in flight, {plugin} plugin", "throughput", "rps",
               "aegis", api, 1.10, "ratio")
        for api, plugin in (("ollama", "ollama"), ("openai", "lmstudio"))
    ),
    Target("import + discovery / `import ollama`", "import", "median", "aegis", None, 1.0,
           "vs-ollama-import"),
    Target("failover past a refused provider / hand-written try/except", "failover", "median",
           "aegis", "ollama", 2.0, "ratio"),
    Target("skipping an open-breaker provider (seconds)", "failover", "skip", "aegis", "ollama",
           0.0001, "absolute"),
    Target("st_cpu throughput / raw encode", "st_cpu", "texts_per_s", "aegis", None, 0.95,
           "ratio", at_least=True),
    Target("st_cpu longest event-loop stall of a batch, median batch (seconds)", "st_cpu",
           "stall", "aegis", None, 0.005, "absolute"),
)  # fmt: skip


def _value(run: Run, target: Target, m: Measurement) -> float | None:
    if target.kind == "absolute":
        return m.value
    if target.kind == "vs-ollama-import":
        ollama = run.find("import", "median", "official-ollama")
        if m.value is None or ollama is None or not ollama.value:
            return None
        return m.value / ollama.value
    return ratio(run, m)


def verdicts(run: Run) -> list[Verdict]:
    """Every target with its measured value and whether it was met."""
    found = []
    for target in TARGETS:
        m = run.find(target.scenario, target.metric, target.family, target.api)
        if m is None:
            found.append(Verdict(target, None, "not measured: scenario not run"))
            continue
        if m.value is None:
            found.append(Verdict(target, None, f"not measured: {m.missing}"))
            continue
        value = _value(run, target, m)
        if value is None:
            found.append(Verdict(target, None, "not measured: its baseline is missing"))
            continue
        met = value >= target.bound if target.at_least else value <= target.bound
        found.append(Verdict(target, value, "met" if met else "missed"))
    return found
