"""An API key stays a secret: never shown, never logged, never sent to another origin.

The hostile server here quotes the ``Authorization`` header it received back
in every kind of error a server can send, which is the worst case for leaks:
the SDK's error messages quote servers on purpose, so it must scrub them.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from aegis_llm import AegisSettings, AsyncClient, HttpProviderSettings
from aegis_llm.cli import main as cli
from aegis_llm.errors import AegisLLMError, AllProvidersFailed, ConfigurationError, ProviderError
from aegis_llm.http import HttpApi
from aegis_llm.testing.fakes import FakeServer, Request, Response, StreamResponse

pytestmark = pytest.mark.anyio

CANARY = f"sk-canary-{secrets.token_hex(12)}"
PLUGINS = ("ollama", "lmstudio")


def _ollama_answer(kind: str, echo: str) -> Response | StreamResponse:
    if kind == "in_body":
        return Response(200, json.dumps({"error": echo}).encode())
    start = {"model": "m", "message": {"role": "assistant", "content": "hi"}, "done": False}
    lines = [json.dumps(start).encode() + b"\n", json.dumps({"error": echo}).encode() + b"\n"]
    return StreamResponse(lines, content_type="application/x-ndjson")


def _openai_answer(kind: str, echo: str) -> Response | StreamResponse:
    error = {"error": {"message": echo, "type": "server_error"}}
    if kind == "in_body":
        return Response(200, json.dumps(error).encode())
    delta = {"choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    events = [f"data: {json.dumps(delta)}\n\n".encode(), f"data: {json.dumps(error)}\n\n".encode()]
    return StreamResponse(events, content_type="text/event-stream")


class EchoingServer:
    """Answers every request with an error quoting the credentials it was sent.

    ``kind`` is an HTTP status (the error body quotes the key), ``in_body`` (a
    200 whose JSON is an error object), or ``mid_stream`` (a stream that
    fails after one token).
    """

    def __init__(self, plugin: str) -> None:
        self.kind = "401"
        self._answer = _ollama_answer if plugin == "ollama" else _openai_answer

    def __call__(self, request: Request) -> Response | StreamResponse:
        echo = f"bad credentials {request.headers.get('authorization', '')}"
        if self.kind.isdigit():
            body = {"error": {"message": echo, "code": int(self.kind)}}
            return Response(int(self.kind), json.dumps(body).encode())
        return self._answer(self.kind, echo)


@pytest.fixture(params=PLUGINS)
def plugin(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def echoing(plugin: str) -> Iterator[tuple[EchoingServer, FakeServer]]:
    app = EchoingServer(plugin)
    with FakeServer(app) as server:
        yield app, server


def keyed_client(plugin: str, url: str) -> AsyncClient:
    # One try per call and no breaker: every call reaches the server and shows its error.
    settings = AegisSettings.load(
        chain=[plugin],
        chat_model="m",
        retry={"max_attempts": 1},
        breaker={"failure_threshold": 1000},
    )
    return AsyncClient(settings, provider_settings={plugin: {"base_url": url, "api_key": CANARY}})


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and every error it came from."""
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def texts_of(error: BaseException) -> Iterator[str]:
    """What a user, a log or a JSON dump can see of an error and its causes."""
    for seen in causes(error):
        yield str(seen)
        yield repr(seen)
        if isinstance(seen, AegisLLMError) and seen.hint:
            yield seen.hint
        if isinstance(seen, AllProvidersFailed):
            yield from (attempt.model_dump_json() for attempt in seen.attempts)


