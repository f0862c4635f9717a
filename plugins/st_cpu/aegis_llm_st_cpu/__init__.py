"""aegis-llm provider: sentence-transformers on the CPU (shell: filled by the st_cpu issue)."""

from __future__ import annotations

from aegis_llm import ProviderInfo, ProviderSettings, hookimpl

__all__ = ["StCpuSettings", "aegis_llm_provider_info"]


class StCpuSettings(ProviderSettings):
    model: str = "all-MiniLM-L6-v2"


@hookimpl
def aegis_llm_provider_info() -> ProviderInfo:
    return ProviderInfo(
        name="st_cpu",
        version="0.1.0",
        capabilities=frozenset(),
        settings_class=StCpuSettings,
        description="sentence-transformers embeddings in this process, on the CPU",
        install_hint="pip install aegis-llm[st-cpu]",
    )
