"""aegis-llm provider for Ollama's native API (``/api/chat``, ``/api/embed``, ``/api/pull``...).

The native API, not Ollama's ``/v1`` layer, because only it offers
``keep_alive``, ``num_ctx``, timings and model management. Importing this
package is cheap (no httpx): the core imports it on every discovery.
"""

from aegis_llm_ollama._hooks import (
    VERSION,
    aegis_llm_chat,
    aegis_llm_embed,
    aegis_llm_health,
    aegis_llm_list_models,
    aegis_llm_provider_info,
    aegis_llm_pull,
    aegis_llm_stream_chat,
)
from aegis_llm_ollama._names import canonical
from aegis_llm_ollama._settings import OllamaSettings

__version__ = VERSION

__all__ = [
    "OllamaSettings",
    "__version__",
    "aegis_llm_chat",
    "aegis_llm_embed",
    "aegis_llm_health",
    "aegis_llm_list_models",
    "aegis_llm_provider_info",
    "aegis_llm_pull",
    "aegis_llm_stream_chat",
    "canonical",
]
