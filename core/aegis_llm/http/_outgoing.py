"""Building the requests ``HttpApi`` sends, without ``httpx.AsyncClient`` in the way.

``httpx.AsyncClient`` spends about 110 µs of every request on what an SDK
talking to one known server does not need: merging URLs and headers from
scratch, an auth flow, redirect handling, event hooks and elapsed-time
bookkeeping. That alone was more than the whole overhead budget of a chat on
loopback (DESIGN targets ≤ 1.10x raw httpx). Here the parts that are the
same for every request (base URL, default headers) are prepared once and a
request is a few list operations; the transport (httpcore's pool, or the
aiohttp one) is called directly by ``HttpApi``.

What the client did that still matters is kept: paths that stay on the server, the
connect timeout per request, and a cookie jar (proxies in front of a model
server may pin sessions with cookies).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from aegis_llm import __version__
from aegis_llm.errors import InvalidRequest
from aegis_llm.http._payload import OneShot

__all__ = ["RequestFactory"]

# Compression buys nothing on loopback, and a compressed body could expand far
# past max_response_bytes inside a single read before the cap is checked.
_DEFAULT_HEADERS = {
    "Accept": "*/*",
    "Accept-Encoding": "identity",
    "Connection": "keep-alive",
    "User-Agent": f"aegis-llm/{__version__}",
}
_JSON = (b"Content-Type", b"application/json")
# Paths carry model names on some routes; beyond this many the cache starts over.
_URL_CACHE_SIZE = 256


class RequestFactory:
    """Requests to one server: ``base_url`` plus a path, with the server's headers."""

    def __init__(self, base_url: str, headers: Mapping[str, str] | None, *, provider: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._provider = provider
        base = self._parse(self.base_url, self.base_url)
        # httpx.Headers normalises names and encodes values exactly as the client did.
        merged = httpx.Headers({"Host": base.netloc.decode("ascii"), **_DEFAULT_HEADERS})
        merged.update(headers or {})
        self._headers = merged.raw
        self._urls: dict[str, httpx.URL] = {}
        self.cookies = httpx.Cookies()

    def build(
        self, method: str, path: str, content: bytes | None, connect_timeout: float
    ) -> httpx.Request:
        """A request with ``content`` as its JSON body (``None``: no body)."""
        headers = list(self._headers)
        if content is not None:
            headers.append(_JSON)
            headers.append((b"Content-Length", str(len(content)).encode()))
        elif method in ("POST", "PUT", "PATCH"):
            headers.append((b"Content-Length", b"0"))
        request = httpx.Request(
            method,
            self._url(path),
            headers=headers,
            # Not httpx's generator: see _payload.
            stream=OneShot(content or b""),
            extensions={
                "timeout": {"connect": connect_timeout, "read": None, "write": None, "pool": None}
            },
        )
        if self.cookies:
            self.cookies.set_cookie_header(request)
        return request

    def remember_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            self.cookies.extract_cookies(response)

    def _url(self, path: str) -> httpx.URL:
        url = self._urls.get(path)
        if url is not None:
            return url
        if not path.startswith("/"):
            raise InvalidRequest(
                f"{path!r} is not a path on {self.base_url} (it must start with '/')",
                provider=self._provider,
                hint="plugins pass paths relative to base_url, starting with '/'",
            )
        # Appended, never resolved: after a leading "/" nothing can change the
        # authority, so this server's credentials cannot travel to another origin
        # (an absolute URL or "//host" is just a strange path here).
        url = self._parse(self.base_url + path, path)
        if len(self._urls) >= _URL_CACHE_SIZE:
            self._urls.clear()
        self._urls[path] = url
        return url

    def _parse(self, text: str, path: str) -> httpx.URL:
        try:
            return httpx.URL(text)
        except httpx.InvalidURL as exc:
            raise InvalidRequest(
                f"cannot address {path!r} on {self.base_url}: {exc}",
                provider=self._provider,
                hint="a model name or path holds characters a URL cannot carry",
            ) from None
