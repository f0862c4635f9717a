"""list_models, health and idle unloading."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import anyio
import pytest
from st_cpu_testkit import st_cpu, st_cpu_client
from st_cpu_tiny_model import TINY_DIMENSIONS, TINY_MAX_SEQ_LENGTH

from aegis_llm_st_cpu import _inventory
from aegis_llm_st_cpu._registry import MODELS, ModelKey

pytestmark = pytest.mark.usefixtures("fresh_models")


async def wait_until_unloaded() -> None:
    with anyio.fail_after(30):
        while MODELS.resident():  # noqa: ASYNC110 - a timer thread unloads, no event to wait on
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_models_are_listed_configured_then_loaded(tiny_root: Path) -> None:
    async with st_cpu_client(model_roots=[tiny_root], aliases={"small": "tiny"}) as llm:
        before = {m.id: m for m in await st_cpu(llm).list_models()}
        await llm.embed(["hello"], model="small")
        after = {m.id: m for m in await llm.list_models(["st_cpu"])}
    assert set(before) == {"all-MiniLM-L6-v2", "small"}
    assert not any(m.loaded for m in before.values())
    assert before["small"].dimensions is None
    small = after["small"]
    assert (small.loaded, small.kind, small.provider) == (True, "embedding", "st_cpu")
    assert (small.dimensions, small.context_length) == (TINY_DIMENSIONS, TINY_MAX_SEQ_LENGTH)
    assert (small.size_bytes or 0) > 0
    assert after["all-MiniLM-L6-v2"].loaded is False


@pytest.mark.anyio
async def test_models_loaded_by_another_client_are_listed(tiny_root: Path) -> None:
    async with st_cpu_client(model_roots=[tiny_root]) as loader:
        await loader.embed(["hello"], model="tiny")
    async with st_cpu_client() as other:
        listed = {m.id: m for m in await st_cpu(other).list_models()}
    assert listed["tiny"].loaded is True


@pytest.mark.anyio
async def test_a_model_loaded_under_its_id_is_listed_once_under_this_clients_alias(
    tiny_root: Path,
) -> None:
    # "tiny" stands for a Hugging Face id: another client loaded the model by it, this one
    # configured "small" for it and has not embedded yet.
    async with st_cpu_client(model_roots=[tiny_root]) as loader:
        await loader.embed(["hello"], model="tiny")
    async with st_cpu_client(model_roots=[tiny_root], aliases={"small": "tiny"}) as other:
        listed = await st_cpu(other).list_models()
    assert [(m.id, m.loaded) for m in listed] == [("all-MiniLM-L6-v2", False), ("small", True)]
    assert listed[1].dimensions == TINY_DIMENSIONS


@pytest.mark.anyio
async def test_health_reports_loaded_models_and_memory(tiny_root: Path) -> None:
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        idle = await st_cpu(llm).health()
        await llm.embed(["hello"], model="tiny")
        (busy,) = await llm.health(["st_cpu"])
    assert (idle.status, idle.loaded_models) == ("up", ())
    assert (idle.memory_bytes or 0) > 0
    assert (idle.version or "").startswith("sentence-transformers ")
    (loaded,) = busy.loaded_models
    (resident,) = MODELS.resident()
    assert loaded.name == "tiny"
    assert loaded.size_bytes == resident.weights.memory_bytes == busy.details["models_bytes"]
    assert loaded.context_length == TINY_MAX_SEQ_LENGTH
    assert loaded.expires_at is None
    assert busy.details["rss_source"] == "psutil"


@pytest.mark.anyio
async def test_health_without_psutil_uses_the_peak_rss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    async with st_cpu_client() as llm:
        report = await st_cpu(llm).health()
    assert report.details["rss_source"] == "getrusage-peak"
    assert (report.memory_bytes or 0) > 0


@pytest.mark.anyio
async def test_health_is_down_without_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_inventory, "find_spec", lambda name: None if name == "torch" else name)
    async with st_cpu_client() as llm:
        report = await st_cpu(llm).health()
    assert (report.status, report.reason) == ("down", "not_installed")
    assert "pip install aegis-llm[st-cpu]" in (report.message or "")


@pytest.mark.anyio
async def test_an_idle_model_is_unloaded(tiny_root: Path) -> None:
    async with st_cpu_client(model_roots=[tiny_root], idle_unload_seconds=0.2) as llm:
        await llm.embed(["hello"], model="tiny")
        assert len(MODELS.resident()) == 1
        (loaded,) = (await st_cpu(llm).health()).loaded_models
        assert loaded.expires_at is not None
        await wait_until_unloaded()
        again = await llm.embed(["hello"], model="tiny")
    assert len(again.vectors) == 1


def test_a_model_in_use_is_never_unloaded(tiny_model: Path) -> None:
    key = ModelKey(tiny_model.resolve(), trust_remote_code=False)
    model = MODELS.get_or_load(key, name="tiny", provider="st_cpu")
    with MODELS.lease(model, idle_unload=0.01):
        with MODELS.lease(model, idle_unload=0.01):
            pass  # one user left: the countdown starts but must not unload it
        time.sleep(0.1)  # lets the countdown run out; nothing here measures time
        assert MODELS.get(key) is model
    deadline = time.monotonic() + 30
    while MODELS.get(key) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert MODELS.get(key) is None
