"""What ``HttpApi`` puts on the wire now that it builds requests itself (no ``httpx.AsyncClient``).

The bytes a server sees must stay what a careful HTTP client sends: a Host,
a body length that matches, our User-Agent, no compression, cookies the server
set, and paths that can only ever address the configured server.
"""

from __future__ import annotations

import pytest

from aegis_llm import __version__
from aegis_llm.errors import InvalidRequest
from aegis_llm.http import HttpApi, HttpLimits
from aegis_llm.testing.fakes import FakeServer, Request, Response

pytestmark = pytest.mark.anyio
OK = b'{"ok":true}'


def _recording() -> tuple[list[Request], FakeServer]:
    seen: list[Request] = []

    def record(request: Request) -> Response:
        seen.append(request)
        return Response(200, OK, headers=(("Set-Cookie", "sticky=abc; Path=/"),))

    return seen, FakeServer(record)


def _api(
    url: str, *, headers: dict[str, str] | None = None, limits: HttpLimits | None = None
) -> HttpApi:
    return HttpApi(
        provider="fake", base_url=url, start_hint="start the fake", headers=headers, limits=limits
    )


async def test_headers_and_body_are_those_of_a_careful_client() -> None:
    seen, server = _recording()
    with server:
        api = _api(server.url, headers={"Authorization": "Bearer k-123456"})
        await api.request_json("POST", "/api/chat", {"model": "m", "text": "é"})
        await api.request_json("GET", "/api/tags")
        await api.aclose()
    post, get = seen
    host = server.url.removeprefix("http://")
    assert post.method == "POST"
    assert post.path == "/api/chat"
    assert post.headers["host"] == host
    assert post.headers["user-agent"] == f"aegis-llm/{__version__}"
    assert post.headers["accept-encoding"] == "identity"
    assert post.headers["authorization"] == "Bearer k-123456"
    assert post.headers["content-type"] == "application/json"
    assert int(post.headers["content-length"]) == len(post.body)
    assert post.json() == {"model": "m", "text": "é"}
    assert get.body == b""
    assert "content-type" not in get.headers
    assert get.headers["cookie"] == "sticky=abc", "a cookie the server set goes back to it"
    assert server.stats.connections_accepted == 1, "one kept-alive connection"


async def test_a_base_url_with_a_path_prefixes_every_request() -> None:
    seen, server = _recording()
    with server:
        api = _api(server.url + "/prefix/")
        await api.request_json("GET", "/v1/models?limit=2")
        await api.aclose()
    assert (seen[0].path, seen[0].query) == ("/prefix/v1/models", "limit=2")


@pytest.mark.parametrize("path", ["http://elsewhere.example/x", "v1/models", ""])
async def test_a_path_that_is_not_one_on_the_server_is_refused_before_sending(path: str) -> None:
    seen, server = _recording()
    with server:
        api = _api(server.url)
        with pytest.raises(InvalidRequest, match="must start with '/'"):
            await api.request_json("GET", path)
        await api.aclose()
    assert seen == []
    assert server.stats.connections_accepted == 0


async def test_an_absolute_looking_path_stays_on_the_server() -> None:
    """``//host/x`` is resolved against the base by URL joining; here it is only a path."""
    seen, server = _recording()
    with server:
        api = _api(server.url)
        await api.request_json("GET", "//elsewhere.example/x")
        await api.aclose()
    assert seen[0].path == "//elsewhere.example/x"
    assert seen[0].headers["host"] == server.url.removeprefix("http://")


async def test_a_path_a_url_cannot_carry_is_an_invalid_request() -> None:
    seen, server = _recording()
    with server:
        api = _api(server.url)
        with pytest.raises(InvalidRequest, match="cannot address"):
            await api.request_json("GET", "/api/v0/models/bad\x00name")
        await api.aclose()
    assert seen == []


async def test_the_per_call_timeout_caps_the_connect_timeout() -> None:
    api = _api("http://127.0.0.1:9", limits=HttpLimits(connect_timeout=3.0))
    capped = api._build("GET", "/x", None, 0.5)
    default = api._build("GET", "/x", None, None)
    await api.aclose()
    assert capped.extensions["timeout"]["connect"] == 0.5
    assert default.extensions["timeout"]["connect"] == 3.0


async def test_a_body_compressed_against_our_identity_request_is_still_decoded() -> None:
    """We ask for ``identity``; a server that compresses anyway must not look malformed."""
    import gzip

    def compressing(request: Request) -> Response:
        return Response(200, gzip.compress(OK), headers=(("Content-Encoding", "gzip"),))

    with FakeServer(compressing) as server:
        api = _api(server.url)
        assert await api.request_json("GET", "/x") == {"ok": True}
        await api.aclose()
