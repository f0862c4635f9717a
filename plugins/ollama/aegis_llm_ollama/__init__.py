"""aegis-llm provider for Ollama's native API (shell: filled by the Ollama plugin issue)."""

from __future__ import annotations

from aegis_llm import HttpProviderSettings, ProviderInfo, hookimpl

__all__ = ["OllamaSettings", "aegis_llm_provider_info"]


class OllamaSettings(HttpProviderSettings):
    base_url: str = "http://127.0.0.1:11434"


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="ollama",
        version="0.1.0",
        capabilities=frozenset(),
        settings_class=OllamaSettings,
        description="Ollama's native API",
        install_hint="pip install aegis-llm[ollama]",
    )
