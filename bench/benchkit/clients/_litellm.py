"""LiteLLM's `acompletion` / `aembedding`, with its own provider prefixes for each API.

LiteLLM fetches a model price list from the internet when imported unless told not to;
`benchkit.environment` sets `LITELLM_LOCAL_MODEL_COST_MAP` before anything imports it,
so it uses its bundled copy (this machine is offline, and a benchmark must not call out).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from benchkit import workload
from benchkit.clients._base import Api, Opener, Session, Unavailable

__all__ = ["opener", "route"]


def route(api: Api, base_url: str) -> dict[str, Any]:
    """LiteLLM's model string and endpoint for one chat model on one API."""
    if api == "ollama":
        return {"model": f"ollama_chat/{workload.CHAT_MODEL_OLLAMA}", "api_base": base_url}
    return {
        "model": f"openai/{workload.CHAT_MODEL_OPENAI}",
        "api_base": f"{base_url}/v1",
        "api_key": "lm-studio",
    }


def _embed_route(api: Api, base_url: str) -> dict[str, Any]:
    if api == "ollama":
        return {"model": f"ollama/{workload.EMBED_MODEL}", "api_base": base_url}
    return {
        "model": f"openai/{workload.EMBED_MODEL}",
        "api_base": f"{base_url}/v1",
        "api_key": "lm-studio",
    }


def opener(api: Api) -> Opener:
    try:
        import litellm
    except ImportError as error:
        raise Unavailable("the `litellm` package is not installed (bench extra)") from error

    class _LiteLLM:
        def __init__(self, base_url: str) -> None:
            self._chat = route(api, base_url)
            self._embed = _embed_route(api, base_url)

        async def chat(self) -> str:
            reply = await litellm.acompletion(messages=list(workload.CHAT_MESSAGES), **self._chat)
            return str(reply.choices[0].message.content)

        async def stream(self) -> AsyncIterator[str]:
            chunks = await litellm.acompletion(
                messages=list(workload.STREAM_MESSAGES), stream=True, **self._chat
            )
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        async def embed(self) -> int:
            answer = await litellm.aembedding(input=list(workload.EMBED_TEXTS), **self._embed)
            return len(answer.data)

    @asynccontextmanager
    async def open_session(base_url: str) -> AsyncIterator[Session]:
        yield _LiteLLM(base_url)

    return open_session
