"""A PNG of the ratios to raw httpx: one group of bars per measurement, one bar per client.

Log scale, because LiteLLM's ratios run to tens while the interesting question for
aegis-llm is 1.0 against 1.1; the dashed line is parity with raw httpx.
"""

from __future__ import annotations

from pathlib import Path

from benchkit.clients._catalogue import FAMILIES
from benchkit.ratios import ratio
from benchkit.results import Run

__all__ = ["NoChart", "write_chart"]


class NoChart(Exception):
    """The chart was not written; the message says why."""


_ROWS = (
    ("chat", "median", "chat p50"),
    ("chat", "p99", "chat p99"),
    ("stream", "ttft", "stream TTFT"),
    ("stream", "total", "stream total"),
    ("throughput", "rps", "64 in flight"),
    ("embed", "median", "embed 256x1024"),
)
_API = {"ollama": "Ollama", "openai": "OpenAI"}


def write_chart(run: Run, path: Path) -> Path:
    """Write the chart to `path`; `NoChart` says why when there is nothing to draw it with."""
    try:
        import matplotlib
    except ImportError:
        raise NoChart("matplotlib is not installed (bench extra)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: list[str] = []
    present = {m.family for m in run.measurements if m.value is not None}
    bars: dict[str, list[float]] = {f: [] for f in FAMILIES if f != "httpx" and f in present}
    for scenario, metric, title in _ROWS:
        for api, api_name in _API.items():
            found = {f: run.find(scenario, metric, f, api) for f in bars}
            ratios = {f: ratio(run, m) if m else None for f, m in found.items()}
            if all(v is None for v in ratios.values()):
                continue
            groups.append(f"{title} ({api_name})")
            for family, value in ratios.items():
                bars[family].append(value if value is not None else float("nan"))
    if not groups:
        raise NoChart("no client other than raw httpx was measured")
    height = 0.8 / len(bars)
    figure, axes = plt.subplots(figsize=(12, 0.55 * len(groups) + 1.5))
    for index, (family, values) in enumerate(bars.items()):
        positions = [g + index * height for g in range(len(groups))]
        axes.barh(positions, values, height=height, label=FAMILIES[family])
    axes.set_yticks([g + 0.4 - height / 2 for g in range(len(groups))], groups)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linestyle="--", linewidth=1)
    axes.set_xlabel("x raw httpx on the same API (lower is better)")
    axes.set_title("aegis-llm and alternatives, relative to raw httpx")
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
