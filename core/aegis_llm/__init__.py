"""aegis-llm: one SDK for local model servers and CPU embeddings.

``AsyncClient`` / ``Client`` are the entry points; the types below are what
they accept and return; ``hookimpl`` and ``ProviderInfo`` are for plugin
authors (see docs/plugin-authors.md). Errors live in ``aegis_llm.errors``.
"""

from aegis_llm._capabilities import Capability, ProviderInfo
from aegis_llm._client import AsyncClient, ModelList
from aegis_llm._context import ProviderContext
from aegis_llm._hookspecs import hookimpl, hookspec
from aegis_llm._inventory import (
    HealthReason,
    HealthReport,
    HealthStatus,
    LoadedModel,
    ModelInfo,
    ModelKind,
    PullProgress,
)
from aegis_llm._plugins import ENTRY_POINT_GROUP, PluginHost, PluginStatus
from aegis_llm._provider import Provider
from aegis_llm._requests import ChatOptions, ChatRequest, EmbedRequest, Message, Role
from aegis_llm._results import (
    Attempt,
    AttemptOutcome,
    ChatChunk,
    ChatResponse,
    Embeddings,
    FinishReason,
    Usage,
)
from aegis_llm._settings import (
    AegisSettings,
    BreakerSettings,
    HttpProviderSettings,
    ProviderSettings,
    RetrySettings,
)
from aegis_llm._streams import ChatStream
from aegis_llm._sync import Client
from aegis_llm._tools import Tool, ToolCall, ToolChoice

__version__ = "0.1.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "AegisSettings",
    "AsyncClient",
    "Attempt",
    "AttemptOutcome",
    "BreakerSettings",
    "Capability",
    "ChatChunk",
    "ChatOptions",
    "ChatRequest",
    "ChatResponse",
    "ChatStream",
    "Client",
    "EmbedRequest",
    "Embeddings",
    "FinishReason",
    "HealthReason",
    "HealthReport",
    "HealthStatus",
    "HttpProviderSettings",
    "LoadedModel",
    "Message",
    "ModelInfo",
    "ModelKind",
    "ModelList",
    "PluginHost",
    "PluginStatus",
    "Provider",
    "ProviderContext",
    "ProviderInfo",
    "ProviderSettings",
    "PullProgress",
    "RetrySettings",
    "Role",
    "Tool",
    "ToolCall",
    "ToolChoice",
    "Usage",
    "__version__",
    "hookimpl",
    "hookspec",
]
