"""st_cpu as the core sees it: discovery, capabilities, settings, and a light import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from st_cpu_testkit import st_cpu, st_cpu_client

from aegis_llm import AegisSettings, ChatRequest, Message, PluginHost
from aegis_llm.errors import Unsupported
from aegis_llm_st_cpu import StCpuSettings

HEAVY = ("torch", "sentence_transformers", "transformers", "huggingface_hub")


def test_entry_point_names_the_package() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="aegis_llm")}
    assert found["st_cpu"] == "aegis_llm_st_cpu"


def test_the_host_loads_it_as_an_embedding_provider() -> None:
    status = PluginHost(AegisSettings.load()).status("st_cpu")
    assert status is not None
    assert (status.status, status.kind) == ("loaded", "provider")
    assert status.capabilities == ("embed", "health", "list_models")


def test_discovery_imports_nothing_heavy() -> None:
    """Importing the plugin, discovering plugins and building the provider stay light."""
    code = (
        "import json, sys\n"
        "import aegis_llm_st_cpu\n"
        "from aegis_llm import AsyncClient, AegisSettings\n"
        "client = AsyncClient(AegisSettings.load())\n"
        "client.provider('st_cpu')\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout) == []


@pytest.mark.anyio
async def test_chat_is_unsupported() -> None:
    async with st_cpu_client() as llm:
        request = ChatRequest(model="m", messages=(Message(role="user", content="hi"),))
        with pytest.raises(Unsupported, match="embed"):
            await st_cpu(llm).chat(request)


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AEGIS_LLM_ST_CPU_MODEL", "bge-m3")
    monkeypatch.setenv("AEGIS_LLM_ST_CPU_MODEL_ROOTS", f"{tmp_path}{os.pathsep}{tmp_path / 'b'}")
    monkeypatch.setenv("AEGIS_LLM_ST_CPU_BATCH_SIZE", "8")
    settings = st_cpu(st_cpu_client()).ctx.settings_as(StCpuSettings)
    assert settings.model == "bge-m3"
    assert settings.model_roots == [tmp_path, tmp_path / "b"]
    assert settings.batch_size == 8
    assert settings.trust_remote_code is False


@pytest.mark.parametrize(("value", "offline"), [("1", True), ("0", False)])
def test_offline_follows_hf_hub_offline(
    monkeypatch: pytest.MonkeyPatch, value: str, offline: bool
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert st_cpu(st_cpu_client()).ctx.settings_as(StCpuSettings).offline is offline
