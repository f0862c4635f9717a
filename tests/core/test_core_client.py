"""The clients' behaviour over in-process providers, under asyncio and trio."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from core_testkit import Scripted, client_with

from aegis_llm import Capability, ChatRequest, Client, PluginHost, ProviderContext, hookimpl
from aegis_llm.errors import (
    AllProvidersFailed,
    InvalidRequest,
    ModelNotFound,
    ProtocolError,
    ProviderUnavailable,
    Unsupported,
)

pytestmark = pytest.mark.anyio
both_backends = pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])


@both_backends
async def test_chat_reports_who_answered_and_how() -> None:
    down = Scripted("alpha", error=ProviderUnavailable("refused"))
    up = Scripted("beta")
    async with client_with(down, up, chain=["alpha", "beta"]) as llm:
        reply = await llm.chat("hi", model="m")
    assert (reply.content, reply.provider, reply.model) == ("hello world", "beta", "m")
    assert [(a.provider, a.outcome) for a in reply.attempts] == [
        ("alpha", "error"),
        ("beta", "success"),
    ]
    assert reply.attempts[0].error_type == "ProviderUnavailable"


@both_backends
async def test_stream_joins_to_the_whole_answer() -> None:
    async with client_with(Scripted("alpha", words=("a", "b", "c")), chain=["alpha"]) as llm:
        chunks = [c async for c in llm.stream_chat("hi", model="m")]
    assert "".join(c.content for c in chunks) == "abc"
    assert chunks[-1].done
    assert chunks[-1].attempts[-1].outcome == "success"


async def test_stream_collect_and_context_manager() -> None:
    async with (
        client_with(Scripted("alpha"), chain=["alpha"]) as llm,
        llm.stream_chat("hi", model="m") as stream,
    ):
        reply = await stream.collect()
    assert reply.content == "hello world"
    assert reply.provider == "alpha"


@both_backends
async def test_embed_list_models_and_health() -> None:
    down = Scripted("down", error=ProviderUnavailable("refused", hint="start it"))
    async with client_with(Scripted("alpha"), down, embed_chain=["alpha"]) as llm:
        vectors = await llm.embed(["ab", "c"], model="m")
        models = await llm.list_models()
        reports = await llm.health()
    assert vectors.vectors[0][0] == 2.0
    assert vectors.dimensions == 3
    assert [m.id for m in models] == ["alpha-model"]
    assert [e.provider for e in models.errors] == ["down"]
    assert "start it" in (models.errors[0].error or "")
    by_name = {r.provider: r for r in reports}
    assert by_name["alpha"].status == "up"
    assert (by_name["down"].status, by_name["down"].reason) == ("down", "unreachable")
    assert "start it" in (by_name["down"].message or "")


async def test_health_lists_chain_members_that_are_not_installed() -> None:
    async with client_with(Scripted("alpha"), chain=["alpha", "ghost"]) as llm:
        reports = {r.provider: r for r in await llm.health()}
    assert reports["ghost"].reason == "not_installed"
    assert "ghost" in (reports["ghost"].message or "")


async def test_missing_capability_is_unsupported_and_skipped() -> None:
    chat_only = Scripted("alpha", capabilities={Capability.CHAT})
    async with client_with(chat_only, embed_chain=["alpha"]) as llm:
        with pytest.raises(AllProvidersFailed) as caught:
            await llm.embed(["x"], model="m")
        with pytest.raises(Unsupported, match="cannot embed"):
            await llm.provider("alpha").embed(  # direct call, no chain
                __import__("aegis_llm").EmbedRequest(model="m", inputs=("x",))
            )
    assert caught.value.attempts[0].outcome == "skipped"
    assert chat_only.calls == []


async def test_every_failure_is_kept() -> None:
    first = Scripted("alpha", error=ModelNotFound("no such model", hint="ollama pull m"))
    second = Scripted("beta", error=ProviderUnavailable("refused"))
    async with client_with(first, second, chain=["alpha", "beta"]) as llm:
        with pytest.raises(AllProvidersFailed) as caught:
            await llm.chat("hi", model="m")
    assert [a.provider for a in caught.value.attempts] == ["alpha", "beta"]
    assert "ollama pull m" in str(caught.value)


class WrongType(Scripted):
    @hookimpl
    async def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Any:
        return {"content": "a dict, not a ChatResponse"}


async def test_a_plugin_returning_the_wrong_type_is_named() -> None:
    async with client_with(WrongType("alpha")) as llm:
        with pytest.raises(ProtocolError, match="plugin 'alpha' returned dict"):
            await llm.provider("alpha").chat(
                ChatRequest.model_validate(
                    {"model": "m", "messages": [{"role": "user", "content": "x"}]}
                )
            )


class Recorder:
    """An extension plugin: wraps every chat call, as logging or metrics would."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(wrapper=True)
    def aegis_llm_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> Generator[None, Any, Any]:
        self.seen.append(f"{ctx.name}:{request.model}")
        return (yield)


