"""What providers report about themselves: models, health and pull progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt

__all__ = [
    "HealthReason",
    "HealthReport",
    "HealthStatus",
    "LoadedModel",
    "ModelInfo",
    "ModelKind",
    "PullProgress",
]

_FROZEN = ConfigDict(frozen=True)

ModelKind = Literal["chat", "embedding", "unknown"]
HealthStatus = Literal["up", "down", "degraded"]
HealthReason = Literal[
    "unreachable",
    "timeout",
    "loading",
    "busy",
    "model_missing",
    "auth",
    "error",
    "disabled",
    "not_installed",
]


class ModelInfo(BaseModel):
    """A model a provider can serve. Fields the server does not report stay ``None``."""

    model_config = _FROZEN

    id: str
    provider: str
    kind: ModelKind = "unknown"
    loaded: bool | None = None
    context_length: NonNegativeInt | None = None
    size_bytes: NonNegativeInt | None = None
    dimensions: NonNegativeInt | None = None
    quantization: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class LoadedModel(BaseModel):
    """A model resident in the server's memory right now."""

    model_config = _FROZEN

    name: str
    size_bytes: NonNegativeInt | None = None
    vram_bytes: NonNegativeInt | None = None
    expires_at: datetime | None = None
    context_length: NonNegativeInt | None = None

    @property
    def fully_on_gpu(self) -> bool | None:
        """``False`` means part of the model runs on the CPU (much slower)."""
        if self.size_bytes is None or self.vram_bytes is None:
            return None
        return self.vram_bytes >= self.size_bytes


class HealthReport(BaseModel):
    """Whether a provider can serve requests now; a down server is a report, not an error."""

    model_config = _FROZEN

    provider: str
    status: HealthStatus
    reason: HealthReason | None = None
    message: str | None = None
    latency_seconds: NonNegativeFloat | None = None
    version: str | None = None
    loaded_models: tuple[LoadedModel, ...] = ()
    memory_bytes: NonNegativeInt | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class PullProgress(BaseModel):
    """One step of a model download, as the server reports it."""

    model_config = _FROZEN

    status: str
    digest: str | None = None
    total_bytes: NonNegativeInt | None = None
    completed_bytes: NonNegativeInt | None = None

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes or self.completed_bytes is None:
            return None
        return min(1.0, self.completed_bytes / self.total_bytes)
