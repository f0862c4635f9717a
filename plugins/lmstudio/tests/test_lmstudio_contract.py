"""The aegis-llm contract suite against the LM Studio plugin and a fake LM Studio."""

from __future__ import annotations

from collections.abc import Sequence

from aegis_llm import Capability, ChatOptions, ChatRequest, EmbedRequest, Message, Tool
from aegis_llm.testing import ProviderContract
from aegis_llm.testing.fakes import FakeOpenAI, FakeServer

CHAT_MODEL = "llama-3.2-3b-instruct"
EMBED_MODEL = "text-embedding-nomic-embed-text-v1.5"


class TestLMStudioContract(ProviderContract):
    plugin_name = "lmstudio"
    capabilities = frozenset(
        {
            Capability.CHAT,
            Capability.STREAM,
            Capability.TOOLS,
            Capability.EMBED,
            Capability.LIST_MODELS,
            Capability.HEALTH,
            Capability.LOAD,
            Capability.UNLOAD,
        }
    )
    chat_model = CHAT_MODEL
    embed_model = EMBED_MODEL

    @classmethod
    def start_server(cls) -> FakeServer:
        return FakeOpenAI("lmstudio").start()

    @classmethod
    def invalid_requests(cls) -> Sequence[ChatRequest | EmbedRequest]:
        """``extra`` contradicting what the request itself sets."""
        hello = (Message(role="user", content="hello"),)
        return [
            ChatRequest(
                model=CHAT_MODEL,
                messages=hello,
                options=ChatOptions(temperature=0.2, extra={"temperature": 1.5}),
            ),
            ChatRequest(
                model=CHAT_MODEL, messages=hello, options=ChatOptions(extra={"stream": True})
            ),
            ChatRequest(
                model=CHAT_MODEL,
                messages=hello,
                options=ChatOptions(tools=(Tool(name="now"),), extra={"tool_choice": "none"}),
            ),
            EmbedRequest(model=EMBED_MODEL, inputs=("hello",), extra={"model": "another"}),
        ]
