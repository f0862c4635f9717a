"""Repository-wide pytest settings shared by the core's and the plugins' tests."""

import dataclasses
import os
from typing import Any

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """asyncio by default; tests that must hold under trio parametrize this fixture."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own AEGIS_LLM_* variables must not change test outcomes."""
    for name in list(os.environ):
        if name.startswith("AEGIS_LLM_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _http_transport_under_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """``AEGIS_TEST_HTTP_TRANSPORT=aiohttp`` runs the tests over that transport (asyncio only).

    It reaches every ``HttpApi`` built without an explicit ``transport=``, including the
    many built from explicit ``HttpLimits`` or constructed settings, which no environment
    variable of the SDK reaches; ``tests/transport`` runs the plugins' suites this way.
    """
    chosen = os.environ.get("AEGIS_TEST_HTTP_TRANSPORT")
    if not chosen:
        return
    from aegis_llm.http import HttpApi, HttpLimits

    build = HttpApi.__init__

    def build_with_chosen(self: HttpApi, *, limits: HttpLimits | None = None, **rest: Any) -> None:
        build(self, limits=dataclasses.replace(limits or HttpLimits(), transport=chosen), **rest)

    monkeypatch.setattr(HttpApi, "__init__", build_with_chosen)
