"""The st_cpu provider's settings (``AEGIS_LLM_ST_CPU_*`` or ``[providers.st_cpu]``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, PositiveFloat, PositiveInt, field_validator
from pydantic_settings import NoDecode

from aegis_llm import ProviderSettings

__all__ = ["StCpuSettings"]


def _hub_offline_from_env() -> bool:
    """Honour the Hugging Face switches as they are *now*, not when the hub was imported."""
    flags = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return any((flag or "").strip().lower() in {"1", "true", "yes", "on"} for flag in flags)


class StCpuSettings(ProviderSettings):
    """How models are found, loaded and run.

    Several clients in one process share each loaded model, so the settings
    that act on the shared model per call (``max_seq_length``, ``batch_size``,
    ``normalize``) apply to that client's calls only, while ``torch_threads``
    is torch's per-thread setting applied in the worker threads that encode.
    """

    model: str | None = None
    """Served when a call asks for the core's default ``embed_model``; ``None`` serves that name."""

    aliases: dict[str, str] = Field(default_factory=dict)
    """Short names for Hugging Face ids or folders, over the built-in ones (``bge-m3``...)."""

    model_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    """The only folders local models may come from (``os.pathsep``-separated in the env)."""

    trust_remote_code: bool = False
    offline: bool = Field(default_factory=_hub_offline_from_env)
    """Never download: use the bundled model, local folders and the Hugging Face cache only."""

    batch_size: PositiveInt = 32
    normalize: bool = True
    max_seq_length: PositiveInt | None = None
    """Lowers the model's own token limit (faster on long texts); it cannot raise it."""

    torch_threads: PositiveInt | None = None
    concurrency: PositiveInt = 1
    """Calls of one client encoding at once; they take turns step by step on the encoder."""

    encoder_nice: Annotated[int, Field(ge=0, le=19)] = 10
    """How much lower than the application the encoding threads run (Linux): the event
    loop gets a core back at once while a long batch encodes; ``0`` keeps equal priority."""

    idle_unload_seconds: PositiveFloat | None = None
    """Free a model nobody used for this long; ``None`` keeps it until the process ends."""

    @field_validator("model_roots", mode="before")
    @classmethod
    def _path_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    @field_validator("model_roots")
    @classmethod
    def _home_expanded(cls, roots: list[Path]) -> list[Path]:
        """``~`` is expanded once, here: a root naming an unknown user's home is a settings
        error when the client is built, not a crash on some later embed."""
        expanded = []
        for root in roots:
            if "\x00" in str(root):
                raise ValueError(f"model root {str(root)!r} contains a NUL byte")
            try:
                expanded.append(root.expanduser())
            except RuntimeError:
                raise ValueError(
                    f"model root {str(root)!r} names a home folder this machine does not have"
                ) from None
        return expanded
