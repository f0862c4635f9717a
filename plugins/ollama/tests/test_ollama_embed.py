"""Embeddings: /api/embed in one batch, and the legacy /api/embeddings fallback."""

from __future__ import annotations

import math
from contextlib import aclosing

import httpx
import pytest
from ollama_testkit import Handler, answer, context, routes, sent

from aegis_llm import Embeddings, EmbedRequest, ProviderContext
from aegis_llm.errors import (
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    Unsupported,
)
from aegis_llm_ollama._embed import embed, fit

pytestmark = pytest.mark.anyio


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


async def run(ctx: ProviderContext, **fields: object) -> Embeddings:
    request = EmbedRequest.model_validate({"model": "nomic-embed-text", **fields})
    async with aclosing(ctx):
        return await embed(ctx, request)


def legacy_server(seen: list[httpx.Request]) -> dict[str, Handler]:
    """Routes of an Ollama before v0.2.6: only /api/embeddings, unnormalised vectors."""

    def embeddings(request: httpx.Request) -> httpx.Response:
        prompt = sent(request)["prompt"]
        return httpx.Response(200, json={"embedding": [3.0, 4.0, float(len(prompt))]})

    return {"/api/embeddings": embeddings}


async def test_batch_embed_sends_every_input_at_once() -> None:
    seen: list[httpx.Request] = []
    body = {
        "model": "nomic-embed-text",
        "embeddings": [[0.6, 0.8], [1, 0]],
        "total_duration": 14_143_917,
        "load_duration": 1_019_500,
        "prompt_eval_count": 8,
    }
    result = await run(
        context(answer(body, seen=seen), keep_alive="2m"), inputs=["a", "b"], truncate=False
    )
    assert result.vectors == [[0.6, 0.8], [1.0, 0.0]]
    assert (result.dimensions, result.normalized, result.provider) == (2, True, "ollama")
    assert result.usage.prompt_tokens == 8
    assert result.usage.total_seconds == pytest.approx(0.014143917)
    assert [r.url.path for r in seen] == ["/api/embed"]
    assert sent(seen[0]) == {
        "model": "nomic-embed-text",
        "keep_alive": "2m",
        "input": ["a", "b"],
        "truncate": False,
    }


async def test_dimensions_ignored_by_the_server_are_applied_here() -> None:
    result = await run(
        context(answer({"embeddings": [[3.0, 4.0, 12.0]]})), inputs=["a"], dimensions=2
    )
    assert result.dimensions == 2
    assert result.vectors[0] == pytest.approx([0.6, 0.8])


async def test_old_server_falls_back_to_one_legacy_call_per_input_normalised() -> None:
    seen: list[httpx.Request] = []
    ctx = context(routes(legacy_server(seen), seen), keep_alive=0)
    result = await run(ctx, inputs=["ab", "abcd"])
    assert [r.url.path for r in seen] == ["/api/embed", "/api/embeddings", "/api/embeddings"]
    assert [sent(r)["prompt"] for r in seen[1:]] == ["ab", "abcd"]
    assert all(sent(r)["keep_alive"] == 0 for r in seen)
    assert result.normalized is True
    assert result.dimensions == 3
    assert all(norm(v) == pytest.approx(1.0) for v in result.vectors)
    assert result.vectors[0] == pytest.approx(
        [3 / math.sqrt(29), 4 / math.sqrt(29), 2 / math.sqrt(29)]
    )


async def test_legacy_fallback_cuts_to_dimensions_before_normalising() -> None:
    seen: list[httpx.Request] = []
    result = await run(context(routes(legacy_server(seen))), inputs=["x"], dimensions=2)
    assert result.vectors == [pytest.approx([0.6, 0.8])]
    assert result.dimensions == 2


async def test_legacy_fallback_refuses_truncate_false() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(Unsupported, match="truncate=False") as caught:
        await run(context(routes(legacy_server(seen), seen)), inputs=["x"], truncate=False)
    assert [r.url.path for r in seen] == ["/api/embed"]
    assert caught.value.provider == "ollama"


async def test_legacy_empty_vector_for_empty_input_is_a_protocol_error() -> None:
    def embeddings(request: httpx.Request) -> httpx.Response:
        prompt = sent(request)["prompt"]
        return httpx.Response(200, json={"embedding": [1.0, 2.0] if prompt else []})

    with pytest.raises(ProtocolError, match="empty input") as caught:
        await run(context(routes({"/api/embeddings": embeddings})), inputs=["x", ""])
    assert caught.value.provider == "ollama"


@pytest.mark.parametrize(
    "message", ["model 'bge-m3' not found", 'model "bge-m3" not found, try pulling it first']
)
async def test_missing_model_on_embed_is_not_mistaken_for_an_old_server(message: str) -> None:
    seen: list[httpx.Request] = []
    missing = answer({"error": message}, status=404, seen=seen)
    with pytest.raises(ModelNotFound, match="ollama pull bge-m3") as caught:
        await run(context(missing), inputs=["x"])
    assert caught.value.model == "bge-m3"
    assert [r.url.path for r in seen] == ["/api/embed"]


async def test_a_rejected_input_is_an_invalid_request_without_fallback() -> None:
    seen: list[httpx.Request] = []
    refused = answer({"error": "invalid input type"}, status=400, seen=seen)
    with pytest.raises(InvalidRequest, match="invalid input type"):
        await run(context(refused), inputs=["x"])
    assert [r.url.path for r in seen] == ["/api/embed"]


async def test_a_server_with_neither_endpoint_is_not_a_missing_model() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(ProviderError) as caught:
        await run(context(routes({}, seen=seen)), inputs=["x"])
    assert not isinstance(caught.value, ModelNotFound)
    assert caught.value.status_code == 404
    assert [r.url.path for r in seen] == ["/api/embed", "/api/embeddings"]


@pytest.mark.parametrize(
    "body",
    [
        {"embeddings": [[1.0]]},
        {"embeddings": [[1.0, 0.0], [1.0]]},
        {"embeddings": [[1.0], ["x"]]},
        {"embeddings": None},
        {"embeddings": [[], []]},
        [[1.0], [1.0]],
    ],
)
async def test_answers_that_cannot_be_stored_are_protocol_errors(body: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        await run(context(answer(body)), inputs=["a", "b"])
    assert caught.value.provider == "ollama"


def test_fit_keeps_a_zero_vector_and_refuses_to_grow_one() -> None:
    assert fit([0.0, 0.0, 0.0], 2) == [0.0, 0.0]
    with pytest.raises(InvalidRequest, match="at most 2"):
        fit([1.0, 0.0], 3)
