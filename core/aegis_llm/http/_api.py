"""One pooled HTTP connection to one server, with the SDK's limits built in.

Plugins describe their protocol; this class owns what every HTTP provider
must get right the same way: separate connect / first-byte / between-chunk /
whole-exchange timeouts, bounded bodies and lines, mapping transport failures
to typed errors, keeping credentials out of messages, and never following
redirects (so an ``Authorization`` header cannot travel to another origin).

Timeouts other than connecting are enforced on absolute times (an anyio
deadline for the head, per-read limits recomputed from the deadlines for the
body) rather than httpx's fixed per-read timeouts, which restart on every byte
and so cannot bound a server that trickles.

Requests go straight to the transport (httpcore's pool, or aiohttp): see
``_outgoing`` for what ``httpx.AsyncClient`` cost and what of it is kept.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Literal, overload

import anyio
import httpx

from aegis_llm.errors import (
    AegisLLMError,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from aegis_llm.http._body import BoundedBody
from aegis_llm.http._decoders import NDJSONDecoder, SSEDecoder, SSEEvent, parse_json
from aegis_llm.http._errors import ErrorClassifier, classify_status, parse_error_body
from aegis_llm.http._limits import Deadlines, HttpLimits
from aegis_llm.http._outgoing import RequestFactory
from aegis_llm.http._payload import encode_json
from aegis_llm.http._secrets import Credentials

__all__ = ["HttpApi"]

_ERROR_BODY_LIMIT = 64 * 1024


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
        self.limits = limits or HttpLimits()
        self._start_hint = start_hint
        self._classify = classify
        self._credentials = Credentials(headers or {})
        self._requests = RequestFactory(base_url, headers, provider=provider)
        self.base_url = self._requests.base_url
        if transport is None and self.limits.transport == "aiohttp":
            # Imported here: plugin discovery must not pay for aiohttp, and most users lack it.
            from aegis_llm.http._aiohttp import AiohttpTransport

            transport = AiohttpTransport(max_connections=self.limits.max_connections)
        elif transport is None:
            transport = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=self.limits.max_connections,
                    max_keepalive_connections=self.limits.max_connections,
                ),
                trust_env=False,
            )
        self._transport = transport

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._transport.aclose()

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
        connect = self.limits.connect_timeout
        if timeout is not None:
            connect = min(timeout, connect)
        content = None if body is None else encode_json(body, provider=self.provider)
        return self._requests.build(method, path, content, connect)

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
            response = await self._transport.handle_async_request(request)
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
        response.request = request
        self._requests.remember_cookies(response)
        return response

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
        body = parsed.redacted(self._credentials.redact)
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
