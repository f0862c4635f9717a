"""One pooled HTTP connection to one server, with the SDK's limits built in.

Plugins describe their protocol; this class owns what every HTTP provider
must get right the same way: separate connect / first-byte / between-chunk /
whole-exchange timeouts, bounded bodies and lines, mapping transport failures
to typed errors, keeping credentials out of messages, and never following
redirects (so an ``Authorization`` header cannot travel to another origin).

Timeouts other than connecting are enforced with anyio deadlines on absolute
times rather than httpx's per-read timeouts, which restart on every byte and
so cannot bound a server that trickles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Literal, overload

import anyio
import httpx

from aegis_llm.errors import (
    AegisLLMError,
    InvalidRequest,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from aegis_llm.http._body import BoundedBody
from aegis_llm.http._decoders import NDJSONDecoder, SSEDecoder, SSEEvent, parse_json
from aegis_llm.http._errors import ErrorClassifier, classify_status, parse_error_body
from aegis_llm.http._limits import Deadlines, HttpLimits
from aegis_llm.http._payload import OneShot, encode_json
from aegis_llm.http._secrets import Credentials

__all__ = ["HttpApi"]

_ERROR_BODY_LIMIT = 64 * 1024
# Compression buys nothing on loopback, and a compressed body could expand far
# past max_response_bytes inside a single read before the cap is checked.
_DEFAULT_HEADERS = {"Accept-Encoding": "identity"}


class HttpApi:
    """A server's HTTP API as a provider plugin uses it.

    ``start_hint`` is what a user should do when nothing listens (``ollama
    serve``); ``classify`` lets a plugin recognise its server's special errors
    before the generic status mapping applies. Without a ``transport``, the
    limits' choice (the ``http_transport`` setting) moves the bytes.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        start_hint: str,
        limits: HttpLimits | None = None,
        headers: Mapping[str, str] | None = None,
        classify: ErrorClassifier | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.limits = limits or HttpLimits()
        self._start_hint = start_hint
        self._classify = classify
        self._credentials = Credentials(headers or {})
        if transport is None and self.limits.transport == "aiohttp":
            # Imported here: plugin discovery must not pay for aiohttp, and most users lack it.
            from aegis_llm.http._aiohttp import AiohttpTransport

            transport = AiohttpTransport(max_connections=self.limits.max_connections)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={**_DEFAULT_HEADERS, **(headers or {})},
            timeout=httpx.Timeout(None, connect=self.limits.connect_timeout),
            limits=httpx.Limits(
                max_connections=self.limits.max_connections,
                max_keepalive_connections=self.limits.max_connections,
            ),
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._client.aclose()

    async def request_json(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        model: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send a request and return its decoded JSON answer (bounded in size)."""
        raw = await self.request_bytes(method, path, body, model=model, timeout=timeout)
        try:
            return parse_json(raw, what=f"{self.provider} {path} response")
        except ProtocolError as exc:
            self._claim(exc)
            raise

    async def request_bytes(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        model: str | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """Send a request and return its whole answer; ``timeout`` caps every limit."""
        deadlines = Deadlines.start(self.limits, timeout)
        answer = await self._open(self._build(method, path, body, timeout), deadlines, model)
        try:
            answer.check_declared_size()
            return await answer.read()
        finally:
            await answer.aclose()

    @overload
    def stream(
        self, path: str, body: Any, framing: Literal["ndjson"], *, model: str | None = None
    ) -> AsyncGenerator[Any, None]: ...
    @overload
    def stream(
        self, path: str, body: Any, framing: Literal["sse"], *, model: str | None = None
    ) -> AsyncGenerator[SSEEvent, None]: ...
    @overload
    def stream(
        self, path: str, body: Any, framing: Literal["ndjson", "sse"], *, model: str | None = None
    ) -> AsyncGenerator[Any, None]: ...
    async def stream(
        self, path: str, body: Any, framing: Literal["ndjson", "sse"], *, model: str | None = None
    ) -> AsyncGenerator[Any, None]:
        """POST ``body`` and yield decoded stream records until the server closes.

        Ends with whatever the framing's decoder flushes; deciding whether the
        stream was complete (``done``, ``[DONE]``) is the plugin's job, since
        only it knows its protocol's terminator. The connection is released
        when the generator is closed or cancelled; close it (``aclosing``)
        when stopping early.
        """
        deadlines = Deadlines.start(self.limits)
        answer = await self._open(self._build("POST", path, body, None), deadlines, model)
        decoder = (
            NDJSONDecoder(max_line_bytes=self.limits.max_line_bytes)
            if framing == "ndjson"
            else SSEDecoder(max_line_bytes=self.limits.max_line_bytes)
        )
        try:
            answer.check_declared_size()
            while (piece := await answer.next()) is not None:
                for record in decoder.feed(piece):
                    yield record
            for record in decoder.close():
                yield record
        except ProtocolError as exc:
            self._claim(exc)
            raise
        finally:
            await answer.aclose()

    def _claim(self, error: ProtocolError) -> None:
        """Name this provider in a decoder's error, which only saw bytes."""
        if error.provider is None:
            error.provider = self.provider
        if error.hint is None:
            error.hint = "the server's answer is malformed; check the server's version and log"

    def _build(self, method: str, path: str, body: Any, timeout: float | None) -> httpx.Request:
        extra: dict[str, Any] = {}
        if timeout is not None:
            connect = min(timeout, self.limits.connect_timeout)
            extra["timeout"] = httpx.Timeout(None, connect=connect)
        content = b""
        if body is not None:
            content = extra["content"] = encode_json(body, provider=self.provider)
            extra["headers"] = {"Content-Type": "application/json"}
        try:
            request = self._client.build_request(method, path, **extra)
        except httpx.InvalidURL as exc:
            raise InvalidRequest(
                f"cannot address {path!r} on {self.base_url}: {exc}",
                provider=self.provider,
                hint="a model name or path holds characters a URL cannot carry",
            ) from None
        # An absolute URL as the path would carry this server's credentials elsewhere.
        url, base = request.url, self._client.base_url
        if (url.scheme, url.netloc) != (base.scheme, base.netloc):
            raise InvalidRequest(
                f"{path!r} leaves {self.base_url}",
                provider=self.provider,
                hint="plugins pass paths relative to base_url",
            )
        request.stream = OneShot(content)  # not httpx's generator: see _payload
        return request

    async def _open(
        self, request: httpx.Request, deadlines: Deadlines, model: str | None
    ) -> BoundedBody:
        """Send ``request`` and return its body reader once a success head arrived."""
        response: httpx.Response | None = None
        with anyio.CancelScope(deadline=deadlines.head_at):
            response = await self._send(request)
        if response is None:
            raise ProviderTimeout(
                f"no answer from {self.base_url} within {deadlines.first_byte_budget:g}s",
                provider=self.provider,
                hint="the model may be loading; raise AEGIS_LLM_FIRST_BYTE_TIMEOUT",
            )
        answer = BoundedBody(
            response,
            deadlines,
            cap=self.limits.max_response_bytes,
            provider=self.provider,
            scrubber=self._credentials.scrubber(),
        )
        if response.status_code < 300:
            return answer
        try:
            raise await self._error_from(response, deadlines, model)
        finally:
            await answer.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderUnavailable(
                f"cannot connect to {self.base_url} ({type(exc).__name__})",
                provider=self.provider,
                hint=self._start_hint,
                refused=True,
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"the connection to {self.base_url} dropped before any answer "
                f"({type(exc).__name__})",
                provider=self.provider,
                hint=self._start_hint,
                refused=False,
            ) from exc

    async def _error_from(
        self, response: httpx.Response, deadlines: Deadlines, model: str | None
    ) -> AegisLLMError:
        if 300 <= response.status_code < 400:
            location = self._credentials.redact(response.headers.get("location", "?"))
            return ProviderError(
                f"unexpected redirect ({response.status_code}) to {location}; "
                "redirects are not followed",
                status_code=response.status_code,
                provider=self.provider,
                hint="point base_url at the server itself",
            )
        reader = BoundedBody(
            response,
            deadlines,
            cap=None,
            provider=self.provider,
            scrubber=self._credentials.scrubber(),
        )
        try:
            raw = await reader.read(_ERROR_BODY_LIMIT)
        except AegisLLMError:
            raw = b""
        parsed = parse_error_body(raw)
        # Masked again once decoded: JSON escapes can hide a credential from the byte scan.
        body = dataclasses.replace(parsed, message=self._credentials.redact(parsed.message))
        error = (
            self._classify(response.status_code, body, response.headers) if self._classify else None
        )
        if error is None:
            error = classify_status(
                response.status_code, body, response.headers, provider=self.provider, model=model
            )
        if error.provider is None:
            error.provider = self.provider
        return error
