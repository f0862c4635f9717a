"""The aegis-llm contract suite against the Ollama plugin and a fake Ollama."""

from __future__ import annotations

from collections.abc import Sequence

from aegis_llm import Capability, ChatOptions, ChatRequest, EmbedRequest, Message
from aegis_llm.testing import ProviderContract
from aegis_llm.testing.fakes import FakeOllama, FakeServer

CHAT_MODEL = "llama3.2:latest"
EMBED_MODEL = "nomic-embed-text:latest"


class TestOllamaContract(ProviderContract):
    plugin_name = "ollama"
    capabilities = frozenset(
        {
            Capability.CHAT,
            Capability.STREAM,
            Capability.EMBED,
            Capability.LIST_MODELS,
            Capability.HEALTH,
            Capability.PULL,
            Capability.TOOLS,
        }
    )
    chat_model = CHAT_MODEL
    embed_model = EMBED_MODEL

    @classmethod
    def start_server(cls) -> FakeServer:
        return FakeOllama().start()

    @classmethod
    def invalid_requests(cls) -> Sequence[ChatRequest | EmbedRequest]:
        """A per-call keep_alive that is neither seconds nor a Go duration."""
        forever = {"keep_alive": "forever"}
        return [
            ChatRequest(
                model=CHAT_MODEL,
                messages=(Message(role="user", content="hello"),),
                options=ChatOptions(extra=forever),
            ),
            EmbedRequest(model=EMBED_MODEL, inputs=("hello",), extra=forever),
        ]
