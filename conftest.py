"""Repository-wide pytest settings shared by the core's and the plugins' tests."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """asyncio by default; tests that must hold under trio parametrize this fixture."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own AEGIS_LLM_* variables must not change test outcomes."""
    import os

    for name in list(os.environ):
        if name.startswith("AEGIS_LLM_"):
            monkeypatch.delenv(name)
