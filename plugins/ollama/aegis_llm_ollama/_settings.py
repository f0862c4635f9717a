"""How an Ollama instance is configured (``AEGIS_LLM_OLLAMA_*``, ``[providers.ollama]``)."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import Field, PositiveInt, field_validator

from aegis_llm import HttpProviderSettings

__all__ = ["OllamaSettings", "parse_keep_alive"]

# What Go's time.ParseDuration reads: "5m", "1h30m", "-1s", "+2.5s", ".5h".
_GO_DURATION = re.compile(r"[-+]?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)")


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
        """Check the value now: a typo should fail at start-up, not as a 400 mid-run."""
        return value if value is None else parse_keep_alive(value)


def parse_keep_alive(value: object) -> float | str:
    """Ollama's ``keep_alive``: seconds as a number or a Go duration; ``ValueError`` otherwise.

    A bare number written as a string (an environment variable) becomes a
    number, because Ollama reads a string as a duration and ``"300"`` has no
    unit. A negative value keeps the model loaded for ever, ``0`` unloads it
    after the call.
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            return float(text)
        if _GO_DURATION.fullmatch(text):
            return text
    raise ValueError(f"{value!r} is neither seconds nor a Go duration such as '5m' or '1h30m'")
