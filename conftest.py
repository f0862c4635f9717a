"""Repository-wide pytest settings shared by the core's and the plugins' tests."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """asyncio by default; tests that must hold under trio parametrize this fixture."""
    return "asyncio"
