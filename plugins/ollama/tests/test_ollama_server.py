"""The server's own endpoints: model list, health and pull."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from ollama_testkit import Chunks, Handler, answer, context, ndjson, routes, sent

from aegis_llm import HealthReport, ModelInfo, ProviderContext, PullProgress
from aegis_llm.errors import ModelNotFound, ProtocolError, ProviderError
from aegis_llm_ollama._server import health, list_models, pull

pytestmark = pytest.mark.anyio

TAGS = {
    "models": [
        {
            "name": "llama3.2:latest",
            "model": "llama3.2:latest",
            "modified_at": "2025-05-04T17:37:44.706015396-07:00",
            "size": 2019393189,
            "digest": "a80c4f17acd5",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "3.2B",
                "quantization_level": "Q4_K_M",
            },
            "capabilities": ["completion", "tools"],
        },
        {
            "name": "nomic-embed-text:latest",
            "size": 274302450,
            "details": {
                "family": "nomic-bert",
                "families": ["nomic-bert"],
                "quantization_level": "F16",
                "embedding_length": 768,
                "context_length": 2048,
            },
        },
        {"name": "gpt-oss:120b-cloud", "remote_host": "https://ollama.com:443", "details": {}},
    ]
}
PS = {
    "models": [
        {
            "name": "llama3.2:latest",
            "model": "llama3.2:latest",
            "size": 5137025024,
            "size_vram": 3000000000,
            "expires_at": "2025-06-04T14:38:31.83753-07:00",
            "context_length": 4096,
            "details": {"family": "llama"},
        }
    ]
}


def json_route(body: object, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=body)


def ollama(**overrides: Handler) -> dict[str, Handler]:
    table = {
        "/api/version": json_route({"version": "0.12.6"}),
        "/api/tags": json_route(TAGS),
        "/api/ps": json_route(PS),
    }
    table.update({path.replace("_", "/"): route for path, route in overrides.items()})
    return table


async def models(ctx: ProviderContext) -> dict[str, ModelInfo]:
    async with aclosing(ctx):
        return {m.id: m for m in await list_models(ctx)}


async def report(ctx: ProviderContext) -> HealthReport:
    async with aclosing(ctx):
        return await health(ctx)


async def test_models_are_listed_with_kind_and_loaded_state() -> None:
    found = await models(context(routes(ollama())))
    chat, embedder, cloud = (
        found["llama3.2:latest"],
        found["nomic-embed-text:latest"],
        found["gpt-oss:120b-cloud"],
    )
    assert (chat.kind, chat.loaded, chat.context_length) == ("chat", True, 4096)
    assert (chat.size_bytes, chat.quantization) == (2019393189, "Q4_K_M")
    assert chat.details["capabilities"] == ["completion", "tools"]
    assert chat.details["family"] == "llama"
    assert (embedder.kind, embedder.loaded, embedder.dimensions) == ("embedding", False, 768)
    assert embedder.context_length == 2048
    assert (cloud.kind, cloud.loaded, cloud.provider) == ("unknown", False, "ollama")
    assert cloud.details["remote_host"] == "https://ollama.com:443"


async def test_loaded_state_is_unknown_on_servers_without_ps() -> None:
    table = ollama()
    del table["/api/ps"]
    found = await models(context(routes(table)))
    assert {m.loaded for m in found.values()} == {None}


async def test_an_empty_server_lists_nothing() -> None:
    found = await models(context(routes(ollama(_api_tags=json_route({"models": []})))))
    assert found == {}


@pytest.mark.parametrize("body", [{"models": [{"size": 1}]}, {"models": "x"}, [1], "up"])
async def test_unreadable_model_lists_are_protocol_errors(body: object) -> None:
    with pytest.raises(ProtocolError) as caught:
        await models(context(routes(ollama(_api_tags=json_route(body)))))
    assert caught.value.provider == "ollama"


async def test_health_reports_version_latency_and_resident_models() -> None:
    result = await report(context(routes(ollama()), base_url="http://box:11434"))
    assert (result.status, result.reason, result.version) == ("up", None, "0.12.6")
    assert result.latency_seconds is not None
    assert result.latency_seconds >= 0
    (resident,) = result.loaded_models
    assert (resident.name, resident.size_bytes, resident.vram_bytes) == (
        "llama3.2:latest",
        5137025024,
        3000000000,
    )
    assert resident.fully_on_gpu is False
    assert resident.context_length == 4096
    assert resident.expires_at == datetime(2025, 6, 4, 21, 38, 31, 837530, tzinfo=UTC)
    assert result.memory_bytes == 5137025024
    assert result.details["base_url"] == "http://box:11434"


async def test_health_of_a_refused_port_is_down_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    result = await report(context(refuse))
    assert (result.status, result.reason) == ("down", "unreachable")
    assert result.message is not None
    assert "ollama serve" in result.message


async def test_health_of_a_busy_server_is_degraded_busy() -> None:
    busy = json_route({"error": "server busy, please try again."}, 503)
    result = await report(context(routes(ollama(_api_ps=busy))))
    assert (result.status, result.reason) == ("degraded", "busy")
    assert result.latency_seconds is not None


async def test_health_of_another_kind_of_server_is_down_error() -> None:
    result = await report(context(routes({})))
    assert (result.status, result.reason) == ("down", "error")
    assert result.message is not None
    assert "base_url points at Ollama" in result.message


async def test_a_server_that_only_imitates_the_model_list_is_not_taken_for_ollama() -> None:
    # llama-server answers /api/tags (and /api/show, /api/chat) but has no /api/version.
    imitation = {"/api/tags": json_route(TAGS), "/": lambda request: httpx.Response(200)}
    result = await report(context(routes(imitation)))
    assert (result.status, result.reason, result.version) == ("down", "error", None)


@pytest.mark.parametrize(
    ("core", "status", "missing"),
    [
        ({"chain": ["ollama"], "chat_model": "llama3.2"}, "up", None),
        ({"chain": ["ollama"], "chat_model": "Llama3.2"}, "up", None),
        ({"chain": ["ollama"], "chat_model": "registry.ollama.ai/library/llama3.2"}, "up", None),
        ({"chain": ["ollama"], "chat_model": "qwen3:8b"}, "degraded", "qwen3:8b"),
        (
            {
                "chain": ["ollama"],
                "chat_model": "small",
                "aliases": {"small": {"ollama": "llama3.2:1b"}},
            },
            "degraded",
            "llama3.2:1b",
        ),
        ({"chain": ["lmstudio"], "chat_model": "qwen3:8b"}, "up", None),
        ({"embed_chain": ["ollama"], "embed_model": "nomic-embed-text"}, "up", None),
        ({"embed_chain": ["ollama"], "embed_model": "bge-m3"}, "degraded", "bge-m3"),
    ],
)
async def test_health_tells_a_missing_configured_model_apart(
    core: dict[str, Any], status: str, missing: str | None
) -> None:
    settings = {"chain": [], "embed_chain": [], "chat_model": None, "embed_model": None, **core}
    result = await report(context(routes(ollama()), core=settings))
    assert result.status == status
    assert (result.version, len(result.loaded_models)) == ("0.12.6", 1)
    if missing is not None:
        assert result.reason == "model_missing"
        assert result.message is not None
        assert f"ollama pull {missing}" in result.message


async def test_health_ignores_the_cores_default_embedding_model() -> None:
    # embed_model keeps its built-in default (meant for st_cpu): not this server's concern.
    result = await report(context(routes(ollama()), core={"embed_chain": ["ollama"]}))
    assert (result.status, result.reason) == ("up", None)


def pull_route(*records: object, seen: list[httpx.Request] | None = None) -> Handler:
    return answer(b"", chunks=[ndjson(r) for r in records], seen=seen)


async def steps(ctx: ProviderContext, model: str = "llama3.2") -> list[PullProgress]:
    async with aclosing(ctx):
        return [step async for step in pull(ctx, model)]


async def test_pull_streams_progress_until_success() -> None:
    seen: list[httpx.Request] = []
    route = pull_route(
        {"status": "pulling manifest"},
        {"status": "pulling dde5aa3fc5ff", "digest": "sha256:dde5", "total": 2019377376},
        {
            "status": "pulling dde5aa3fc5ff",
            "digest": "sha256:dde5",
            "total": 2019377376,
            "completed": 1009688688,
        },
        {"status": "verifying sha256 digest"},
        {"status": "writing manifest"},
        {"status": "success"},
        seen=seen,
    )
    found = await steps(context(route))
    assert [s.status for s in found][-1] == "success"
    assert found[1].completed_bytes is None
    assert found[2].fraction == pytest.approx(0.5)
    assert found[2].digest == "sha256:dde5"
    assert seen[0].url.path == "/api/pull"
    assert sent(seen[0]) == {"model": "llama3.2", "stream": True}


async def test_pull_of_an_unknown_model_is_model_not_found() -> None:
    route = pull_route(
        {"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}
    )
    with pytest.raises(ModelNotFound, match=r"ollama\.com/library") as caught:
        await steps(context(route), "no-such-model")
    assert caught.value.model == "no-such-model"
    assert caught.value.provider == "ollama"


async def test_pull_of_an_unknown_model_refused_before_any_progress_is_model_not_found() -> None:
    route = json_route({"error": "pull model manifest: file does not exist"}, status=500)
    with pytest.raises(ModelNotFound, match=r"ollama\.com/library") as caught:
        await steps(context(route), "no-such-model")
    assert caught.value.model == "no-such-model"


@pytest.mark.parametrize(
    ("status", "message"),
    [(500, "connection reset by peer"), (404, "404 page not found")],
)
async def test_other_pull_refusals_keep_their_own_error(status: int, message: str) -> None:
    with pytest.raises(ProviderError) as caught:
        await steps(context(json_route({"error": message}, status=status)))
    assert not isinstance(caught.value, ModelNotFound)
    assert caught.value.status_code == status


async def test_pull_failure_midway_says_it_resumes() -> None:
    route = pull_route({"status": "pulling manifest"}, {"error": "connection reset by peer"})
    with pytest.raises(ProviderError, match="resumes"):
        await steps(context(route))


async def test_pull_stream_ending_before_success_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="before Ollama reported success"):
        await steps(context(pull_route({"status": "pulling manifest"})))


async def test_pull_closes_its_connection_when_abandoned() -> None:
    closed: list[bool] = []

    class Watched(Chunks):
        async def aclose(self) -> None:
            closed.append(True)

    def route(request: httpx.Request) -> httpx.Response:
        body = [ndjson({"status": "pulling manifest"}), ndjson({"status": "success"})]
        return httpx.Response(200, stream=Watched(body))

    ctx = context(route)
    async with aclosing(ctx), aclosing(pull(ctx, "llama3.2")) as progress:
        first = await anext(progress)
    assert first.status == "pulling manifest"
    assert closed == [True]
