"""Embedding with the tiny model: faithful vectors, truncation, bad input, sharing, a free loop."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import numpy as np
import pytest
from st_cpu_testkit import embed_direct, st_cpu_client
from st_cpu_tiny_model import TINY_DIMENSIONS, TINY_MAX_SEQ_LENGTH

from aegis_llm import Embeddings
from aegis_llm.errors import InvalidRequest
from aegis_llm_st_cpu import _loader
from aegis_llm_st_cpu._registry import MODELS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

BOTH_LOOPS = pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
TEXTS = ["hello world", "the cat sat on the mat", "", "a red fish eats a blue bird", "dog"]
LONG = " ".join(["the cat sat on the mat"] * 4)


def tokens(raw: SentenceTransformer, text: str) -> int:
    return len(raw.tokenizer(text)["input_ids"])


@pytest.mark.anyio
@BOTH_LOOPS
async def test_vectors_equal_sentence_transformers(
    tiny_root: Path, tiny_model: Path, raw_tiny: SentenceTransformer
) -> None:
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        result = await llm.embed(TEXTS, model=str(tiny_model))
    expected = raw_tiny.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(result.vectors, expected, atol=1e-5)
    assert (result.provider, result.model) == ("st_cpu", str(tiny_model))
    assert result.dimensions == TINY_DIMENSIONS == len(result.vectors[0])
    assert result.normalized is True
    assert result.truncated == ()
    assert result.usage.prompt_tokens == sum(tokens(raw_tiny, text) for text in TEXTS)


@pytest.mark.anyio
async def test_empty_strings_are_embedded(tiny_root: Path, tiny_model: Path) -> None:
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        result = await llm.embed(["", "hello", ""], model=str(tiny_model))
    assert len(result.vectors) == 3
    assert result.vectors[0] == result.vectors[2]
    assert np.linalg.norm(result.vectors[0]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.anyio
async def test_small_batches_keep_input_order(
    tiny_root: Path, tiny_model: Path, raw_tiny: SentenceTransformer
) -> None:
    texts = [" ".join(["cat"] * n) for n in (3, 9, 1, 12, 5, 7, 2)]
    async with st_cpu_client(model_roots=[tiny_root], batch_size=2) as llm:
        result = await llm.embed(texts, model=str(tiny_model))
    np.testing.assert_allclose(result.vectors, raw_tiny.encode(texts), atol=1e-5)


@pytest.mark.anyio
async def test_results_are_what_validation_would_build(tiny_root: Path, tiny_model: Path) -> None:
    """The plugin skips validating its vectors; they must pass it unchanged anyway."""
    texts = [" ".join(["cat"] * n) for n in (3, 9, 1, 12, 5)]
    async with st_cpu_client(model_roots=[tiny_root], batch_size=2) as llm:
        result = await embed_direct(llm, texts, str(tiny_model))
    assert Embeddings.model_validate(result.model_dump()) == result
    assert {type(value) for row in result.vectors for value in row} == {float}
    assert {len(row) for row in result.vectors} == {result.dimensions}


@pytest.mark.anyio
async def test_truncated_inputs_are_reported(
    tiny_root: Path, tiny_model: Path, raw_tiny: SentenceTransformer
) -> None:
    texts = ["hello", LONG, "dog", LONG + " again"]
    assert tokens(raw_tiny, LONG) > TINY_MAX_SEQ_LENGTH
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        result = await llm.embed(texts, model=str(tiny_model))
    assert result.truncated == (1, 3)
    assert result.usage.prompt_tokens == 3 + 2 * TINY_MAX_SEQ_LENGTH + 3
    np.testing.assert_allclose(result.vectors, raw_tiny.encode(texts), atol=1e-5)


@pytest.mark.anyio
async def test_too_long_without_truncation_is_invalid(tiny_root: Path, tiny_model: Path) -> None:
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        with pytest.raises(InvalidRequest, match=r"inputs \[1\] .* limit of 16 tokens"):
            await llm.embed(["hello", LONG], model=str(tiny_model), truncate=False)


@pytest.mark.anyio
async def test_a_lower_token_limit_applies_to_that_client_only(
    tiny_root: Path, tiny_model: Path, raw_tiny: SentenceTransformer
) -> None:
    texts = ["hello world", "the cat sat on the mat"]
    async with (
        st_cpu_client(model_roots=[tiny_root], max_seq_length=4) as short,
        st_cpu_client(model_roots=[tiny_root]) as full,
    ):
        cut = await short.embed(texts, model=str(tiny_model))
        whole = await full.embed(texts, model=str(tiny_model))
    assert (cut.truncated, whole.truncated) == ((1,), ())
    np.testing.assert_allclose(whole.vectors, raw_tiny.encode(texts), atol=1e-5)
    raw_tiny.max_seq_length = 4
    try:
        np.testing.assert_allclose(cut.vectors, raw_tiny.encode(texts), atol=1e-5)
    finally:
        raw_tiny.max_seq_length = TINY_MAX_SEQ_LENGTH


@pytest.mark.anyio
@pytest.mark.parametrize("normalize", [True, False])
async def test_normalization_is_a_setting_and_reported(tiny_root: Path, normalize: bool) -> None:
    """A model without a Normalize module: unit vectors only when the setting asks."""
    from sentence_transformers import SentenceTransformer

    folder = tiny_root / "tiny-unnormalized"
    async with st_cpu_client(model_roots=[tiny_root], normalize=normalize) as llm:
        result = await llm.embed(TEXTS, model=str(folder))
    raw = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    expected = raw.encode(TEXTS, normalize_embeddings=normalize)
    np.testing.assert_allclose(result.vectors, expected, atol=1e-5)
    assert result.normalized is normalize


@pytest.mark.anyio
async def test_fewer_dimensions_keep_a_prefix(
    tiny_root: Path, tiny_model: Path, raw_tiny: SentenceTransformer
) -> None:
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        result = await llm.embed(TEXTS, model=str(tiny_model), dimensions=8)
        with pytest.raises(InvalidRequest, match="32-dimensional"):
            await llm.embed(TEXTS, model=str(tiny_model), dimensions=64)
    assert result.dimensions == 8
    expected = raw_tiny.encode(TEXTS, truncate_dim=8, normalize_embeddings=True)
    np.testing.assert_allclose(result.vectors, expected, atol=1e-5)


@pytest.mark.anyio
@pytest.mark.parametrize("inputs", [[], ["fine", 3], [None]])
async def test_bad_inputs_are_invalid_requests(
    tiny_root: Path, tiny_model: Path, inputs: list[Any]
) -> None:
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        with pytest.raises(InvalidRequest):
            await llm.embed(inputs, model=str(tiny_model))


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_models")
async def test_concurrent_first_calls_load_the_model_once(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path, tiny_model: Path
) -> None:
    """Two clients, four calls each, all racing for a model that is not loaded yet."""
    loads: list[Path] = []
    real_load = _loader.load

    def slow_counting_load(folder: Path, **kwargs: Any) -> _loader.LoadedWeights:
        loads.append(folder)
        time.sleep(0.1)  # widen the race window; nothing here measures time
        return real_load(folder, **kwargs)

    monkeypatch.setattr(_loader, "load", slow_counting_load)
    results: list[Embeddings] = []
    async with (
        st_cpu_client(model_roots=[tiny_root], concurrency=4) as one,
        st_cpu_client(model_roots=[tiny_root], concurrency=4) as two,
    ):

        async def call(llm: Any) -> None:
            results.append(await llm.embed(["hello world"], model=str(tiny_model)))

        async with anyio.create_task_group() as group:
            for llm in (one, two, one, two, one, two, one, two):
                group.start_soon(call, llm)
    assert [folder.name for folder in loads] == ["tiny"]
    assert len(results) == 8
    assert all(r.vectors == results[0].vectors for r in results)
    assert len(MODELS.resident()) == 1


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_models")
async def test_clients_share_the_loaded_model(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path, tiny_model: Path
) -> None:
    loads: list[Path] = []
    real_load = _loader.load

    def counting_load(folder: Path, **kwargs: Any) -> _loader.LoadedWeights:
        loads.append(folder)
        return real_load(folder, **kwargs)

    monkeypatch.setattr(_loader, "load", counting_load)
    for _ in range(2):
        async with st_cpu_client(model_roots=[tiny_root]) as llm:
            await llm.embed(["hello"], model=str(tiny_model))
    # the same folder by another route (a name inside a root) is the same model
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        await llm.embed(["hello"], model="tiny")
    assert len(loads) == 1


@pytest.mark.anyio
@BOTH_LOOPS
async def test_a_long_batch_leaves_the_event_loop_free(tiny_root: Path, tiny_model: Path) -> None:
    """Other tasks keep running while one large batch is encoded.

    Everything is one batch, so a loop-blocking implementation would let the
    ticker run only at the few awaits around it; a worker thread lets it run
    throughout.
    """
    texts = [f"the cat sat on the mat and a dog runs {i}" for i in range(2000)]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with st_cpu_client(model_roots=[tiny_root], batch_size=len(texts)) as llm:
        await llm.embed(["load the model first"], model=str(tiny_model))
        async with anyio.create_task_group() as group:
            group.start_soon(ticker)
            await anyio.lowlevel.checkpoint()
            before = ticks
            result = await llm.embed(texts, model=str(tiny_model))
            during = ticks - before
            group.cancel_scope.cancel()
    assert len(result.vectors) == len(texts)
    assert during >= 20


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_models")
async def test_a_cancelled_call_stops_and_releases_the_model(
    tiny_root: Path, tiny_model: Path
) -> None:
    """Cancelled mid-request (between batches), the call ends and the model is not held."""
    texts = [f"the cat sat {i}" for i in range(256)]
    finished: list[Embeddings] = []
    async with st_cpu_client(model_roots=[tiny_root], batch_size=1) as llm:
        await llm.embed(["warm"], model=str(tiny_model))
        (model,) = MODELS.resident()

        async def call() -> None:
            finished.append(await embed_direct(llm, texts, str(tiny_model)))

        async with anyio.create_task_group() as group:
            group.start_soon(call)
            while not model.users:
                await anyio.lowlevel.checkpoint()
            group.cancel_scope.cancel()
    assert finished == []
    assert model.users == 0


@pytest.mark.anyio
async def test_torch_threads_apply_where_encoding_runs(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path, tiny_model: Path
) -> None:
    """torch's thread count is per thread, so it must be set in the worker that encodes."""
    import torch

    default = torch.get_num_threads()
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        await llm.embed(["warm"], model="tiny")
    (model,) = [m for m in MODELS.resident() if m.name == "tiny"]
    st = model.weights.model
    seen: list[int] = []
    real_encode = st.encode

    def observing_encode(*args: Any, **kwargs: Any) -> Any:
        seen.append(torch.get_num_threads())
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(st, "encode", observing_encode)
    for threads in (1, default):
        async with st_cpu_client(model_roots=[tiny_root], torch_threads=threads) as llm:
            await llm.embed(["hello"], model="tiny")
    assert seen == [1, default]
