"""The contract between the core and provider plugins.

pluggy calls hooks synchronously, and provider work is I/O, so the operation
hooks return an awaitable (or an async iterator for streams) that the core
awaits. That is also why every operation hook is ``firstresult`` and the core
calls it on exactly one provider (a subset of the plugin manager): with
``async def`` implementations a coroutine is never ``None``, so "the first
plugin that answers" could not be decided inside the call.

``ctx`` carries the instance name, its validated settings and a place for
resources (an HTTP connection pool) that live as long as the client.
Non-provider plugins may wrap any hook with ``@hookimpl(wrapper=True)``; they
receive the awaitable or iterator and may return a wrapped one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from aegis_llm._capabilities import ProviderInfo
    from aegis_llm._context import ProviderContext
    from aegis_llm._inventory import HealthReport, ModelInfo, PullProgress
    from aegis_llm._requests import ChatRequest, EmbedRequest
    from aegis_llm._results import ChatChunk, ChatResponse, Embeddings

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "aegis_llm"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def aegis_llm_provider_info() -> ProviderInfo:  # type: ignore[empty-body]
    """Describe the provider. Plugins without this hook are extensions (wrappers)."""


@hookspec(firstresult=True)
def aegis_llm_chat(  # type: ignore[empty-body]
    ctx: ProviderContext, request: ChatRequest
) -> Awaitable[ChatResponse]:
    """Answer a chat request in one piece."""


@hookspec(firstresult=True)
def aegis_llm_stream_chat(  # type: ignore[empty-body]
    ctx: ProviderContext, request: ChatRequest
) -> AsyncIterator[ChatChunk]:
    """Stream an answer. The last chunk has ``done=True``.

    A stream that breaks after it started raises ``StreamInterrupted`` with the
    text and the reasoning received so far (``partial``, ``partial_reasoning``);
    the iterator must release its connection when closed early (``aclose``) or
    cancelled.
    """


@hookspec(firstresult=True)
def aegis_llm_embed(  # type: ignore[empty-body]
    ctx: ProviderContext, request: EmbedRequest
) -> Awaitable[Embeddings]:
    """Embed every input, one vector each, in input order."""


@hookspec(firstresult=True)
def aegis_llm_list_models(ctx: ProviderContext) -> Awaitable[list[ModelInfo]]:  # type: ignore[empty-body]
    """List the models the provider can serve, marking loaded ones where known."""


@hookspec(firstresult=True)
def aegis_llm_health(ctx: ProviderContext) -> Awaitable[HealthReport]:  # type: ignore[empty-body]
    """Report whether the provider can serve now. Must not raise for a down server."""


@hookspec(firstresult=True)
def aegis_llm_pull(  # type: ignore[empty-body]
    ctx: ProviderContext, model: str
) -> AsyncIterator[PullProgress]:
    """Download a model, reporting progress (optional: Ollama's ``/api/pull``)."""


@hookspec(firstresult=True)
def aegis_llm_load_model(  # type: ignore[empty-body]
    ctx: ProviderContext, model: str
) -> Awaitable[ModelInfo]:
    """Load a model into memory (optional: LM Studio)."""


@hookspec(firstresult=True)
def aegis_llm_unload_model(ctx: ProviderContext, model: str) -> Awaitable[None]:  # type: ignore[empty-body]
    """Unload a model from memory (optional: LM Studio)."""
