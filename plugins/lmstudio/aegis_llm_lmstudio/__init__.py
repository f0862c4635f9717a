"""aegis-llm provider for LM Studio (shell: filled by the LM Studio plugin issue)."""

from __future__ import annotations

from aegis_llm import HttpProviderSettings, ProviderInfo, hookimpl

__all__ = ["LMStudioSettings", "aegis_llm_provider_info"]


class LMStudioSettings(HttpProviderSettings):
    base_url: str = "http://127.0.0.1:1234"


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="lmstudio",
        version="0.1.0",
        capabilities=frozenset(),
        settings_class=LMStudioSettings,
        description="LM Studio and other OpenAI-compatible servers",
        install_hint="pip install aegis-llm[lmstudio]",
    )
