"""How one request is cut into steps, where they run, and how its tokens are counted."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np
import pytest
from st_cpu_testkit import st_cpu, st_cpu_client
from st_cpu_tiny_model import TINY_MAX_SEQ_LENGTH

from aegis_llm.errors import ConfigurationError
from aegis_llm_st_cpu import StCpuSettings, _encode
from aegis_llm_st_cpu._registry import MODELS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

LONG = " ".join(["the cat sat on the mat"] * 4)


async def _loaded_tiny(tiny_root: Path) -> Any:
    """The plugin's own shared copy of the tiny model, loaded by a first call."""
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        await llm.embed(["warm"], model="tiny")
    return next(m.weights.model for m in MODELS.resident() if m.name == "tiny")


@pytest.mark.anyio
async def test_steps_grow_while_batches_are_quick(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path, raw_tiny: SentenceTransformer
) -> None:
    """The first step is one batch; quick batches let later steps take several per call."""
    st = await _loaded_tiny(tiny_root)
    calls: list[int] = []
    real_encode = st.encode

    def counting_encode(texts: Sequence[str], **kwargs: Any) -> Any:
        calls.append(len(texts))
        return real_encode(texts, **kwargs)

    monkeypatch.setattr(st, "encode", counting_encode)
    texts = [" ".join(["cat"] * (i % 7 + 1)) + f" {i}" for i in range(64)]
    async with st_cpu_client(model_roots=[tiny_root], batch_size=2) as llm:
        result = await llm.embed(texts, model="tiny")
    assert calls[0] == 2
    assert sum(calls) == len(texts)
    assert len(calls) < len(texts) // 2, calls
    np.testing.assert_allclose(result.vectors, raw_tiny.encode(texts), atol=1e-5)


@pytest.mark.anyio
async def test_inputs_are_tokenized_again_only_when_they_fill_the_window(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path
) -> None:
    """The model's own attention masks count tokens; only a full window needs a recount."""
    recounted: list[list[str]] = []
    real_counts = _encode._token_counts

    def spying_counts(model: Any, texts: Sequence[str]) -> list[int]:
        recounted.append(list(texts))
        return real_counts(model, texts)

    monkeypatch.setattr(_encode, "_token_counts", spying_counts)
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        short = await llm.embed(["hello world", "dog"], model="tiny")
        assert [texts for texts in recounted if texts] == []
        long = await llm.embed(["hello", LONG], model="tiny")
    assert [texts for texts in recounted if texts] == [[LONG]]
    assert (short.truncated, long.truncated) == ((), (1,))
    assert long.usage is not None
    assert long.usage.prompt_tokens == 3 + TINY_MAX_SEQ_LENGTH


@pytest.mark.anyio
async def test_a_model_without_attention_masks_is_counted_by_its_tokenizer(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path, raw_tiny: SentenceTransformer
) -> None:
    """Outputs without an attention mask (static embeddings have none) fall back to counting."""
    st = await _loaded_tiny(tiny_root)
    real_encode = st.encode

    def maskless_encode(texts: Sequence[str], **kwargs: Any) -> Any:
        outputs = real_encode(texts, **kwargs)
        return [{k: v for k, v in output.items() if k != "attention_mask"} for output in outputs]

    monkeypatch.setattr(st, "encode", maskless_encode)
    texts = ["hello", LONG, "dog"]
    async with st_cpu_client(model_roots=[tiny_root]) as llm:
        result = await llm.embed(texts, model="tiny")
    assert result.truncated == (1,)
    assert result.usage is not None
    assert result.usage.prompt_tokens == 3 + TINY_MAX_SEQ_LENGTH + 3
    np.testing.assert_allclose(result.vectors, raw_tiny.encode(texts), atol=1e-5)


@pytest.mark.anyio
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
@pytest.mark.parametrize("nice", [0, 3])
async def test_steps_run_on_the_encoder_thread_at_its_priority(
    monkeypatch: pytest.MonkeyPatch, tiny_root: Path, nice: int
) -> None:
    """Encoding yields the CPU to the application's threads by ``encoder_nice``; the
    calling worker thread (anyio's, shared with the application) keeps its priority."""
    st = await _loaded_tiny(tiny_root)
    seen: list[tuple[str, int]] = []
    real_encode = st.encode

    def observing_encode(texts: Sequence[str], **kwargs: Any) -> Any:
        seen.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, 0)))
        return real_encode(texts, **kwargs)

    monkeypatch.setattr(st, "encode", observing_encode)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    async with st_cpu_client(model_roots=[tiny_root], encoder_nice=nice) as llm:
        await llm.embed(["hello"], model="tiny")
        caller = await anyio.to_thread.run_sync(lambda: os.getpriority(os.PRIO_PROCESS, 0))
    assert seen == [(f"aegis-llm-st-cpu-encoder-nice{nice}", min(19, base + nice))]
    assert caller == base


@pytest.mark.parametrize("nice", [-1, 20])
def test_encoder_nice_stays_in_range(nice: int) -> None:
    with pytest.raises(ConfigurationError, match="encoder_nice"):
        st_cpu(st_cpu_client(encoder_nice=nice)).ctx.settings_as(StCpuSettings)
