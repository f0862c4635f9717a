"""Ollama model names: ``[host/][namespace/]model[:tag]``, the tag defaulting to ``latest``."""

from __future__ import annotations

__all__ = ["canonical", "name_key"]

_DEFAULT_HOST = "registry.ollama.ai"
_DEFAULT_NAMESPACE = "library"


def canonical(name: str) -> str:
    """The full ``name:tag`` form Ollama reports in ``/api/tags`` and ``/api/ps``.

    That is Ollama's shortest display form: the default registry host
    (``registry.ollama.ai``) and namespace (``library``) are dropped, so
    ``registry.ollama.ai/library/qwen3:8b`` is listed as ``qwen3:8b``, and
    a missing tag is ``latest``. Only the last path segment can carry the
    tag: a registry host may have a port (``localhost:5000/team/model``)
    whose colon is not a tag. Other hosts, namespaces and ``-cloud`` tags
    pass through unchanged.
    """
    host, namespace, model = _parts(name)
    if ":" not in model:
        model = f"{model}:latest"
    if host is not None and host.lower() != _DEFAULT_HOST:
        return f"{host}/{namespace}/{model}"
    if namespace is not None and namespace.lower() != _DEFAULT_NAMESPACE:
        return f"{namespace}/{model}"
    return model


def name_key(name: str) -> str:
    """What two spellings of one model share: Ollama matches names case-insensitively."""
    return canonical(name).lower()


def _parts(name: str) -> tuple[str | None, str | None, str]:
    """(host, namespace, model[:tag]) as Ollama splits a name: from the right, on ``/``."""
    rest, _, model = name.rpartition("/")
    if not rest:
        return None, None, model
    host, _, namespace = rest.rpartition("/")
    if not host:
        return None, namespace, model
    return host.partition("://")[2] or host, namespace, model
