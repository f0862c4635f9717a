"""The aiohttp transport where a user of ``HttpApi`` could tell it from httpx's own.

The kit's limit tests and the plugins' loopback and contract suites run over
aiohttp in ``test_transport_suites.py``; these cover what those cannot: the
setting's way into the plugins, connect timeouts, the bytes on the wire, the
proxy environment, and the ways choosing aiohttp can fail.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aegis_llm import AegisSettings, AsyncClient
from aegis_llm.errors import ConfigurationError, ProviderUnavailable
from aegis_llm.http import HttpApi, HttpLimits
from aegis_llm.testing.fakes import (
    FakeOllama,
    FakeOpenAI,
    FakeServer,
    Request,
    Response,
    refused_url,
)

pytest.importorskip("aiohttp")
from aegis_llm.http._aiohttp import AiohttpTransport

BOTH = pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
OK = b'{"ok":true}'


def api_on(url: str, transport: Any, **limits: Any) -> HttpApi:
    return HttpApi(
        provider="fake",
        base_url=url,
        start_hint="start the fake",
        limits=HttpLimits(transport=transport, **limits),
    )


def ok(request: Request) -> Response:
    return Response(200, OK)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port that listens but never accepts, its queue full: connecting there hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        queued: list[socket.socket] = []
        try:
            for _ in range(16):
                probe = socket.socket()
                queued.append(probe)
                probe.settimeout(0.2)
                try:
                    probe.connect(("127.0.0.1", port))
                except TimeoutError:
                    break  # this one got no answer: the queue is full
            else:
                pytest.fail("the kernel kept accepting connections; cannot make a connect hang")
            yield port
        finally:
            for probe in queued:
                probe.close()


@pytest.mark.anyio
@pytest.mark.parametrize("plugin", ["ollama", "lmstudio"])
async def test_the_setting_carries_each_plugin_over_aiohttp(
    plugin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths: list[str] = []
    send = AiohttpTransport.handle_async_request

    async def counted(self: AiohttpTransport, request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return await send(self, request)

    monkeypatch.setattr(AiohttpTransport, "handle_async_request", counted)
    monkeypatch.setenv("AEGIS_LLM_HTTP_TRANSPORT", "aiohttp")
    fake = FakeOllama(reply="over aiohttp") if plugin == "ollama" else FakeOpenAI()
    model = "llama3.2:latest" if plugin == "ollama" else "llama-3.2-3b-instruct"
    with fake:
        settings = AegisSettings.load(chain=[plugin], chat_model=model)
        async with AsyncClient(settings, provider_settings={plugin: {"base_url": fake.url}}) as llm:
            reply = await llm.chat("hi")
    assert settings.http_transport == "aiohttp"
    assert reply.content
    assert reply.provider == plugin
    assert paths, "the chat did not go through the aiohttp transport"


def test_httpx_stays_the_default() -> None:
    assert AegisSettings.load().http_transport == "httpx"
    assert HttpLimits().transport == "httpx"


@pytest.mark.anyio
@BOTH
async def test_a_connect_that_times_out_counts_as_refused(
    transport: str, unanswered_port: int
) -> None:
    api = api_on(f"http://127.0.0.1:{unanswered_port}", transport, connect_timeout=0.2)
    with pytest.raises(ProviderUnavailable, match="cannot connect") as caught:
        await api.request_json("GET", "/x")
    await api.aclose()
    assert caught.value.refused
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)


@pytest.mark.anyio
@BOTH
async def test_proxy_variables_are_ignored(transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, refused_url())
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with FakeServer(ok) as server:
        api = api_on(server.url, transport)
        answer = await api.request_json("GET", "/x")
        await api.aclose()
    assert answer == {"ok": True}


@pytest.mark.anyio
async def test_the_wire_carries_what_httpx_would_send() -> None:
    """The same headers (httpx's cookie jar included) on one kept-alive connection."""

    async def exchange(transport: Any) -> tuple[list[dict[str, str]], int]:
        sent: list[dict[str, str]] = []

        def record(request: Request) -> Response:
            sent.append({k.lower(): v for k, v in request.headers.items() if k.lower() != "host"})
            return Response(200, OK, headers=(("Set-Cookie", "session=1; Path=/"),))

        with FakeServer(record) as server:
            api = HttpApi(
                provider="fake",
                base_url=server.url,
                start_hint="-",
                limits=HttpLimits(transport=transport),
                headers={"Authorization": "Bearer wire-test"},
            )
            await api.request_json("GET", "/x")
            await api.request_json("POST", "/y", {"a": "b"})
            await api.aclose()
            return sent, server.stats.connections_accepted

    (get, post), connections = await exchange("aiohttp")
    assert ([get, post], connections) == await exchange("httpx")
    assert connections == 1
    assert post["cookie"] == "session=1"
    assert post["content-type"] == "application/json"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_aiohttp_under_trio_is_a_configuration_error() -> None:
    with FakeServer(ok) as server:
        api = api_on(server.url, "aiohttp")
        with pytest.raises(ConfigurationError, match="asyncio only") as caught:
            await api.request_json("GET", "/x")
        await api.aclose()
    assert "AEGIS_LLM_HTTP_TRANSPORT" in str(caught.value)
    assert server.stats.connections_accepted == 0


def test_choosing_aiohttp_without_it_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # importing it now fails
    monkeypatch.delitem(sys.modules, "aegis_llm.http._aiohttp")
    with pytest.raises(ConfigurationError, match=r'pip install "aegis-llm\[aiohttp\]"'):
        api_on("http://127.0.0.1:9", "aiohttp")


def test_aiohttp_is_imported_only_when_chosen(tmp_path: Path) -> None:
    """Plugin discovery and the default transport must not pay aiohttp's import."""
    script = """
import json, sys
import anyio
from aegis_llm import AegisSettings, PluginHost
from aegis_llm.http import HttpApi, HttpLimits

async def build(transport):
    api = HttpApi(provider="p", base_url="http://127.0.0.1:9", start_hint="-",
                  limits=HttpLimits(transport=transport))
    await api.aclose()
    return "aiohttp" in sys.modules

PluginHost(AegisSettings.load())
print(json.dumps([anyio.run(build, "httpx"), anyio.run(build, "aiohttp")]))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, True]
