"""Keeping local model folders inside the configured roots, and their weights in safetensors.

A model name may come from an untrusted caller (a RAG server passing a user's
choice through), so a folder is only used when it and everything it links to
stay inside a root the operator listed, and only safetensors weights are
accepted: a pickle (``pytorch_model.bin``) can run code when loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["PICKLE_SUFFIXES", "escaping_entry", "inside", "weights_problem"]

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
"""Weight files that ``torch.load`` unpickles."""


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` (symlinks and ``..`` resolved) lies in one of ``roots``."""
    real = path.resolve()
    return any(real.is_relative_to(root.expanduser().resolve()) for root in roots)


def escaping_entry(folder: Path, roots: Sequence[Path]) -> Path | None:
    """The first entry under ``folder`` whose real location is outside ``roots``, if any.

    Symlinked folders are followed (each real folder once, so link cycles end)
    because the model loader would follow them too.
    """
    pending, seen = [folder], set[Path]()
    while pending:
        current = pending.pop()
        real = current.resolve()
        if real in seen:
            continue
        seen.add(real)
        for entry in current.iterdir():
            if not inside(entry, roots):
                return entry
            if entry.is_dir():
                pending.append(entry)
    return None


def weights_problem(folder: Path) -> str | None:
    """Why the weights in ``folder`` may not be loaded, or ``None`` when they are safetensors."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    if not any(path.suffix == ".safetensors" for path in files):
        return "it has no safetensors weights"
    safe_dirs = {path.parent for path in files if path.suffix == ".safetensors"}
    for path in files:
        if path.suffix in PICKLE_SUFFIXES and path.parent not in safe_dirs:
            return f"{path.relative_to(folder)} is a pickle with no safetensors beside it"
    return None
