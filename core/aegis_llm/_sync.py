"""The blocking client: the async client driven from a private event-loop thread.

One portal thread per client keeps the connection pool alive between calls,
which a fresh ``asyncio.run`` per call could not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self

from anyio.from_thread import BlockingPortal, start_blocking_portal

from aegis_llm._client import AsyncClient, ModelList
from aegis_llm._inventory import HealthReport, PullProgress
from aegis_llm._plugins import PluginStatus
from aegis_llm._requests import ChatOptions, MessageInput
from aegis_llm._results import ChatChunk, ChatResponse, Embeddings
from aegis_llm._settings import AegisSettings

__all__ = ["Client"]


class Client:
    """The same methods as :class:`AsyncClient`, blocking. Use it as a context manager."""

    def __init__(self, settings: AegisSettings | None = None, **client_args: Any) -> None:
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        try:
            self._async = self._portal.call(lambda: _build(settings, client_args))
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            raise
        self.settings = self._async.settings

    @classmethod
    def from_settings(cls, **overrides: Any) -> Self:
        return cls(AegisSettings.load(**overrides))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close connections and stop the loop thread. Safe to call twice."""
        if self._portal_cm is None:
            return
        try:
            self._portal.call(self._async.aclose)
        finally:
            cm, self._portal_cm = self._portal_cm, None  # type: ignore[assignment]
            cm.__exit__(None, None, None)

    @property
    def plugins(self) -> list[PluginStatus]:
        return self._async.plugins

    def chat(
        self,
        messages: Sequence[MessageInput] | str,
        *,
        model: str | None = None,
        chain: Sequence[str] | None = None,
        options: ChatOptions | None = None,
        timeout: float | None = None,
        **option_fields: Any,
    ) -> ChatResponse:
        return self._portal.call(
            lambda: self._async.chat(
                messages,
                model=model,
                chain=chain,
                options=options,
                timeout=timeout,
                **option_fields,
            )
        )

    def stream_chat(
        self,
        messages: Sequence[MessageInput] | str,
        *,
        model: str | None = None,
        chain: Sequence[str] | None = None,
        options: ChatOptions | None = None,
        timeout: float | None = None,
        **option_fields: Any,
    ) -> Iterator[ChatChunk]:
        """Yield chunks as they arrive; closing the iterator closes the connection."""
        stream = self._portal.call(
            lambda: _open_stream(
                self._async, messages, model, chain, options, timeout, option_fields
            )
        )
        try:
            while True:
                try:
                    yield self._portal.call(stream.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            self._portal.call(stream.aclose)

    def embed(
        self,
        texts: Sequence[str] | str,
        *,
        model: str | None = None,
        chain: Sequence[str] | None = None,
        dimensions: int | None = None,
        truncate: bool = True,
        extra: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Embeddings:
        return self._portal.call(
            lambda: self._async.embed(
                texts,
                model=model,
                chain=chain,
                dimensions=dimensions,
                truncate=truncate,
                extra=extra,
                timeout=timeout,
            )
        )

    def list_models(self, providers: Sequence[str] | None = None) -> ModelList:
        return self._portal.call(self._async.list_models, providers)

    def health(self, providers: Sequence[str] | None = None) -> list[HealthReport]:
        return self._portal.call(self._async.health, providers)

    def pull(self, model: str, *, provider: str = "ollama") -> Iterator[PullProgress]:
        steps = self._async.pull(model, provider=provider)
        try:
            while True:
                try:
                    yield self._portal.call(steps.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            self._portal.call(steps.aclose)


async def _build(settings: AegisSettings | None, client_args: dict[str, Any]) -> AsyncClient:
    return AsyncClient(settings, **client_args)


async def _open_stream(
    client: AsyncClient,
    messages: Sequence[MessageInput] | str,
    model: str | None,
    chain: Sequence[str] | None,
    options: ChatOptions | None,
    timeout: float | None,
    option_fields: dict[str, Any],
) -> Any:
    return client.stream_chat(
        messages, model=model, chain=chain, options=options, timeout=timeout, **option_fields
    )