KINDS = ["401", "403", "400", "404", "429", "500", "in_body", "mid_stream"]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_key_quoted_back_by_the_server_never_shows(
    plugin: str,
    echoing: tuple[EchoingServer, FakeServer],
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, server = echoing
    app.kind = kind
    caplog.set_level(logging.DEBUG)
    async with keyed_client(plugin, server.url) as llm:
        with pytest.raises(AegisLLMError) as chat_error:
            await llm.chat("hi")
        with pytest.raises(AegisLLMError) as stream_error:
            await llm.stream_chat("hi").collect()
        shown = [*texts_of(chat_error.value), *texts_of(stream_error.value)]
        provider = llm.provider(plugin)
        shown += [repr(llm), repr(provider), repr(provider.ctx), repr(provider.ctx.settings)]
    sent = [exchange.request.headers["authorization"] for exchange in server.stats.history]
    assert len(sent) >= 2
    assert set(sent) == {f"Bearer {CANARY}"}
    leaks = [text for text in [*shown, caplog.text] if CANARY in text]
    assert leaks == []


def test_the_cli_never_prints_the_key(
    plugin: str,
    echoing: tuple[EchoingServer, FakeServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    _, server = echoing
    monkeypatch.chdir(tmp_path)
    prefix = f"AEGIS_LLM_{plugin.upper()}_"
    monkeypatch.setenv(f"{prefix}BASE_URL", server.url)
    monkeypatch.setenv(f"{prefix}API_KEY", CANARY)
    monkeypatch.setenv("AEGIS_LLM_CHAIN", plugin)
    commands = [
        ["chat", "hi", "--model", "m", "--json"],
        ["chat", "hi", "--model", "m"],
        ["health", "--json", "--provider", plugin],
        ["models", "--json", "--provider", plugin],
        ["providers", "--json"],
    ]
    codes = [cli(command) for command in commands]
    out, err = capsys.readouterr()
    assert codes[:2] == [1, 1]
    assert "bad credentials" in out + err
    assert CANARY not in out + err


async def test_credentials_never_follow_a_redirect_to_another_origin(plugin: str) -> None:
    def redirect(request: Request) -> Response:
        location = f"{elsewhere.url}{request.path}"
        return Response(307, b"", headers=(("Location", location),))

    with (
        FakeServer(lambda request: Response(200, b"{}")) as elsewhere,
        FakeServer(redirect) as first,
    ):
        async with keyed_client(plugin, first.url) as llm:
            with pytest.raises(AllProvidersFailed) as caught:
                await llm.chat("hi")
            await llm.health()
    assert first.stats.requests_received >= 1
    assert elsewhere.stats.requests_received == 0
    assert any(isinstance(c, ProviderError) for c in causes(caught.value))


def test_api_keys_are_secret_strings_in_every_plugin(plugin: str) -> None:
    async_client = keyed_client(plugin, "http://127.0.0.1:9")
    settings = async_client.provider(plugin).ctx.settings
    assert isinstance(settings, HttpProviderSettings)
    assert isinstance(settings.api_key, SecretStr)
    assert CANARY not in repr(settings) + settings.model_dump_json()


Source = Callable[[pytest.MonkeyPatch, Path, str, str], None]


def _from_env(monkeypatch: pytest.MonkeyPatch, where: Path, plugin: str, url: str) -> None:
    monkeypatch.setenv(f"AEGIS_LLM_{plugin.upper()}_BASE_URL", url)


def _from_toml(monkeypatch: pytest.MonkeyPatch, where: Path, plugin: str, url: str) -> None:
    (where / "aegis-llm.toml").write_text(f'[providers.{plugin}]\nbase_url = "{url}"\n')


@pytest.mark.parametrize("source", [_from_env, _from_toml], ids=["env", "toml"])
@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/", "127.0.0.1:11434", "javascript:alert(1)"]
)
def test_base_urls_must_be_http_from_every_source(
    plugin: str,
    source: Source,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(f"AEGIS_LLM_{plugin.upper()}_API_KEY", CANARY)
    source(monkeypatch, tmp_path, plugin, url)
    with pytest.raises(ConfigurationError, match="base_url") as caught:
        AsyncClient.from_settings().provider(plugin)
    assert CANARY not in "".join(texts_of(caught.value))


class Pieces(httpx.AsyncByteStream):
    """A body delivered exactly in these pieces, as TCP might cut it."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._pieces:
            yield piece


@given(
    before=st.binary(max_size=40),
    after=st.binary(max_size=40),
    bare=st.booleans(),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
@settings(max_examples=60, deadline=None)
async def test_a_key_split_anywhere_between_pieces_is_still_masked(
    before: bytes, after: bytes, bare: bool, cuts: list[int]
) -> None:
    quoted = CANARY.encode() if bare else f"Bearer {CANARY}".encode()
    body = before + quoted + after + quoted
    points = sorted({cut % (len(body) + 1) for cut in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=Pieces(pieces)))
    api = HttpApi(
        provider="fake",
        base_url="http://127.0.0.1:9",
        start_hint="",
        headers={"Authorization": f"Bearer {CANARY}"},
        transport=transport,
    )
    received = await api.request_bytes("GET", "/x")
    await api.aclose()
    key = CANARY.encode()
    assert key not in received
    assert received == body.replace(b"Bearer " + key, b"[redacted]").replace(key, b"[redacted]")
