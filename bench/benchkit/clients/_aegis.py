"""aegis-llm's `AsyncClient` through one provider plugin, as a user configures it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from benchkit import workload
from benchkit.clients._base import Api, Opener, Session, Unavailable

__all__ = ["PLUGIN_OF", "opener"]

PLUGIN_OF: dict[Api, str] = {"ollama": "ollama", "openai": "lmstudio"}
"""The plugin that speaks each API."""

"""Called with the fresh `AsyncClient` before its first request (the transport prototype)."""


def _chat_model(api: Api) -> str:
    return workload.CHAT_MODEL_OLLAMA if api == "ollama" else workload.CHAT_MODEL_OPENAI


def opener(api: Api, transport: str = "httpx") -> Opener:
    try:
        from aegis_llm import AegisSettings, AsyncClient, Capability
    except ImportError as error:
        raise Unavailable("aegis-llm is not installed") from error

    plugin = PLUGIN_OF[api]
    settings = AegisSettings.load(chain=[plugin], embed_chain=[plugin], http_transport=transport)
    probe = AsyncClient(settings)
    status = {s.name: s for s in probe.plugins}.get(plugin)
    if status is None or status.status != "loaded":
        raise Unavailable(f"the {plugin} plugin is not installed or did not load")
    missing = {Capability.CHAT, Capability.STREAM, Capability.EMBED} - set(
        map(Capability, status.capabilities)
    )
    if missing:
        names = ", ".join(sorted(c.value for c in missing))
        raise Unavailable(f"the {plugin} plugin does not implement {names} yet")
    model = _chat_model(api)

    class _Aegis:
        def __init__(self, client: AsyncClient) -> None:
            self._client = client

        async def chat(self) -> str:
            reply = await self._client.chat(list(workload.CHAT_MESSAGES), model=model)
            return reply.content

        async def stream(self) -> AsyncIterator[str]:
            async for chunk in self._client.stream_chat(
                list(workload.STREAM_MESSAGES), model=model
            ):
                if chunk.content:
                    yield chunk.content

        async def embed(self) -> int:
            vectors = await self._client.embed(
                list(workload.EMBED_TEXTS), model=workload.EMBED_MODEL
            )
            return len(vectors.vectors)

    @asynccontextmanager
    async def open_session(base_url: str) -> AsyncIterator[Session]:
        client = AsyncClient(settings, provider_settings={plugin: {"base_url": base_url}})
        async with client:
            yield _Aegis(client)

    return open_session
