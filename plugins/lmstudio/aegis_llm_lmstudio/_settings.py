"""The settings of one instance of the plugin (``lmstudio``, or any name a user configures)."""

from __future__ import annotations

from aegis_llm import HttpProviderSettings

__all__ = ["LMStudioSettings"]


class LMStudioSettings(HttpProviderSettings):
    """Where the server is and how to talk to it.

    ``base_url`` may end in ``/v1`` or not: users copy it from LM Studio's UI,
    llama.cpp's README or an OpenAI client config, which disagree. ``native_api``
    pins whether LM Studio's own ``/api/v0`` endpoints exist; left unset it is
    detected once per client, and setting it to ``false`` for llama.cpp or vLLM
    saves that probe.
    """

    base_url: str = "http://127.0.0.1:1234"
    native_api: bool | None = None
