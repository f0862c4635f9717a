"""The official clients written by each server's authors: `ollama` and `openai`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from benchkit import workload
from benchkit.clients._base import Opener, Session, Unavailable

__all__ = ["ollama_opener", "openai_opener"]


def ollama_opener() -> Opener:
    try:
        import ollama
    except ImportError as error:
        raise Unavailable("the `ollama` package is not installed") from error

    class _Ollama:
        def __init__(self, client: ollama.AsyncClient) -> None:
            self._client = client

        async def chat(self) -> str:
            reply = await self._client.chat(
                workload.CHAT_MODEL_OLLAMA, list(workload.CHAT_MESSAGES)
            )
            return reply.message.content or ""

        async def stream(self) -> AsyncIterator[str]:
            parts = await self._client.chat(
                workload.CHAT_MODEL_OLLAMA, list(workload.STREAM_MESSAGES), stream=True
            )
            async for part in parts:
                if part.message.content:
                    yield part.message.content

        async def embed(self) -> int:
            answer = await self._client.embed(workload.EMBED_MODEL, list(workload.EMBED_TEXTS))
            return len(answer.embeddings)

    @asynccontextmanager
    async def open_session(base_url: str) -> AsyncIterator[Session]:
        client = ollama.AsyncClient(host=base_url)
        try:
            yield _Ollama(client)
        finally:
            await client.close()  # type: ignore[no-untyped-call]  # ollama leaves it unannotated

    return open_session


def openai_opener() -> Opener:
    try:
        import openai
        from openai.types.chat import ChatCompletionUserMessageParam
    except ImportError as error:
        raise Unavailable("the `openai` package is not installed") from error

    chat: list[ChatCompletionUserMessageParam] = [{"role": "user", "content": workload.CHAT_PROMPT}]
    stream: list[ChatCompletionUserMessageParam] = [
        {"role": "user", "content": workload.STREAM_PROMPT}
    ]

    class _OpenAI:
        def __init__(self, client: openai.AsyncOpenAI) -> None:
            self._client = client

        async def chat(self) -> str:
            reply = await self._client.chat.completions.create(
                model=workload.CHAT_MODEL_OPENAI, messages=chat
            )
            return reply.choices[0].message.content or ""

        async def stream(self) -> AsyncIterator[str]:
            chunks = await self._client.chat.completions.create(
                model=workload.CHAT_MODEL_OPENAI,
                messages=stream,
                stream=True,
            )
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        async def embed(self) -> int:
            answer = await self._client.embeddings.create(
                model=workload.EMBED_MODEL, input=list(workload.EMBED_TEXTS)
            )
            return len(answer.data)

    @asynccontextmanager
    async def open_session(base_url: str) -> AsyncIterator[Session]:
        async with openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="lm-studio") as client:
            yield _OpenAI(client)

    return open_session