async def test_extensions_wrap_calls_of_every_provider() -> None:
    recorder = Recorder()
    async with client_with(Scripted("alpha"), Scripted("beta"), recorder) as llm:
        await llm.chat("x", model="m1", chain=["alpha"])
        await llm.chat("x", model="m2", chain=["beta"])
    assert recorder.seen == ["alpha:m1", "beta:m2"]
    assert {p.name: p.kind for p in llm.plugins}["recorder"] == "extension"


def test_unmarked_hooks_and_name_mismatch_are_invalid() -> None:
    class Unmarked:
        def aegis_llm_health(self, ctx: object) -> None: ...

    host = PluginHost(__import__("aegis_llm").AegisSettings.load(), discover=False)
    assert "not decorated" in (host.register(Unmarked(), "unmarked").error or "")
    assert "calls itself" in (host.register(Scripted("alpha"), "beta").error or "")
    assert host.register(Scripted("alpha"), "alpha").status == "loaded"
    assert "already taken" in (host.register(Scripted("alpha"), "alpha").error or "")


def test_blocking_client_has_the_same_methods() -> None:
    import aegis_llm

    settings = aegis_llm.AegisSettings.load(chain=["alpha"], embed_chain=["alpha"])
    host = PluginHost(settings, discover=False)
    host.register(Scripted("alpha"), "alpha")
    with Client(settings, host=host) as llm:
        assert llm.chat("hi", model="m").content == "hello world"
        assert "".join(c.content for c in llm.stream_chat("hi", model="m")) == "hello world"
        assert llm.embed("abc", model="m", timeout=5).vectors == [[3.0, 0.5, -0.5]]
        assert [m.id for m in llm.list_models()] == ["alpha-model"]
        assert [r.status for r in llm.health()] == ["up"]
        with pytest.raises(AllProvidersFailed):
            llm.chat("hi", model="m", chain=["nobody"])


@pytest.mark.parametrize(
    "method", ["chat", "stream_chat", "embed", "list_models", "health", "pull"]
)
def test_blocking_methods_take_the_same_arguments_as_async_ones(method: str) -> None:
    import inspect

    from aegis_llm import AsyncClient

    blocking = inspect.signature(getattr(Client, method)).parameters
    asynchronous = inspect.signature(getattr(AsyncClient, method)).parameters
    assert list(blocking) == list(asynchronous)


def test_the_blocking_client_checks_a_per_call_timeout() -> None:
    import aegis_llm

    settings = aegis_llm.AegisSettings.load(chain=["alpha"])
    host = PluginHost(settings, discover=False)
    host.register(Scripted("alpha"), "alpha")
    with Client(settings, host=host) as llm:
        with pytest.raises(InvalidRequest, match="timeout"):
            llm.chat("hi", model="m", timeout=-1)
        with pytest.raises(InvalidRequest, match="timeout"):
            list(llm.stream_chat("hi", model="m", timeout=0))
        assert llm.chat("hi", model="m", timeout=5).content == "hello world"


async def test_errors_raised_without_a_provider_name_are_claimed() -> None:
    anonymous = Scripted("alpha", error=ModelNotFound("no such model"))
    async with client_with(anonymous, chain=["alpha"]) as llm:
        with pytest.raises(AllProvidersFailed) as caught:
            await llm.chat("hi", model="m")
    assert caught.value.attempts[0].error == "alpha: no such model"
