"""The benchmark runs end to end in a tiny mode and writes a well-formed results table.

Speed is never asserted here: only that every target gets a row with a verdict or a
"not measured" reason, that the baseline reads 1.00x, and that the JSON agrees.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
STATUS = re.compile(r"^(met|\*\*missed\*\*|not measured: .+)$")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    tiny = ["--quick", "--rounds", "2", "--families", "httpx,aegis"]
    scenarios = ["--only", "chat,stream,embed,failover,blocking"]
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), *tiny, *scenarios, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=out,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _table(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells) of the first table after `heading`, header row excluded."""
    lines = markdown.split(f"## {heading}\n", 1)[1].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip("|").split("|")])
    return table[2:]


def test_targets_table_has_a_verdict_for_every_target(results: Path) -> None:
    markdown = (results / "latest.md").read_text(encoding="utf-8")
    rows = _table(markdown, "Targets")
    assert len(rows) == 11
    for name, measured, bound, status in rows:
        assert STATUS.match(status), (name, status)
        assert bound.startswith(("<=", ">="))
        assert (measured == "-") == status.startswith("not measured"), (name, measured, status)
    statuses = {row[0]: row[3] for row in rows}
    assert statuses["st_cpu throughput / raw encode"].startswith("not measured")
    assert not statuses["chat latency (median), ollama plugin / raw httpx"].startswith("not")


def test_http_table_compares_to_raw_httpx(results: Path) -> None:
    markdown = (results / "latest.md").read_text(encoding="utf-8")
    rows = _table(markdown, "HTTP clients")
    measured = {(row[0], row[1]) for row in rows}
    for api in ("Ollama API", "OpenAI-compatible API"):
        assert ("chat latency, median", api) in measured
        assert ("500-token stream, total", api) in measured
        assert ("256 x 1024-dim embeddings, median", api) in measured
    for row in rows:
        assert row[2].startswith("**1.00x** ("), row
        assert re.match(r"^\*\*\d+\.\d\dx\*\* \(", row[3]), row


def test_json_agrees_with_the_table(results: Path) -> None:
    data: dict[str, Any] = json.loads((results / "latest.json").read_text(encoding="utf-8"))
    assert data["machine"]["cores"] >= 1
    assert len(data["targets"]) == 11
    measurements = data["measurements"]
    assert measurements
    for m in measurements:
        assert (m["value"] is None) != (m["missing"] is None), m
        if m["value"] is not None and m["family"] == "httpx" and m["ratio"] is not None:
            assert m["ratio"] == pytest.approx(1.0)
    chats = [m for m in measurements if m["scenario"] == "chat" and m["value"] is not None]
    assert {m["api"] for m in chats} == {"ollama", "openai"}
    assert all(m["server_cpu_per_request"] > 0 for m in chats)


def test_chart_written_when_matplotlib_is_there(results: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is not installed (bench extra)")
    assert (results / "latest.png").read_bytes().startswith(b"\x89PNG")
