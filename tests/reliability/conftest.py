"""Reliability tests run on both async backends: cancellation and timeouts differ between them."""

from collections.abc import Iterator

import pytest
from reliability_kit import records_app

from aegis_llm.testing.fakes import FakeServer


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    """A fake answering ``reliability_kit.records_app``."""
    with FakeServer(records_app) as running:
        yield running
