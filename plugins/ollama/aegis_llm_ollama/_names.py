"""Ollama model names: ``[host/][namespace/]model[:tag]``, the tag defaulting to ``latest``."""

from __future__ import annotations

__all__ = ["canonical"]


def canonical(name: str) -> str:
    """The full ``name:tag`` form Ollama reports in ``/api/tags`` and ``/api/ps``.

    Only the last path segment can carry the tag: a registry host may have a
    port (``localhost:5000/team/model``) whose colon is not a tag. Namespaced
    and ``-cloud`` names pass through unchanged apart from the default tag.
    """
    last = name.rpartition("/")[2]
    return name if ":" in last else f"{name}:latest"
