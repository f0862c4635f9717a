"""Every resilience test runs under asyncio and trio, both on virtual time.

A test that needs real time (real sockets) overrides ``anyio_backend``.
"""

from __future__ import annotations

from typing import Any

import pytest
from resilience_clock import VirtualClock, backend_options
from trio.testing import MockClock


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    backend: str = request.param
    clock = MockClock(autojump_threshold=0) if backend == "trio" else VirtualClock()
    return backend, backend_options(backend, clock)


@pytest.fixture(autouse=True)
def _in_empty_dir(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No aegis-llm.toml or pyproject.toml of the checkout is picked up by accident."""
    monkeypatch.chdir(tmp_path)
