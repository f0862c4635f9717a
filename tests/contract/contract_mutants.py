"""Deliberately broken variants of the example EchoLM plugin, one defect each.

Each mutant forwards every hook to the real plugin and breaks exactly one
promise, the way real plugins get it wrong. ``CAUGHT_BY`` says which contract
tests must fail for it; test_contract_mutants.py checks that they do. Mutants of a
feature the example lacks (tools) break a correct variant listed in ``BASELINES``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable

import aegis_llm_example_echo as echo
from aegis_llm_example_echo import _operations
from aegis_llm_example_echo._settings import EchoSettings

from aegis_llm import (
    Capability,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Embeddings,
    EmbedRequest,
    HealthReport,
    ModelInfo,
    ProviderContext,
    ProviderInfo,
    ToolCall,
    hookimpl,
)
from aegis_llm.errors import AegisLLMError, AuthenticationError, ProviderError

_log = logging.getLogger("contract_mutants")


class Faithful:
    """The example plugin as a class: every hook forwarded unchanged."""

    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        return echo.aegis_llm_provider_info()

    @hookimpl
    def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
        return echo.aegis_llm_chat(ctx, request)

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        return echo.aegis_llm_stream_chat(ctx, request)

    @hookimpl
    def aegis_llm_embed(self, ctx: ProviderContext, request: EmbedRequest) -> Awaitable[Embeddings]:
        return echo.aegis_llm_embed(ctx, request)

    @hookimpl
    def aegis_llm_list_models(self, ctx: ProviderContext) -> Awaitable[list[ModelInfo]]:
        return echo.aegis_llm_list_models(ctx)

    @hookimpl
    def aegis_llm_health(self, ctx: ProviderContext) -> Awaitable[HealthReport]:
        return echo.aegis_llm_health(ctx)


class WrongVectorCount(Faithful):
    """Loses the last vector of every batch (an off-by-one in batching)."""

    @hookimpl
    def aegis_llm_embed(self, ctx: ProviderContext, request: EmbedRequest) -> Awaitable[Embeddings]:
        async def embed() -> Embeddings:
            result = await echo.aegis_llm_embed(ctx, request)
            return result.model_copy(update={"vectors": result.vectors[:-1]})

        return embed()


class ReorderedVectors(Faithful):
    """Returns vectors in reverse order (an OpenAI-style list not sorted by index)."""

    @hookimpl
    def aegis_llm_embed(self, ctx: ProviderContext, request: EmbedRequest) -> Awaitable[Embeddings]:
        async def embed() -> Embeddings:
            result = await echo.aegis_llm_embed(ctx, request)
            return result.model_copy(update={"vectors": result.vectors[::-1]})

        return embed()


class SwallowedErrors(Faithful):
    """Answers an empty reply when anything goes wrong ("never crash the app")."""

    @hookimpl
    def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
        async def chat() -> ChatResponse:
            try:
                return await echo.aegis_llm_chat(ctx, request)
            except AegisLLMError:
                return ChatResponse(content="", provider=ctx.name, model=request.model)

        return chat()


class WrongErrorClass(Faithful):
    """Reports every failure as a generic ProviderError."""

    @hookimpl
    def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
        async def chat() -> ChatResponse:
            try:
                return await echo.aegis_llm_chat(ctx, request)
            except AegisLLMError as exc:
                raise ProviderError(exc.message, provider=ctx.name, hint=exc.hint) from None

        return chat()


class StreamLeftOpen(Faithful):
    """Wraps the stream without closing the inner one when the caller stops early."""

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        async def chunks() -> AsyncIterator[ChatChunk]:
            inner = echo.aegis_llm_stream_chat(ctx, request)
            while True:
                try:
                    chunk = await inner.__anext__()
                except StopAsyncIteration:
                    return
                yield chunk

        return chunks()


class StreamWithoutEnd(Faithful):
    """Never marks the last chunk done (the terminator record is dropped)."""

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        async def chunks() -> AsyncIterator[ChatChunk]:
            async for chunk in echo.aegis_llm_stream_chat(ctx, request):
                if not chunk.done:
                    yield chunk

        return chunks()


class BufferedStream(Faithful):
    """Collects the whole answer before yielding anything (no streaming at all)."""

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        async def chunks() -> AsyncIterator[ChatChunk]:
            collected = [chunk async for chunk in echo.aegis_llm_stream_chat(ctx, request)]
            for chunk in collected:
                yield chunk

        return chunks()


class LeakedKey(Faithful):
    """Puts the API key into the error a user sees when authentication fails."""

    @hookimpl
    def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
        async def chat() -> ChatResponse:
            try:
                return await echo.aegis_llm_chat(ctx, request)
            except AuthenticationError as exc:
                key = ctx.settings_as(EchoSettings).api_key
                exc.hint = f"the key {key.get_secret_value() if key else None} was refused"
                raise

        return chat()


class LoggedKey(Faithful):
    """Logs the API key at debug level, as a "helpful" request trace."""

    @hookimpl
    def aegis_llm_list_models(self, ctx: ProviderContext) -> Awaitable[list[ModelInfo]]:
        key = ctx.settings_as(EchoSettings).api_key
        _log.debug("listing models with key %s", key.get_secret_value() if key else None)
        return echo.aegis_llm_list_models(ctx)


class RaisingHealth(Faithful):
    """Lets the connection error escape from health instead of reporting 'down'."""

    @hookimpl
    def aegis_llm_health(self, ctx: ProviderContext) -> Awaitable[HealthReport]:
        async def health() -> HealthReport:
            await echo.aegis_llm_list_models(ctx)
            return HealthReport(provider=ctx.name, status="up")

        return health()


class UnboundedHealth(Faithful):
    """Probes without ``health_timeout``, so a stalled server hangs the health check."""

    @hookimpl
    def aegis_llm_health(self, ctx: ProviderContext) -> Awaitable[HealthReport]:
        async def health() -> HealthReport:
            try:
                await echo.aegis_llm_list_models(ctx)
            except AegisLLMError as exc:
                return HealthReport(
                    provider=ctx.name, status="down", reason="error", message=str(exc)
                )
            return HealthReport(provider=ctx.name, status="up")

        return health()


class IOBeforeValidation(Faithful):
    """Asks the server for its models before checking the request it could check itself."""

    @hookimpl
    def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
        async def chat() -> ChatResponse:
            await _operations.list_models(ctx)
            return await echo.aegis_llm_chat(ctx, request)

        return chat()


class HardcodedProviderName(Faithful):
    """Names the plugin instead of the instance (breaks a second configured instance)."""

    @hookimpl
    def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
        async def chat() -> ChatResponse:
            reply = await echo.aegis_llm_chat(ctx, request)
            return reply.model_copy(update={"provider": "example_echo"})

        return chat()


class ToolCalling(Faithful):
    """Not a mutant: the example with function calling, the baseline of the tools mutants.

    Like the fake servers' models: tools offered and the user spoke last -> one call of
    the first tool (the text answer kept), else the plain answer.
    """

    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        info = echo.aegis_llm_provider_info()
        return dataclasses.replace(info, capabilities=info.capabilities | {Capability.TOOLS})

    @hookimpl
    def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> Awaitable[ChatResponse]:
        async def chat() -> ChatResponse:
            reply = await echo.aegis_llm_chat(ctx, request)
            calls = _calls_for(request)
            if not calls:
                return reply
            return reply.model_copy(update={"tool_calls": calls, "finish_reason": "tool_calls"})

        return chat()

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        async def chunks() -> AsyncIterator[ChatChunk]:
            calls = _calls_for(request)
            async for chunk in echo.aegis_llm_stream_chat(ctx, request):
                if chunk.done and calls:
                    update = {"tool_calls": calls, "finish_reason": "tool_calls"}
                    chunk = chunk.model_copy(update=update)
                yield chunk

        return chunks()


def _calls_for(request: ChatRequest) -> tuple[ToolCall, ...]:
    tools = request.options.tools
    if not tools or request.messages[-1].role != "user":
        return ()
    return (ToolCall.from_wire(name=tools[0].name, arguments={}, id="call_echo_0"),)


class CallsBeforeTheEnd(ToolCalling):
    """Yields each tool call as soon as it is complete, on a chunk before the final one."""

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        async def chunks() -> AsyncIterator[ChatChunk]:
            calls = _calls_for(request)
            async for chunk in echo.aegis_llm_stream_chat(ctx, request):
                if chunk.done and calls:
                    yield ChatChunk(provider=chunk.provider, model=chunk.model, tool_calls=calls)
                    chunk = chunk.model_copy(update={"finish_reason": "tool_calls"})
                yield chunk

        return chunks()


CAUGHT_BY: dict[type[Faithful], tuple[str, ...]] = {
    WrongVectorCount: ("test_embed_well_formed", "test_embed_keeps_input_order"),
    ReorderedVectors: ("test_embed_keeps_input_order",),
    SwallowedErrors: ("test_status_errors", "test_hangup_before_answer", "test_malformed_json"),
    WrongErrorClass: ("test_status_errors", "test_refused_connection", "test_stall_mid_body"),
    StreamLeftOpen: ("test_stream_aclose_releases_connection",),
    StreamWithoutEnd: ("test_stream_well_formed",),
    BufferedStream: ("test_stream_aclose_releases_connection",),
    LeakedKey: ("test_no_secret_in_reprs_logs_or_errors",),
    LoggedKey: ("test_no_secret_in_reprs_logs_or_errors",),
    RaisingHealth: ("test_health_down_never_raises", "test_health_reports_server_errors"),
    UnboundedHealth: ("test_health_bounded_by_health_timeout",),
    IOBeforeValidation: ("test_plugin_invalid_requests_rejected_before_io",),
    HardcodedProviderName: ("test_chat_well_formed",),
    CallsBeforeTheEnd: ("test_tools_stream_calls_on_final_chunk",),
}
"""Each mutant, and the contract tests that must catch it."""

BASELINES: dict[type[Faithful], tuple[str, ...]] = {
    ToolCalling: (
        "test_tools_chat_well_formed",
        "test_tools_stream_calls_on_final_chunk",
        "test_tools_result_round_trip",
    ),
}
"""Correct variants declaring more than the example (its own run cannot exercise these
tests), and the tests they must pass: proof that their mutants fail for their defect."""
