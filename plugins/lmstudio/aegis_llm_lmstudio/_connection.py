"""One server for one provider instance: the pooled HTTP API and what was learned about it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from aegis_llm import ProviderContext
from aegis_llm.errors import (
    AegisLLMError,
    ModelNotFound,
    ProtocolError,
    ProviderError,
    Unsupported,
)
from aegis_llm.http import ErrorBody, HttpApi, HttpLimits, parse_error_body
from aegis_llm_lmstudio._errors import NO_ROUTE, known_error, reported_error, start_hint
from aegis_llm_lmstudio._settings import LMStudioSettings

__all__ = ["RESOURCE", "Connection", "api_root", "claim", "connection", "is_error"]

RESOURCE = "lmstudio.connection"
_NATIVE_MODELS = "/api/v0/models"
_OPENAI_MODELS = "/v1/models"


def api_root(base_url: str) -> str:
    """The server's root URL: users write base URLs with or without ``/v1``, paths add it once."""
    root = base_url.rstrip("/")
    path = urlsplit(root).path
    return root.removesuffix("/v1") if path.endswith("/v1") else root


def is_error(payload: dict[str, Any]) -> bool:
    """Whether a JSON object a server sent is an error: ``{"error": ...}``, or the flat
    ``{"object": "error", "message": ...}`` of older vLLM builds."""
    return bool(payload.get("error")) or payload.get("object") == "error"


def connection(ctx: ProviderContext) -> Connection:
    """The instance's connection, opened on first use and closed with the client."""
    return ctx.resource(RESOURCE, lambda: Connection(ctx))


def claim(error: AegisLLMError, provider: str, model: str | None) -> None:
    """Fill in who failed, and for which model, where the raiser could not know.

    JSON decoders and the error classifier see bytes, not the request.
    """
    if error.provider is None:
        error.provider = provider
    if isinstance(error, ModelNotFound) and error.model is None:
        error.model = model


class Connection:
    """The HTTP API of one OpenAI-compatible server, plus whether it is LM Studio.

    Whether LM Studio's native ``/api/v0`` exists decides where models are
    listed and where chat stats come from; it is asked once (or pinned by the
    ``native_api`` setting) and remembered for the life of the client.
    ``transport`` replaces the network (tests hand over exact byte chunks).
    """

    def __init__(
        self, ctx: ProviderContext, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        settings = ctx.settings_as(LMStudioSettings)
        self.provider = ctx.name
        self.root = api_root(settings.base_url)
        secret = settings.api_key.get_secret_value() if settings.api_key else None
        self._native = settings.native_api
        self._probe = anyio.Lock()
        self.api = HttpApi(
            provider=ctx.name,
            base_url=self.root,
            start_hint=start_hint(ctx.name, self.root),
            limits=HttpLimits.from_context(ctx),
            headers={"Authorization": f"Bearer {secret}"} if secret else None,
            classify=self._classify,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.api.aclose()

    def reported(self, body: ErrorBody) -> AegisLLMError:
        """The error a server reported inside a 200 answer."""
        return reported_error(body, provider=self.provider)

    def answer(self, payload: Any) -> dict[str, Any]:
        """``payload`` as a JSON object, raising the error the server put in it instead."""
        if not isinstance(payload, dict):
            raise ProtocolError("the answer is not a JSON object", provider=self.provider)
        if is_error(payload):
            raise self.reported(parse_error_body(json.dumps(payload)))
        return payload

    async def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send a request and return its decoded JSON answer."""
        try:
            return await self.api.request_json(method, path, body, model=model, timeout=timeout)
        except AegisLLMError as exc:
            claim(exc, self.provider, model)
            raise

    async def native(self) -> bool:
        """Whether the server has LM Studio's native API (asked once).

        Concurrent first calls wait for one probe instead of each sending their own; a
        probe that fails (server down) leaves the question open for the next call.
        """
        if self._native is None:
            async with self._probe:
                if self._native is None:
                    await self._native_models(None)
        return bool(self._native)

    async def models(self, *, timeout: float | None = None) -> tuple[bool, Any]:
        """The server's model list, and whether it came from LM Studio's native API."""
        if self._native is not False:
            payload = await self._native_models(timeout)
            if payload is not None:
                return True, payload
        return False, await self.request("GET", _OPENAI_MODELS, timeout=timeout)

    async def _native_models(self, timeout: float | None) -> Any:
        """``/api/v0/models``, or ``None`` (and remember it) when the server lacks it."""
        try:
            payload = await self.request("GET", _NATIVE_MODELS, timeout=timeout)
        except (ModelNotFound, ProviderError, Unsupported) as exc:
            missing = not isinstance(exc, ProviderError) or exc.status_code in NO_ROUTE
            if self._native or not missing:
                raise
        else:
            if isinstance(payload, dict) and isinstance(payload.get("data"), list):
                self._native = True
                return payload
            if self._native:
                raise ProtocolError(
                    f"{_NATIVE_MODELS} did not answer with LM Studio's model list",
                    provider=self.provider,
                    hint=f"unset AEGIS_LLM_{self.provider.upper()}_NATIVE_API for this server",
                )
            # It answered, but not with LM Studio's list (old LM Studio says 200 to any path).
        self._native = False
        return None

    def _classify(
        self, status: int, body: ErrorBody, headers: Mapping[str, str]
    ) -> AegisLLMError | None:
        return known_error(status, body, provider=self.provider)
