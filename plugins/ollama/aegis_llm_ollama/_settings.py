"""How an Ollama instance is configured (``AEGIS_LLM_OLLAMA_*``, ``[providers.ollama]``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, PositiveInt, field_validator

from aegis_llm import HttpProviderSettings

__all__ = ["OllamaSettings"]

_GO_DURATION = re.compile(r"-?(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+")
_NUMBER = re.compile(r"-?\d+(\.\d*)?")


class OllamaSettings(HttpProviderSettings):
    """Settings of one Ollama server.

    ``keep_alive`` and ``num_ctx`` are the two knobs Ollama's OpenAI layer
    lacks and the reason this plugin speaks the native API. ``keep_alive``
    applies to every call; ``num_ctx`` only to chat, because an embedding
    model forced to a chat-sized context is reloaded and wastes memory (pass
    ``extra={"num_ctx": ...}`` on an embed call to set one there). ``options``
    are default model options under every call's own.
    """

    base_url: str = "http://127.0.0.1:11434"
    keep_alive: float | str | None = None
    num_ctx: PositiveInt | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _go_duration_or_seconds(cls, value: object) -> object:
        """Check the value now: a typo should fail at start-up, not as a 400 mid-run.

        Ollama reads a number as seconds and a string as a Go duration, so a
        bare number written as a string (an environment variable) becomes a
        number; a negative value keeps the model loaded for ever, ``0`` unloads
        it after each call.
        """
        if not isinstance(value, str):
            return value
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
        if _GO_DURATION.fullmatch(text):
            return text
        raise ValueError(f"{value!r} is neither seconds nor a Go duration such as '5m' or '1h30m'")
