"""Turning a model name into a local folder that is safe to load.

Offline first: the bundled all-MiniLM-L6-v2, then explicit folders, then
folders of that name inside the model roots (so a mirror of ``BAAI/bge-m3``
in a root wins over the hub), and only then the Hugging Face cache or a
download. Runs in a worker thread: it touches the disk and maybe the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aegis_llm.errors import InvalidRequest, ModelNotFound
from aegis_llm_st_cpu import _bundle, _names, _paths
from aegis_llm_st_cpu._settings import StCpuSettings

__all__ = ["ModelSource", "Origin", "resolve"]

Origin = Literal["bundled", "folder", "hub"]


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are; ``name`` is what listings call it."""

    name: str
    folder: Path
    origin: Origin


def resolve(name: str, settings: StCpuSettings, *, provider: str) -> ModelSource:
    """The folder to load for ``name``; raises ``InvalidRequest`` or ``ModelNotFound``."""
    target = _names.canonical(name, settings.aliases)
    source = _locate(target, settings, provider)
    problem = _paths.weights_problem(source.folder)
    if problem is not None:
        raise ModelNotFound(
            f"{target!r} cannot be loaded safely: {problem}",
            model=name,
            provider=provider,
            hint="aegis-llm loads only safetensors weights; pick a model that ships "
            "model.safetensors or convert this one",
        )
    return source


def _locate(target: str, settings: StCpuSettings, provider: str) -> ModelSource:
    if target in _names.BUNDLED_IDS:
        bundled = _bundle.bundled_folder(provider=provider)
        if bundled is not None:
            return ModelSource(target, bundled, "bundled")
    if _names.is_path(target):
        folder = _confined(Path(target).expanduser(), settings, provider)
        return ModelSource(target, folder, "folder")
    if not _names.is_hub_id(target):
        raise InvalidRequest(
            f"{target!r} is neither a Hugging Face id (org/name) nor a path",
            provider=provider,
            hint="name a model like 'BAAI/bge-m3', or a folder with an absolute path",
        )
    for root in settings.model_roots:
        if (root.expanduser() / target).is_dir():
            folder = _confined(root.expanduser() / target, settings, provider)
            return ModelSource(target, folder, "folder")
    from aegis_llm_st_cpu import _hub  # imports huggingface_hub: only when a hub id is needed

    folder = _hub.fetch(target, offline=settings.offline, provider=provider)
    return ModelSource(target, folder, "hub")


def _confined(candidate: Path, settings: StCpuSettings, provider: str) -> Path:
    roots = settings.model_roots
    if not roots:
        raise InvalidRequest(
            f"local model folders are not allowed, and {str(candidate)!r} is one",
            provider=provider,
            hint="list the folders models may come from in AEGIS_LLM_ST_CPU_MODEL_ROOTS",
        )
    if not _paths.inside(candidate, roots):
        raise InvalidRequest(
            f"{str(candidate)!r} is outside the model roots (after following links and '..')",
            provider=provider,
            hint="move the model into a root or add its parent to AEGIS_LLM_ST_CPU_MODEL_ROOTS",
        )
    if not candidate.is_dir():
        raise ModelNotFound(
            f"there is no model folder at {str(candidate)!r}",
            model=str(candidate),
            provider=provider,
            hint="check the path; a sentence-transformers folder holds modules.json",
        )
    escape = _paths.escaping_entry(candidate, roots)
    if escape is not None:
        raise InvalidRequest(
            f"{str(escape)!r} in the model folder links outside the model roots",
            provider=provider,
            hint="copy the files into the folder instead of linking them from elsewhere",
        )
    return candidate.resolve()
