"""The plugin as the core sees it: discovery, cheap import, the whole path through a client."""

from __future__ import annotations

import subprocess
import sys
from contextlib import aclosing

import httpx
import pytest
from ollama_testkit import Chunks, chat_stream, context

from aegis_llm import AegisSettings, Capability, ChatRequest, Message, PluginHost
from aegis_llm_ollama._chat import stream_chat


def test_entry_point_loads_as_a_provider_with_its_capabilities() -> None:
    host = PluginHost(AegisSettings.model_construct())
    status = host.status("ollama")
    assert status is not None
    assert (status.status, status.kind) == ("loaded", "provider")
    info = host.info("ollama")
    assert info is not None
    assert info.capabilities == {
        Capability.CHAT,
        Capability.STREAM,
        Capability.EMBED,
        Capability.LIST_MODELS,
        Capability.HEALTH,
        Capability.PULL,
        Capability.TOOLS,
    }


def test_importing_the_plugin_does_not_import_httpx() -> None:
    probe = "import sys, aegis_llm_ollama; print('httpx' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_stream_abandoned_after_one_chunk_closes_its_response() -> None:
    closed: list[bool] = []

    class Watched(Chunks):
        async def aclose(self) -> None:
            closed.append(True)

    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Watched([chat_stream(["one ", "two"])]))

    ctx = context(route)
    request = ChatRequest(model="llama3.2", messages=(Message(role="user", content="hi"),))
    async with aclosing(ctx), aclosing(stream_chat(ctx, request)) as chunks:
        first = await anext(chunks)
    assert first.content == "one "
    assert closed == [True]
