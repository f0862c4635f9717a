"""How a provider plugin declares itself: name, version, what it can do, its settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aegis_llm._settings import ProviderSettings

__all__ = ["HOOK_OF", "Capability", "ProviderInfo"]


class Capability(StrEnum):
    """An operation a provider offers. Asking for one it lacks raises ``Unsupported``.

    ``TOOLS`` is a feature of chat rather than an operation of its own (no
    hook): a chat that offers tools to a provider without it is
    ``Unsupported``, so a chain moves on instead of the tools being dropped.
    """

    CHAT = "chat"
    STREAM = "stream"
    EMBED = "embed"
    LIST_MODELS = "list_models"
    HEALTH = "health"
    PULL = "pull"
    LOAD = "load"
    UNLOAD = "unload"
    TOOLS = "tools"


HOOK_OF: dict[Capability, str] = {
    Capability.CHAT: "aegis_llm_chat",
    Capability.STREAM: "aegis_llm_stream_chat",
    Capability.EMBED: "aegis_llm_embed",
    Capability.LIST_MODELS: "aegis_llm_list_models",
    Capability.HEALTH: "aegis_llm_health",
    Capability.PULL: "aegis_llm_pull",
    Capability.LOAD: "aegis_llm_load_model",
    Capability.UNLOAD: "aegis_llm_unload_model",
}
"""The hook that must be implemented for each declared operation (checked at load)."""


@dataclass(frozen=True)
class ProviderInfo:
    """A provider plugin's self-description, returned by ``aegis_llm_provider_info``.

    ``install_hint`` is what an error tells a user whose plugin is missing a
    dependency, e.g. ``pip install aegis-llm[st-cpu]``.
    """

    name: str
    version: str
    capabilities: frozenset[Capability]
    settings_class: type[ProviderSettings]
    description: str = ""
    install_hint: str = ""
    extra: dict[str, str] = field(default_factory=dict)
