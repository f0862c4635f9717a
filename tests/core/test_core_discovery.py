"""Discovery through real entry points of pip-installed distributions, and isolation.

The test-only distributions are installed into a private folder (not the
shared environment) so the demo and other tests never see them; running the
CLI with that folder on PYTHONPATH is exactly how Python finds installed
distributions' entry points.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DISTRIBUTIONS = [HERE.parent / "plugins" / f"aegis-llm-{n}" for n in ("echo", "broken", "invalid")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            *map(str, DISTRIBUTIONS),
        ],
        check=True,
    )
    return target


def run_cli(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AEGIS_LLM_")}
    environ.update(env, PYTHONPATH=str(site))
    return subprocess.run(
        [sys.executable, "-m", "aegis_llm", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )


def test_installed_plugins_are_found_and_broken_ones_isolated(site: Path) -> None:
    result = run_cli(site, "providers", "--json")
    statuses = {s["name"]: s for s in json.loads(result.stdout)}
    assert statuses["echo"]["status"] == "loaded"
    assert set(statuses["echo"]["capabilities"]) >= {"chat", "stream", "embed", "health"}
    assert statuses["broken"]["status"] == "broken"
    assert "aegis_llm_dependency_that_is_not_installed" in statuses["broken"]["error"]
    assert statuses["invalid"]["status"] == "broken"
    assert "context" in statuses["invalid"]["error"]
    for name in ("ollama", "lmstudio", "st_cpu"):
        assert statuses[name]["status"] == "loaded"
    assert result.returncode == 1, "a broken plugin makes `providers` fail for scripts"


def test_a_discovered_plugin_serves_requests_despite_broken_neighbours(site: Path) -> None:
    result = run_cli(site, "chat", "hi there", "--model", "m", "--chain", "echo")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: hi there"


def test_disabled_plugins_are_not_imported(site: Path) -> None:
    result = run_cli(site, "providers", "--json", AEGIS_LLM_DISABLE="broken,invalid")
    statuses = {s["name"]: s["status"] for s in json.loads(result.stdout)}
    assert statuses["broken"] == statuses["invalid"] == "disabled"
    assert result.returncode == 0


def test_strict_mode_raises_naming_the_plugin(site: Path) -> None:
    result = run_cli(site, "providers", AEGIS_LLM_STRICT_PLUGINS="true")
    assert result.returncode == 2
    assert "broken" in result.stderr
    assert "Traceback" not in result.stderr


def test_discovery_imports_nothing_heavy(site: Path) -> None:
    code = (
        "import sys, aegis_llm\n"
        "host = aegis_llm.PluginHost(aegis_llm.AegisSettings.load())\n"
        "assert any(s.name == 'st_cpu' and s.status == 'loaded' for s in host.statuses())\n"
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'numpy',"
        " 'httpx', 'aiohttp')"
        " if m in sys.modules)\n"
        "print(heavy)\n"
    )
    environ = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"
