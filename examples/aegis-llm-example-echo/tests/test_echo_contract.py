"""The aegis-llm contract suite, run against the EchoLM plugin and a fake EchoLM."""

from __future__ import annotations

from collections.abc import Sequence

from echolm_fake import CHAT_MODEL, EMBED_MODEL, FakeEchoLM

from aegis_llm import Capability, ChatOptions, ChatRequest, EmbedRequest, Message
from aegis_llm.testing import ProviderContract
from aegis_llm.testing.fakes import FakeServer


class TestEchoContract(ProviderContract):
    plugin_name = "example_echo"
    capabilities = frozenset(
        {
            Capability.CHAT,
            Capability.STREAM,
            Capability.EMBED,
            Capability.LIST_MODELS,
            Capability.HEALTH,
        }
    )
    chat_model = CHAT_MODEL
    embed_model = EMBED_MODEL

    @classmethod
    def start_server(cls) -> FakeServer:
        return FakeEchoLM().start()

    @classmethod
    def invalid_requests(cls) -> Sequence[ChatRequest | EmbedRequest]:
        hello = (Message(role="user", content="hello"),)
        return [
            ChatRequest(model=CHAT_MODEL, messages=hello, options=ChatOptions(extra={"top_k": 5})),
            ChatRequest(
                model=CHAT_MODEL, messages=(Message(role="user", content="?", images=("aGk=",)),)
            ),
            EmbedRequest(model=EMBED_MODEL, inputs=("hello",), dimensions=4),
        ]
