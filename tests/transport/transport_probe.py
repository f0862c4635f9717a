"""Loaded into the child run of ``test_transport_suites.py``: which test files used aiohttp.

A run meant to go over aiohttp that quietly stayed on httpx would pass just the
same; this counts the requests the aiohttp transport sent for each test file and
writes the counts, as JSON, to the file ``AEGIS_TEST_PROBE_REPORT`` names.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import httpx
import pytest

from aegis_llm.http._aiohttp import AiohttpTransport

_sent: Counter[str] = Counter()


def pytest_configure(config: pytest.Config) -> None:
    send = AiohttpTransport.handle_async_request

    async def counted(self: AiohttpTransport, request: httpx.Request) -> httpx.Response:
        test_file, _, _ = os.environ.get("PYTEST_CURRENT_TEST", "").partition("::")
        _sent[test_file] += 1
        return await send(self, request)

    AiohttpTransport.handle_async_request = counted  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session) -> None:
    Path(os.environ["AEGIS_TEST_PROBE_REPORT"]).write_text(json.dumps(_sent))
