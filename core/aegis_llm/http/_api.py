"""One pooled HTTP connection to one server, with the SDK's limits built in.

Plugins describe their protocol; this class owns what every HTTP provider
must get right the same way: separate connect / first-byte / between-chunk /
whole-stream timeouts, bounded bodies and lines, mapping transport failures
to typed errors, and never following redirects (so an ``Authorization``
header cannot travel to another origin).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

import httpx

from aegis_llm._context import ProviderContext
from aegis_llm.errors import (
    AegisLLMError,
    ProtocolError,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from aegis_llm.http._decoders import NDJSONDecoder, SSEDecoder, SSEEvent, parse_json
from aegis_llm.http._errors import ErrorClassifier, classify_status, parse_error_body

__all__ = ["HttpApi", "HttpLimits"]

_ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Time and size bounds for one server. Every value is a core setting."""

    connect_timeout: float = 3.0
    first_byte_timeout: float = 120.0
    idle_timeout: float = 60.0
    stream_timeout: float = 900.0
    max_response_bytes: int = 64 * 1024 * 1024
    max_line_bytes: int = 8 * 1024 * 1024
    max_connections: int = 100

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> HttpLimits:
        core = ctx.core
        return cls(
            connect_timeout=core.connect_timeout,
            first_byte_timeout=core.first_byte_timeout,
            idle_timeout=core.idle_timeout,
            stream_timeout=core.stream_timeout,
            max_response_bytes=core.max_response_bytes,
            max_line_bytes=core.max_line_bytes,
            max_connections=core.max_connections,
        )


class HttpApi:
    """A server's HTTP API as a provider plugin uses it.

    ``start_hint`` is what a user should do when nothing listens (``ollama
    serve``); ``classify`` lets a plugin recognise its server's special errors
    before the generic status mapping applies.
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
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(
                connect=self.limits.connect_timeout,
                read=self.limits.first_byte_timeout,
                write=self.limits.first_byte_timeout,
                pool=self.limits.first_byte_timeout,
            ),
            limits=httpx.Limits(
                max_connections=self.limits.max_connections,
                max_keepalive_connections=self.limits.max_connections,
            ),
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    async def aclose(self) -> None:
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
        return parse_json(raw, what=f"{self.provider} {path} response")

    async def request_bytes(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        model: str | None = None,
        timeout: float | None = None,
    ) -> bytes:
        request = self._build(method, path, body, timeout)
        response = await self._send(request, model)
        try:
            return await self._read_all(response)
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise ProtocolError(
                f"the answer to {path} broke off: {type(exc).__name__}", provider=self.provider
            ) from exc
        finally:
            await response.aclose()

    @overload
    def stream(
        self, path: str, body: Any, framing: Literal["ndjson"], *, model: str | None = None
    ) -> AsyncIterator[Any]: ...
    @overload
    def stream(
        self, path: str, body: Any, framing: Literal["sse"], *, model: str | None = None
    ) -> AsyncIterator[SSEEvent]: ...
    async def stream(
        self, path: str, body: Any, framing: Literal["ndjson", "sse"], *, model: str | None = None
    ) -> AsyncIterator[Any]:
        """POST ``body`` and yield decoded stream records until the server closes.

        Ends with whatever the framing's decoder flushes; deciding whether the
        stream was complete (``done``, ``[DONE]``) is the plugin's job, since
        only it knows its protocol's terminator. The connection is released
        when the iterator is closed or cancelled.
        """
        request = self._build("POST", path, body, None)
        response = await self._send(request, model)
        decoder = (
            NDJSONDecoder(max_line_bytes=self.limits.max_line_bytes)
            if framing == "ndjson"
            else SSEDecoder(max_line_bytes=self.limits.max_line_bytes)
        )
        # After the first byte, the between-chunk budget applies: httpcore reads this
        # per-request timeout dict on every socket read.
        timeouts = request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            timeouts["read"] = self.limits.idle_timeout
        give_up_at = time.monotonic() + self.limits.stream_timeout
        try:
            async for data in response.aiter_bytes():
                for record in decoder.feed(data):
                    yield record
                if time.monotonic() > give_up_at:
                    raise ProviderTimeout(
                        f"the stream ran past stream_timeout={self.limits.stream_timeout}s",
                        provider=self.provider,
                    )
            for record in decoder.close():
                yield record
        except httpx.ReadTimeout as exc:
            raise ProviderTimeout(
                f"no data for idle_timeout={self.limits.idle_timeout}s in the stream",
                provider=self.provider,
            ) from exc
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise ProtocolError(
                f"the stream broke off: {type(exc).__name__}: {exc}", provider=self.provider
            ) from exc
        finally:
            await response.aclose()

    def _build(self, method: str, path: str, body: Any, timeout: float | None) -> httpx.Request:
        extra: dict[str, Any] = {}
        if timeout is not None:
            extra["timeout"] = httpx.Timeout(
                timeout, connect=min(timeout, self.limits.connect_timeout)
            )
        if body is None:
            return self._client.build_request(method, path, **extra)
        return self._client.build_request(method, path, json=body, **extra)

    async def _send(self, request: httpx.Request, model: str | None) -> httpx.Response:
        try:
            response = await self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderUnavailable(
                f"cannot connect to {self.base_url} ({type(exc).__name__})",
                provider=self.provider,
                hint=self._start_hint,
                refused=True,
            ) from exc
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(
                f"no answer from {self.base_url} within the first-byte timeout "
                f"({type(exc).__name__})",
                provider=self.provider,
                hint="the model may be loading; raise AEGIS_LLM_FIRST_BYTE_TIMEOUT",
            ) from exc
        except httpx.TransportError as exc:
            raise ProviderUnavailable(
                f"the connection to {self.base_url} dropped before any answer "
                f"({type(exc).__name__})",
                provider=self.provider,
                hint=self._start_hint,
                refused=False,
            ) from exc
        if response.status_code < 300:
            return response
        try:
            raise await self._error_from(response, model)
        finally:
            await response.aclose()

    async def _error_from(self, response: httpx.Response, model: str | None) -> AegisLLMError:
        if 300 <= response.status_code < 400:
            return ProviderError(
                f"unexpected redirect ({response.status_code}) to "
                f"{response.headers.get('location', '?')}; redirects are not followed",
                status_code=response.status_code,
                provider=self.provider,
                hint="point base_url at the server itself",
            )
        try:
            raw = await self._read_all(response, limit=_ERROR_BODY_LIMIT, truncate=True)
        except (httpx.TransportError, httpx.StreamError):
            raw = b""
        body = parse_error_body(raw)
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

    async def _read_all(
        self, response: httpx.Response, *, limit: int | None = None, truncate: bool = False
    ) -> bytes:
        cap = self.limits.max_response_bytes if limit is None else limit
        declared = response.headers.get("content-length")
        if not truncate and declared is not None and declared.isdigit() and int(declared) > cap:
            raise ProtocolError(
                f"the answer declares {declared} bytes, over max_response_bytes={cap}",
                provider=self.provider,
            )
        parts: list[bytes] = []
        size = 0
        async for data in response.aiter_bytes():
            size += len(data)
            if size > cap:
                if truncate:
                    parts.append(data[: len(data) - (size - cap)])
                    break
                raise ProtocolError(
                    f"the answer exceeded max_response_bytes={cap}", provider=self.provider
                )
            parts.append(data)
        return b"".join(parts)
