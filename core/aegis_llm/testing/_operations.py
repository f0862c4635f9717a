"""The four request-serving operations, run the same way for every check.

Fault tests ask "what happens to *any* operation when the server misbehaves", so
an operation is a value here, and its outcome keeps everything a check may need:
the comparable answer, the error as raised (never wrapped), and for streams the
chunks that reached the caller before it broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aegis_llm import ChatChunk, ChatRequest, EmbedRequest, Provider
from aegis_llm._capabilities import Capability

__all__ = ["OPERATION_PARAMETERS", "Operation", "Outcome", "operations_for", "perform"]


class Operation(StrEnum):
    """A provider call that sends a request and gets an answer (health is checked apart)."""

    CHAT = "chat"
    STREAM = "stream"
    EMBED = "embed"
    LIST_MODELS = "list_models"

    @property
    def capability(self) -> Capability:
        return Capability(self.value)

    @property
    def names_a_model(self) -> bool:
        return self is not Operation.LIST_MODELS


OPERATION_PARAMETERS: dict[str, bool] = {"aegis_operation": False, "aegis_model_operation": True}
"""Test parameters that run a test once per declared operation -> only those naming a model."""


def operations_for(capabilities: frozenset[Capability], *, naming_a_model: bool) -> list[Operation]:
    """The operations a plugin declares, optionally only those that name a model."""
    return [
        operation
        for operation in Operation
        if operation.capability in capabilities and (operation.names_a_model or not naming_a_model)
    ]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one operation produced.

    ``answer`` is comparable across runs: the reply text, the joined stream, the
    vectors, or the sorted model ids. ``chunks`` are the stream chunks delivered
    before the end or the error.
    """

    operation: Operation
    answer: object = None
    error: Exception | None = None
    chunks: tuple[ChatChunk, ...] = ()

    @property
    def streamed_text(self) -> str:
        return "".join(chunk.content for chunk in self.chunks)

    def describe(self) -> str:
        if self.error is None:
            return f"{self.operation.value} succeeded"
        return f"{self.operation.value} raised {type(self.error).__name__}: {self.error}"


async def perform(
    provider: Provider, operation: Operation, request: ChatRequest | EmbedRequest | None
) -> Outcome:
    """Run ``operation`` with ``request`` and capture whatever it raises, whatever its class.

    ``request`` is a ``ChatRequest`` for chat and stream, an ``EmbedRequest`` for
    embed and ``None`` for list_models. Catching every ``Exception`` is the point:
    a plugin that raises ``KeyError`` where it should raise ``ProtocolError`` must
    be reported, not crash the check.
    """
    chunks: list[ChatChunk] = []
    answer: object
    try:
        if isinstance(request, EmbedRequest):
            answer = (await provider.embed(request)).vectors
        elif request is None:
            answer = sorted(model.id for model in await provider.list_models())
        elif operation is Operation.CHAT:
            answer = (await provider.chat(request)).content
        else:
            async for chunk in provider.stream_chat(request):
                chunks.append(chunk)
            answer = "".join(chunk.content for chunk in chunks)
    except Exception as exc:  # noqa: BLE001 - see docstring
        return Outcome(operation, error=exc, chunks=tuple(chunks))
    return Outcome(operation, answer, chunks=tuple(chunks))
