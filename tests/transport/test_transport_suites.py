"""The plugins' loopback and contract suites and the HTTP kit's limit tests, over aiohttp.

They run in a child pytest with ``AEGIS_TEST_HTTP_TRANSPORT=aiohttp``, which the
root conftest turns into the aiohttp transport for every ``HttpApi`` built
without an explicit one. A probe plugin reports which test files really sent
their requests through aiohttp.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("aiohttp")

ROOT = Path(__file__).resolve().parents[2]
REAL_SERVER = "plugins/lmstudio/tests/test_lmstudio_realserver.py"
"""Run too, but not required to reach aiohttp: it skips where llama.cpp's server is missing."""
SUITES = (
    "plugins/ollama/tests/test_ollama_fake.py",
    "plugins/ollama/tests/test_ollama_contract.py",
    "plugins/lmstudio/tests/test_lmstudio_fake.py",
    "plugins/lmstudio/tests/test_lmstudio_contract.py",
    REAL_SERVER,
    "tests/reliability/test_reliability_limits.py",
    "tests/reliability/test_reliability_cancellation.py",
    "tests/reliability/test_reliability_secrets.py",
    "tests/reliability/test_reliability_settings.py",
    "tests/resilience/test_resilience_http.py",
)
"""The suites that drive the HTTP plugins and ``HttpApi`` over real sockets (the
20-second load test aside). trio's runs are left out: aiohttp is asyncio-only."""


def test_the_suites_pass_over_aiohttp(tmp_path: Path) -> None:
    report = tmp_path / "sent.json"
    env = {
        **os.environ,
        "AEGIS_TEST_HTTP_TRANSPORT": "aiohttp",
        "AEGIS_TEST_PROBE_REPORT": str(report),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop("PYTEST_CURRENT_TEST", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "transport_probe", "-k", "not trio", *SUITES],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    sent = json.loads(report.read_text())
    assert [name for name in SUITES if name != REAL_SERVER and not sent.get(name)] == []
