"""EchoLM's settings: where the server is and the token it may require."""

from __future__ import annotations

from aegis_llm import HttpProviderSettings

__all__ = ["EchoSettings"]


class EchoSettings(HttpProviderSettings):
    """Read from ``AEGIS_LLM_EXAMPLE_ECHO_*`` and ``[providers.example_echo]``.

    ``api_key`` (inherited, a ``SecretStr``) is sent as a bearer token when set.
    """

    base_url: str = "http://127.0.0.1:8808"
