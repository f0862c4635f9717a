"""The aegis-llm contract suite against st_cpu, on the tiny offline model.

st_cpu runs in this process: the HTTP fault harness does not apply, and the
suite skips those tests for ``transport = "in_process"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from aegis_llm import Capability, ChatRequest, EmbedRequest
from aegis_llm.testing import ProviderContract

TINY = "contract-tiny"


class TestStCpuContract(ProviderContract):
    plugin_name = "st_cpu"
    capabilities = frozenset({Capability.EMBED, Capability.LIST_MODELS, Capability.HEALTH})
    transport = "in_process"
    embed_model = TINY
    contract_skips: ClassVar[dict[str, str]] = {
        "test_health_down_never_raises": (
            "st_cpu is down only when sentence-transformers or torch is not installed, "
            "which no setting can simulate; test_st_cpu_plugin covers that report"
        ),
    }

    @pytest.fixture(scope="class")
    @classmethod
    def aegis_contract_settings(cls, tiny_root: Path) -> dict[str, Any]:
        """The tiny model, reachable by an alias and confined to its root."""
        return {
            "model_roots": [tiny_root],
            "aliases": {TINY: str(tiny_root / "tiny")},
            "offline": True,
        }

    @classmethod
    def invalid_requests(cls) -> Sequence[ChatRequest | EmbedRequest]:
        return [
            EmbedRequest(model=TINY, inputs=("more dimensions than it has",), dimensions=10**6),
            EmbedRequest(model="neither a hub id nor a path", inputs=("hello",)),
            EmbedRequest(model=TINY, inputs=("word " * 5000,), truncate=False),
        ]
