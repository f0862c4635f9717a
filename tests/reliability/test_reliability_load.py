"""CI's run of the load test (``loadtest/run.py``): 1,000 requests on each backend.

The script does the measuring and checking; this test runs it as a separate
process (its RSS is the client's alone) and reads its figures. The full run
is ``python loadtest/run.py --requests 10000``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "loadtest" / "run.py"
REQUESTS = 1000


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_every_request_ends_once_under_load_and_faults(backend: str, tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--requests", str(REQUESTS), "--backend", backend]
    done = subprocess.run(
        [*command, "--json", "--max-seconds", "90"],
        cwd=tmp_path,  # no aegis-llm.toml or pyproject.toml of the checkout applies
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.stdout, done.stderr
    figures = json.loads(done.stdout)
    assert figures["failures"] == [], done.stdout
    assert done.returncode == 0
    assert figures["answered"] + sum(figures["typed_errors"].values()) == REQUESTS
    assert (figures["lost"], figures["duplicated"], figures["hung"]) == (0, 0, 0)
    assert (figures["untyped"], figures["corrupt"]) == (0, 0)
    assert sum(sum(server["faults"].values()) for server in figures["servers"]) > 0
    assert max(figures["peak_connections"].values()) <= figures["max_connections"]
