"""Turning a model name into a local folder that is safe to load.

Offline first: the bundled all-MiniLM-L6-v2, then explicit folders, then
folders of that name inside the model roots (so a mirror of ``BAAI/bge-m3``
in a root wins over the hub), and only then the Hugging Face cache or a
download. Runs in a worker thread: it touches the disk and maybe the network.

Every failure is a typed error that says who can fix it:

- ``InvalidRequest`` when the caller's name is at fault whoever answers: it
  cannot name anything (a NUL byte, characters no file name can hold, longer
  than any file system allows), is neither a Hugging Face id nor a path, or
  points where the operator did not allow (no model roots, outside them,
  links leading out). The shape checks run before the name reaches pathlib.
- ``ModelNotFound`` when the name is well formed and allowed but nothing
  loadable is there: missing, a file where a model folder should be, a
  symbolic-link loop, a folder this process may not read, ``~someone`` for a
  user this machine does not have, pickled weights only, or a hub id neither
  cached nor downloadable. Another provider, or the operator, may have it.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aegis_llm.errors import AegisLLMError, InvalidRequest, ModelNotFound
from aegis_llm_st_cpu import _bundle, _names, _paths
from aegis_llm_st_cpu._settings import StCpuSettings

__all__ = ["ModelSource", "Origin", "resolve"]

Origin = Literal["bundled", "folder", "hub"]

_SHOWN = 120
"""Characters of a name quoted in a message; a 5,000-character name would drown it."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are; ``name`` is what listings call it."""

    name: str
    folder: Path
    origin: Origin


def resolve(name: str, settings: StCpuSettings, *, provider: str) -> ModelSource:
    """The folder to load for ``name``; raises ``InvalidRequest`` or ``ModelNotFound``."""
    target = _names.canonical(name, settings.aliases)
    malformed = _names.shape_problem(target)
    if malformed is not None:
        raise InvalidRequest(
            f"{_shown(target)} cannot be a model name: {malformed}",
            provider=provider,
            hint="name a model like 'BAAI/bge-m3', or a folder inside the model roots",
        )
    try:
        source = _locate(target, settings, provider)
        problem = _paths.weights_problem(source.folder)
    except OSError as exc:
        raise _unusable(exc, name=name, provider=provider) from None
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
        _require_roots(target, settings, provider)
        folder = _confined(_expanded(target, provider), settings, provider)
        return ModelSource(target, folder, "folder")
    if not _names.is_hub_id(target):
        raise InvalidRequest(
            f"{target!r} is neither a Hugging Face id (org/name) nor a path",
            provider=provider,
            hint="name a model like 'BAAI/bge-m3', or a folder with an absolute path",
        )
    # A root that cannot be searched raises rather than being skipped: the operator's
    # mirror must never be silently passed over for a download from the hub.
    for root in settings.model_roots:
        candidate = root / target
        try:
            found = _paths.present(candidate)
        except OSError:
            if _paths.inside(candidate, settings.model_roots):
                raise
            found = True  # led out by a link: refused as outside, saying nothing of what is there
        if found:
            return ModelSource(target, _confined(candidate, settings, provider), "folder")
    from aegis_llm_st_cpu import _hub  # imports huggingface_hub: only when a hub id is needed

    folder = _hub.fetch(target, offline=settings.offline, provider=provider)
    return ModelSource(target, folder, "hub")


def _require_roots(target: str, settings: StCpuSettings, provider: str) -> None:
    if not settings.model_roots:
        raise InvalidRequest(
            f"local model folders are not allowed, and {target!r} is one",
            provider=provider,
            hint="list the folders models may come from in AEGIS_LLM_ST_CPU_MODEL_ROOTS",
        )


def _expanded(target: str, provider: str) -> Path:
    """``~`` and ``~user`` expanded; a user this machine does not know names no folder.

    That is ``ModelNotFound`` rather than ``InvalidRequest``: ``~alice/models``
    is a well-formed path that exists on alice's machine, just not here.
    """
    try:
        return Path(target).expanduser()
    except RuntimeError:  # pathlib's "Could not determine home directory."
        home = target.split("/", 1)[0].split("\\", 1)[0]
        raise ModelNotFound(
            f"{target!r} starts with {home!r}, but this machine has no such home folder",
            model=target,
            provider=provider,
            hint="name the folder by its absolute path inside AEGIS_LLM_ST_CPU_MODEL_ROOTS",
        ) from None


def _confined(candidate: Path, settings: StCpuSettings, provider: str) -> Path:
    """``candidate`` as a real folder inside the roots, links included.

    The roots are checked before anything is opened, so a path outside them
    is refused alike whether it exists, is readable or loops.
    """
    roots = settings.model_roots
    if not _paths.inside(candidate, roots):
        raise InvalidRequest(
            f"{str(candidate)!r} is outside the model roots (after following links and '..')",
            provider=provider,
            hint="move the model into a root or add its parent to AEGIS_LLM_ST_CPU_MODEL_ROOTS",
        )
    found = _paths.kind(candidate)
    if found == "missing":
        raise ModelNotFound(
            f"there is no model folder at {str(candidate)!r}",
            model=str(candidate),
            provider=provider,
            hint="check the path; a sentence-transformers folder holds modules.json",
        )
    if found == "file":
        raise ModelNotFound(
            f"{str(candidate)!r} is a file, and a model is a folder",
            model=str(candidate),
            provider=provider,
            hint="name the folder that holds modules.json and the weights; unpack an archive "
            "into a folder first",
        )
    escape = _paths.escaping_entry(candidate, roots)
    if escape is not None:
        raise InvalidRequest(
            f"{str(escape)!r} in the model folder links outside the model roots",
            provider=provider,
            hint="copy the files into the folder instead of linking them from elsewhere",
        )
    return _paths.real(candidate)


def _unusable(exc: OSError, *, name: str, provider: str) -> AegisLLMError:
    """The typed error for a path the operating system would not let us use."""
    where = str(exc.filename) if exc.filename is not None else name
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidRequest(
            f"{_shown(name)} makes a path longer than this system allows ({_shown(where)})",
            provider=provider,
            hint="use a shorter name, or a model root with a shorter path",
        )
    if exc.errno == errno.ELOOP:
        problem = "is a symbolic link that leads back to itself"
        hint = "fix or remove the link; `ls -l` shows where it points"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        problem = "cannot be read by this process (permission denied)"
        hint = "make the model folder readable by the user running the application (chmod -R u+rX)"
    elif exc.errno == errno.ENOTDIR:
        problem = "is a file where a folder is expected"
        hint = "a model is a folder holding modules.json; check the path"
    else:
        problem = f"cannot be used: {exc.strerror or type(exc).__name__}"
        hint = "check the model folder and the links in it"
    return ModelNotFound(
        f"{_shown(where)} {problem}, so {_shown(name)} cannot be loaded",
        model=name,
        provider=provider,
        hint=hint,
    )


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short when long."""
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text):,} characters)"
