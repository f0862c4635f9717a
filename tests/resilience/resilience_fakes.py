"""In-process provider plugins whose every answer a test scripts in advance.

Each call to a ``ScriptedProvider`` takes the next outcome from its script
(or the default once the script is used up) and logs when it was asked, on
the event loop's clock, so a test can check exactly which provider was called,
how often and when.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Literal

import anyio

from aegis_llm import (
    AegisSettings,
    AsyncClient,
    Capability,
    ChatChunk,
    ChatRequest,
    ChatResponse,
    Embeddings,
    EmbedRequest,
    HealthReport,
    PluginHost,
    ProviderContext,
    ProviderInfo,
    ProviderSettings,
    hookimpl,
)
from aegis_llm._resilience import AliasMap
from aegis_llm.errors import AegisLLMError

__all__ = [
    "CHAT_AND_HEALTH",
    "Answer",
    "Call",
    "Chunks",
    "Fail",
    "Hang",
    "Outcome",
    "ScriptedProvider",
    "Vectors",
    "build_client",
    "build_host",
]

CHAT_AND_HEALTH = frozenset({Capability.CHAT, Capability.STREAM, Capability.HEALTH})
_EVERYTHING = CHAT_AND_HEALTH | {Capability.EMBED}


@dataclass(frozen=True)
class Answer:
    """Succeed with ``text`` after ``after`` seconds (streams: one chunk, then done)."""

    text: str = "ok"
    after: float = 0.0


@dataclass(frozen=True)
class Fail:
    """Raise a copy of ``error`` after ``after`` seconds (streams: before any chunk)."""

    error: AegisLLMError
    after: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Never answer."""


@dataclass(frozen=True)
class Chunks:
    """Stream ``parts`` one by one, ``gap`` seconds apart; then ``then`` or a done chunk.

    ``reasoning`` pieces come first, each a chunk of its own, as a thinking
    model streams them. ``done=False`` ends the stream silently without its
    final chunk.
    """

    parts: tuple[str, ...]
    then: AegisLLMError | None = None
    done: bool = True
    gap: float = 0.0
    reasoning: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vectors:
    """Embed every input as a vector of ``dimensions`` numbers."""

    dimensions: int = 3


Outcome = Answer | Fail | Hang | Chunks | Vectors


@dataclass(frozen=True)
class Call:
    provider: str
    op: str
    model: str
    at: float


class _NoSettings(ProviderSettings):
    pass


@dataclass(eq=False)
class ScriptedProvider:
    """A provider plugin instance named ``name``; register it with ``build_client``."""

    name: str
    script: Iterable[Outcome] = ()
    default: Outcome = field(default_factory=Answer)
    capabilities: frozenset[Capability] = _EVERYTHING
    health: Literal["up", "down", "hang"] = "up"
    calls: list[Call] = field(default_factory=list)
    health_checks: int = 0
    streams_closed: int = 0
    journal: list[Call] | None = None
    """A log shared by several providers, to see the order of calls across them."""

    def __post_init__(self) -> None:
        self._queue: deque[Outcome] = deque(self.script)

    def then(self, *outcomes: Outcome) -> None:
        """Append outcomes to the script."""
        self._queue.extend(outcomes)

    def ops(self, op: str | None = None) -> list[Call]:
        return [c for c in self.calls if op is None or c.op == op]

    async def _next(self, op: str, model: str) -> Outcome:
        call = Call(self.name, op, model, anyio.current_time())
        self.calls.append(call)
        if self.journal is not None:
            self.journal.append(call)
        outcome = self._queue.popleft() if self._queue else self.default
        if isinstance(outcome, Answer | Fail) and outcome.after:
            await anyio.sleep(outcome.after)
        if isinstance(outcome, Hang):
            await anyio.sleep_forever()
        if isinstance(outcome, Fail):
            raise copy.copy(outcome.error)
        return outcome

    @hookimpl
    def aegis_llm_provider_info(self) -> ProviderInfo:
        return ProviderInfo(
            name=self.name, version="1", capabilities=self.capabilities, settings_class=_NoSettings
        )

    @hookimpl
    async def aegis_llm_chat(self, ctx: ProviderContext, request: ChatRequest) -> ChatResponse:
        outcome = await self._next("chat", request.model)
        text = outcome.text if isinstance(outcome, Answer) else "".join(_parts(outcome))
        return ChatResponse(content=text, provider=ctx.name, model=request.model)

    @hookimpl
    def aegis_llm_stream_chat(
        self, ctx: ProviderContext, request: ChatRequest
    ) -> AsyncIterator[ChatChunk]:
        async def chunks() -> AsyncIterator[ChatChunk]:
            try:
                outcome = await self._next("stream", request.model)
                script = outcome if isinstance(outcome, Chunks) else Chunks(_parts(outcome))
                for thought in script.reasoning:
                    yield ChatChunk(reasoning=thought, provider=ctx.name, model=request.model)
                for index, part in enumerate(script.parts):
                    if index and script.gap:
                        await anyio.sleep(script.gap)
                    yield ChatChunk(content=part, provider=ctx.name, model=request.model)
                if script.then is not None:
                    raise copy.copy(script.then)
                if script.done:
                    yield ChatChunk(
                        provider=ctx.name, model=request.model, done=True, finish_reason="stop"
                    )
            finally:
                self.streams_closed += 1

        return chunks()

    @hookimpl
    async def aegis_llm_embed(self, ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
        outcome = await self._next("embed", request.model)
        dims = outcome.dimensions if isinstance(outcome, Vectors) else 3
        vectors = [[float(len(text))] + [0.0] * (dims - 1) for text in request.inputs]
        return Embeddings(vectors=vectors, dimensions=dims, model=request.model, provider=ctx.name)

    @hookimpl
    async def aegis_llm_health(self, ctx: ProviderContext) -> HealthReport:
        self.health_checks += 1
        if self.health == "hang":
            await anyio.sleep_forever()
        if self.health == "up":
            return HealthReport(provider=ctx.name, status="up")
        return HealthReport(provider=ctx.name, status="down", reason="unreachable")


def _parts(outcome: Outcome) -> tuple[str, ...]:
    if isinstance(outcome, Answer):
        return (outcome.text,)
    if isinstance(outcome, Chunks):
        return outcome.parts
    return ("ok",)


def build_host(
    *providers: ScriptedProvider, **settings: object
) -> tuple[AegisSettings, PluginHost]:
    """Settings (chains default to ``providers`` in order) and a host that sees only them."""
    names = [p.name for p in providers]
    settings.setdefault("chain", names)
    settings.setdefault("embed_chain", names[:1])
    config = AegisSettings.load(**settings)
    host = PluginHost(config, discover=False)
    for provider in providers:
        status = host.register(provider, provider.name)
        assert status.status == "loaded", status.error
    return config, host


def build_client(
    *providers: ScriptedProvider,
    code_aliases: AliasMap | None = None,
    **settings: object,
) -> AsyncClient:
    """A client that sees only ``providers`` (registered in code, no entry points).

    ``code_aliases`` go to ``AsyncClient(aliases=...)``; ``aliases=`` is the setting.
    """
    config, host = build_host(*providers, **settings)
    return AsyncClient(config, host=host, aliases=code_aliases)
