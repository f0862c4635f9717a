"""Ollama's model inventory (``/api/tags``, ``/api/ps``, ``/api/version``, ``/api/pull``).

These answers are small and rare, so they are read through lenient pydantic
models of the wire (unknown fields ignored, every field optional that Go may
omit) and any mismatch becomes a ``ProtocolError``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, NonNegativeInt, ValidationError

from aegis_llm import LoadedModel, ModelInfo, ModelKind, PullProgress
from aegis_llm.errors import ProtocolError
from aegis_llm_ollama._errors import ServerReported
from aegis_llm_ollama._names import name_key

__all__ = ["loaded_models", "model_infos", "pull_step", "server_version", "tag_names"]

_Wire = TypeVar("_Wire", bound=BaseModel)


class _Details(BaseModel):
    model_config = ConfigDict(extra="allow")

    family: str | None = None
    families: list[str] | None = None
    quantization_level: str | None = None
    context_length: NonNegativeInt | None = None
    embedding_length: NonNegativeInt | None = None


class _Tag(BaseModel):
    name: str
    size: NonNegativeInt | None = None
    digest: str | None = None
    modified_at: str | None = None
    details: _Details | None = None
    capabilities: list[str] | None = None
    remote_host: str | None = None
    remote_model: str | None = None


class _Tags(BaseModel):
    models: list[_Tag] | None = None


class _Running(BaseModel):
    name: str
    size: NonNegativeInt | None = None
    size_vram: NonNegativeInt | None = None
    expires_at: datetime | None = None
    context_length: NonNegativeInt | None = None


class _Ps(BaseModel):
    models: list[_Running] | None = None


class _Version(BaseModel):
    version: str


class _Progress(BaseModel):
    status: str
    digest: str | None = None
    total: NonNegativeInt | None = None
    completed: NonNegativeInt | None = None


def _read(kind: type[_Wire], value: Any, what: str) -> _Wire:
    if type(value) is dict and "error" in value:
        raise ServerReported(str(value["error"]))
    try:
        return kind.model_validate(value)
    except ValidationError as exc:
        raise ProtocolError(
            f"Ollama's {what} answer has an unexpected shape: "
            f"{exc.errors(include_url=False)[0]['msg']}",
            hint="is base_url an Ollama server? `curl <base_url>/api/version` should answer",
        ) from None


def _kind(tag: _Tag) -> ModelKind:
    """Chat or embedding, from what the server says; ``unknown`` when it says nothing.

    Newer servers list ``capabilities``; older ones only name the model
    family, and a BERT-family model is an encoder Ollama serves only for
    embeddings (``bert``, ``nomic-bert``, ``xlm-roberta``...).
    """
    if tag.capabilities:
        if "embedding" in tag.capabilities:
            return "embedding"
        if "completion" in tag.capabilities:
            return "chat"
    details = tag.details
    families = (details.families or [details.family or ""]) if details else []
    if any("bert" in family for family in families):
        return "embedding"
    return "unknown"


def _info(tag: _Tag, running: dict[str, _Running] | None, provider: str) -> ModelInfo:
    kind = _kind(tag)
    details = tag.details or _Details()
    here = running.get(name_key(tag.name)) if running is not None else None
    context_length = here.context_length if here is not None else None
    extra = details.model_dump(
        exclude_none=True, exclude={"context_length", "embedding_length", "quantization_level"}
    )
    extra.update(
        tag.model_dump(
            include={"digest", "modified_at", "capabilities", "remote_host", "remote_model"},
            exclude_none=True,
        )
    )
    return ModelInfo(
        id=tag.name,
        provider=provider,
        kind=kind,
        loaded=None if running is None else here is not None,
        context_length=context_length or details.context_length,
        size_bytes=tag.size,
        dimensions=details.embedding_length if kind == "embedding" else None,
        quantization=details.quantization_level or None,
        details=extra,
    )


def model_infos(tags: Any, ps: Any | None, provider: str) -> list[ModelInfo]:
    """``/api/tags`` marked loaded from ``/api/ps`` (``ps=None``: loaded state unknown)."""
    listed = _read(_Tags, tags, "/api/tags").models or []
    running = None
    if ps is not None:
        running = {name_key(m.name): m for m in _read(_Ps, ps, "/api/ps").models or []}
    return [_info(tag, running, provider) for tag in listed]


def tag_names(tags: Any) -> set[str]:
    """The local models as ``name_key`` spells them, for "is it pulled?" checks."""
    return {name_key(tag.name) for tag in _read(_Tags, tags, "/api/tags").models or []}


def loaded_models(ps: Any) -> tuple[LoadedModel, ...]:
    """``/api/ps``: what is in memory, how much of it in VRAM, and until when."""
    return tuple(
        LoadedModel(
            name=m.name,
            size_bytes=m.size,
            vram_bytes=m.size_vram,
            expires_at=m.expires_at,
            context_length=m.context_length or None,
        )
        for m in _read(_Ps, ps, "/api/ps").models or []
    )


def server_version(answer: Any) -> str:
    return _read(_Version, answer, "/api/version").version


def pull_step(record: Any) -> PullProgress:
    """One ``/api/pull`` progress object (``total``/``completed`` may be absent early on)."""
    step = _read(_Progress, record, "/api/pull")
    return PullProgress(
        status=step.status,
        digest=step.digest or None,
        total_bytes=step.total,
        completed_bytes=step.completed,
    )
