"""Keeping local model folders inside the configured roots, and their weights in safetensors.

A model name may come from an untrusted caller (a RAG server passing a user's
choice through), so a folder is only used when it and everything it links to
stay inside a root the operator listed, and only safetensors weights are
accepted: a pickle (``pytorch_model.bin``) can run code when loaded.

Confinement is decided on where links lead (``os.path.realpath``, which never
fails on a missing path or a link loop) before anything is opened, so a name
outside the roots is refused the same way whether or not it exists or is
readable: refusals do not reveal what lies outside. Everything that opens a
path afterwards lets ``OSError`` through for the caller to turn into a typed
error: a loop, a folder this process may not read, a path too long.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

__all__ = [
    "PICKLE_SUFFIXES",
    "Kind",
    "escaping_entry",
    "inside",
    "kind",
    "present",
    "real",
    "tree",
    "weights_problem",
]

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
"""Weight files that ``torch.load`` unpickles."""

Kind = Literal["folder", "file", "missing"]


def real(path: Path) -> Path:
    """Where ``path`` leads, links and ``..`` resolved as far as they go.

    Unlike ``Path.resolve`` (``RuntimeError`` on a link loop in Python 3.11
    and 3.12) it never raises for what is on disk: a loop stays unresolved,
    and fails later, as ``OSError``, when something opens it.
    """
    return Path(os.path.realpath(path))


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` (symlinks and ``..`` resolved) lies in one of ``roots``."""
    where = real(path)
    return any(where.is_relative_to(real(root)) for root in roots)


def present(path: Path) -> bool:
    """Whether anything (even a broken link) is at ``path``; ``OSError`` when that cannot be
    told, for instance a root this process may not search, rather than a silent "no"."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def kind(path: Path) -> Kind:
    """What ``path`` leads to; a link loop or a permission problem raises ``OSError``."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    return "folder" if stat.S_ISDIR(mode) else "file"


def tree(folder: Path) -> Iterator[Path]:
    """Every entry under ``folder``, following linked folders as the model loader would.

    Each real folder is listed once, so link cycles end. An entry is yielded
    before it is examined, so a caller that stops at an entry linking out of
    the roots never makes this touch what lies outside. A dangling link is
    skipped (there is nothing to load); a link loop, or a folder that cannot be
    listed, raises ``OSError``.
    """
    pending, seen = [folder], set[Path]()
    while pending:
        current = pending.pop()
        where = real(current)
        if where in seen:
            continue
        seen.add(where)
        for entry in sorted(current.iterdir()):
            yield entry
            if kind(entry) == "folder":
                pending.append(entry)


def escaping_entry(folder: Path, roots: Sequence[Path]) -> Path | None:
    """The first entry under ``folder`` whose real location is outside ``roots``, if any."""
    return next((entry for entry in tree(folder) if not inside(entry, roots)), None)


def weights_problem(folder: Path) -> str | None:
    """Why the weights in ``folder`` may not be loaded, or ``None`` when they are safetensors.

    Walks the same tree as the loader sees, linked subfolders included: a
    ``2_Dense`` linked to a folder holding only ``pytorch_model.bin`` would
    otherwise be unpickled by sentence-transformers.
    """
    files = [path for path in tree(folder) if kind(path) == "file"]
    if not any(path.suffix == ".safetensors" for path in files):
        return "it has no safetensors weights"
    safe_dirs = {path.parent for path in files if path.suffix == ".safetensors"}
    for path in files:
        if path.suffix in PICKLE_SUFFIXES and path.parent not in safe_dirs:
            return f"{path.relative_to(folder)} is a pickle with no safetensors beside it"
    return None
