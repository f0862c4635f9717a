"""A streamed answer that can be iterated and closed deterministically."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import Self

from aegis_llm._results import ChatChunk, ChatResponse, Usage

__all__ = ["ChatStream"]


class ChatStream:
    """``async for chunk in llm.stream_chat(...)`` or ``async with ... as stream``.

    The context-manager form closes the connection the moment the block ends,
    even if the caller stopped reading early; plain iteration closes it when
    the stream ends or is cancelled. ``text`` accumulates what was delivered,
    ``reasoning`` the reasoning text.
    """

    def __init__(self, chunks: AsyncGenerator[ChatChunk, None]) -> None:
        self._chunks = chunks
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._last: ChatChunk | None = None

    def __aiter__(self) -> AsyncIterator[ChatChunk]:
        return self

    async def __anext__(self) -> ChatChunk:
        chunk = await self._chunks.__anext__()
        self._parts.append(chunk.content)
        if chunk.reasoning:
            self._reasoning.append(chunk.reasoning)
        self._last = chunk
        return chunk

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._chunks.aclose()

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    async def collect(self) -> ChatResponse:
        """Read the rest of the stream and return it as one response."""
        async for _ in self:
            pass
        last = self._last
        if last is None:
            raise RuntimeError("the stream produced no chunks")
        return ChatResponse(
            content=self.text,
            provider=last.provider,
            model=last.model,
            finish_reason=last.finish_reason,
            usage=last.usage or Usage(),
            tool_calls=last.tool_calls,
            reasoning=self.reasoning or None,
            attempts=last.attempts,
        )
