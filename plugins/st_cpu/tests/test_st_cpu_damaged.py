"""A damaged model folder inside the roots is a ProviderError with a hint, never torch's traceback.

Resolution checks where a folder is and which weights it holds; it cannot
tell a truncated download or a hand-edited config from a good model, so the
loader and the encoder turn whatever sentence-transformers, safetensors or
torch raise into a typed, non-retryable error naming the model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from st_cpu_testkit import embed_direct, st_cpu_client

from aegis_llm.errors import AllProvidersFailed, ProviderError
from aegis_llm_st_cpu._registry import MODELS

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fresh_models")]

Spoil = Callable[[Path], object]

SPOILED: dict[str, tuple[Spoil, str]] = {
    "a modules.json entry that is not an object": (
        lambda f: (f / "modules.json").write_text("[1]"),
        "not subscriptable",
    ),
    "modules.json that is not JSON": (
        lambda f: (f / "modules.json").write_text("not json"),
        "Expecting value",
    ),
    "weights that are not safetensors": (
        lambda f: (f / "model.safetensors").write_bytes(b"garbage" * 10),
        "deserializing header",
    ),
    "empty weights": (
        lambda f: (f / "model.safetensors").write_bytes(b""),
        "deserializing header",
    ),
    "a pooling config that is not an object": (
        lambda f: (f / "1_Pooling" / "config.json").write_text("[]"),
        "must be a mapping",
    ),
    "a token limit that is not a number": (
        lambda f: (f / "sentence_bert_config.json").write_text('{"max_seq_length": "x"}'),
        "token limit of 'x'",
    ),
}


@pytest.mark.parametrize("damage", list(SPOILED))
async def test_a_damaged_model_is_a_provider_error(
    tmp_path: Path, tiny_model: Path, damage: str
) -> None:
    spoil, says = SPOILED[damage]
    folder = tmp_path / "damaged"
    shutil.copytree(tiny_model, folder)
    spoil(folder)
    async with st_cpu_client(model_roots=[tmp_path]) as llm:
        with pytest.raises(ProviderError, match=says) as caught:
            await embed_direct(llm, ["hello"], "damaged")
    error = caught.value
    assert "'damaged'" in error.message
    assert error.hint
    assert error.retryable is False
    assert error.__cause__ is None
    assert MODELS.resident() == []


def mismatched_dense(folder: Path) -> None:
    """A Dense layer expecting 64 inputs after a 32-wide transformer: it loads, then fails."""
    import torch
    from safetensors.torch import save_file

    dense = folder / "2_Dense"
    dense.mkdir()
    activation = "torch.nn.modules.linear.Identity"
    config = {"in_features": 64, "out_features": 8, "bias": True}
    (dense / "config.json").write_text(json.dumps(config | {"activation_function": activation}))
    weights = {"linear.weight": torch.zeros(8, 64), "linear.bias": torch.zeros(8)}
    save_file(weights, str(dense / "model.safetensors"))
    modules = json.loads((folder / "modules.json").read_text())
    modules.insert(2, {"path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    numbered = [entry | {"idx": i, "name": str(i)} for i, entry in enumerate(modules)]
    (folder / "modules.json").write_text(json.dumps(numbered))


async def test_a_model_that_fails_to_encode_is_a_provider_error(
    tmp_path: Path, tiny_model: Path
) -> None:
    folder = tmp_path / "mismatched"
    shutil.copytree(tiny_model, folder)
    mismatched_dense(folder)
    async with st_cpu_client(model_roots=[tmp_path]) as llm:
        with pytest.raises(ProviderError, match=r"failed to encode \(RuntimeError\)") as caught:
            await embed_direct(llm, ["hello"], "mismatched")
        with pytest.raises(AllProvidersFailed) as chained:
            await llm.embed(["hello"], model="mismatched")
    assert caught.value.retryable is False
    assert "sentence-transformers" in (caught.value.hint or "")
    assert [a.error_type for a in chained.value.attempts] == ["ProviderError"]
    (model,) = MODELS.resident()
    assert model.users == 0  # the failed call gave the model back
