"""One provider instance as the client sees it: capability checks and hook dispatch."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any, TypeVar

from aegis_llm._capabilities import HOOK_OF, Capability, ProviderInfo
from aegis_llm._context import ProviderContext
from aegis_llm._inventory import HealthReport, ModelInfo, PullProgress
from aegis_llm._plugins import PluginHost
from aegis_llm._requests import ChatRequest, EmbedRequest
from aegis_llm._results import ChatChunk, ChatResponse, Embeddings
from aegis_llm.errors import AegisLLMError, ProtocolError, Unsupported

__all__ = ["Provider"]

_T = TypeVar("_T")


class Provider:
    """Routes each operation to exactly one plugin and checks what comes back.

    Checking the result type here means a buggy plugin produces a clear
    ``ProtocolError`` naming it, not an AttributeError deep in user code.
    """

    def __init__(self, host: PluginHost, info: ProviderInfo, ctx: ProviderContext) -> None:
        self._host = host
        self.info = info
        self.ctx = ctx
        self.name = ctx.name

    def supports(self, capability: Capability) -> bool:
        return capability in self.info.capabilities

    def require(self, capability: Capability) -> None:
        if not self.supports(capability):
            can = ", ".join(sorted(c.value for c in self.info.capabilities)) or "nothing"
            raise Unsupported(
                f"cannot {capability.value} (it offers: {can})",
                provider=self.name,
                hint="use a provider that can, or leave this one out of the chain",
            )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self._check_features(request)
        return await self._await(Capability.CHAT, ChatResponse, request=request)

    def stream_chat(self, request: ChatRequest) -> AsyncGenerator[ChatChunk, None]:
        self._check_features(request)
        return self._iterate(Capability.STREAM, ChatChunk, request=request)

    def _check_features(self, request: ChatRequest) -> None:
        """Refuse what this provider would silently ignore: offered tools, above all."""
        lacking = ", ".join(sorted(request.features - self.info.capabilities))
        if lacking:
            raise Unsupported(
                f"its plugin does not declare the {lacking} capability this request needs",
                provider=self.name,
                hint="use a provider that can, or leave that feature out of the request",
            )

    async def embed(self, request: EmbedRequest) -> Embeddings:
        return await self._await(Capability.EMBED, Embeddings, request=request)

    async def list_models(self) -> list[ModelInfo]:
        models = await self._await(Capability.LIST_MODELS, list)
        for model in models:
            if not isinstance(model, ModelInfo):
                raise self._wrong_type(Capability.LIST_MODELS, model, ModelInfo)
        return models

    async def health(self) -> HealthReport:
        return await self._await(Capability.HEALTH, HealthReport)

    def pull(self, model: str) -> AsyncGenerator[PullProgress, None]:
        return self._iterate(Capability.PULL, PullProgress, model=model)

    async def load_model(self, model: str) -> ModelInfo:
        return await self._await(Capability.LOAD, ModelInfo, model=model)

    async def unload_model(self, model: str) -> None:
        await self._await(Capability.UNLOAD, type(None), model=model)

    def _call(self, capability: Capability, **kwargs: Any) -> Any:
        self.require(capability)
        hook = self._host.caller(self.ctx.plugin, HOOK_OF[capability])
        return hook(ctx=self.ctx, **kwargs)

    async def _await(self, capability: Capability, kind: type[_T], **kwargs: Any) -> _T:
        pending = self._call(capability, **kwargs)
        if not inspect.isawaitable(pending):
            raise self._wrong_type(capability, pending, "an awaitable")
        try:
            result = await pending
        except AegisLLMError as exc:
            self._claim(exc)
            raise
        if not isinstance(result, kind):
            raise self._wrong_type(capability, result, kind)
        return result

    async def _iterate(
        self, capability: Capability, kind: type[_T], **kwargs: Any
    ) -> AsyncGenerator[_T, None]:
        """Relay a plugin's iterator, checking each item and always closing it."""
        iterator = self._iterator(capability, **kwargs)
        try:
            async for item in iterator:
                if not isinstance(item, kind):
                    raise self._wrong_type(capability, item, kind)
                yield item
        except AegisLLMError as exc:
            self._claim(exc)
            raise
        finally:
            closer = getattr(iterator, "aclose", None)
            if closer is not None:
                await closer()

    def _iterator(self, capability: Capability, **kwargs: Any) -> AsyncIterator[Any]:
        iterator = self._call(capability, **kwargs)
        if not hasattr(iterator, "__anext__"):
            raise self._wrong_type(capability, iterator, "an async iterator")
        return iterator  # type: ignore[no-any-return]

    def _claim(self, exc: AegisLLMError) -> None:
        """Name this provider on an error its plugin raised without saying whose it was."""
        if exc.provider is None:
            exc.provider = self.name

    def _wrong_type(self, capability: Capability, got: object, want: object) -> ProtocolError:
        wanted = want.__name__ if isinstance(want, type) else want
        return ProtocolError(
            f"plugin {self.ctx.plugin!r} returned {type(got).__name__} for "
            f"{capability.value}, expected {wanted}",
            provider=self.name,
            hint="this is a bug in the plugin; report it to its authors",
        )

    def __repr__(self) -> str:
        return f"Provider({self.name!r}, plugin={self.ctx.plugin!r})"
