"""The candidates, column by column: the same families on both APIs where they exist."""

from __future__ import annotations

import importlib.util
from functools import partial
from typing import Final

from benchkit.clients._base import Api, Candidate, Opener, Unavailable

__all__ = ["APIS", "FAMILIES", "candidates"]

APIS: Final[tuple[Api, ...]] = ("ollama", "openai")

FAMILIES: dict[str, str] = {
    "httpx": "raw httpx",
    "aegis": "aegis-llm",
    "official": "official client",
    "litellm": "LiteLLM",
    "aiohttp": "raw aiohttp",
    "aegis+aiohttp": "aegis-llm, http_transport=aiohttp",
}
"""Column keys and their headings, in table order."""


def _raw_httpx(api: Api) -> Opener:
    from benchkit.clients import _raw_httpx

    return _raw_httpx.opener(api)


def _aegis(api: Api) -> Opener:
    from benchkit.clients import _aegis

    return _aegis.opener(api)


def _official(api: Api) -> Opener:
    from benchkit.clients import _official

    return _official.ollama_opener() if api == "ollama" else _official.openai_opener()


def _litellm(api: Api) -> Opener:
    from benchkit.clients import _litellm

    return _litellm.opener(api)


def _raw_aiohttp(api: Api) -> Opener:
    try:
        from benchkit.clients import _raw_aiohttp
    except ImportError as error:
        raise Unavailable("the `aiohttp` package is not installed (bench extra)") from error
    return _raw_aiohttp.opener(api)


def _aegis_aiohttp(api: Api) -> Opener:
    if importlib.util.find_spec("aiohttp") is None:
        raise Unavailable("the `aiohttp` package is not installed (aegis-llm[aiohttp])")
    from benchkit.clients import _aegis

    return _aegis.opener(api, transport="aiohttp")


_OPENERS = {
    "httpx": _raw_httpx,
    "aegis": _aegis,
    "official": _official,
    "litellm": _litellm,
    "aiohttp": _raw_aiohttp,
    "aegis+aiohttp": _aegis_aiohttp,
}

_LABELS: dict[tuple[str, Api], str] = {
    ("aegis", "ollama"): "aegis-llm (ollama plugin)",
    ("aegis", "openai"): "aegis-llm (lmstudio plugin)",
    ("official", "ollama"): "ollama (official client)",
    ("official", "openai"): "openai (official client)",
    ("litellm", "ollama"): "LiteLLM (ollama_chat/)",
    ("litellm", "openai"): "LiteLLM (openai/)",
    ("aegis+aiohttp", "ollama"): "aegis-llm (ollama) + aiohttp transport",
    ("aegis+aiohttp", "openai"): "aegis-llm (lmstudio) + aiohttp transport",
}


def candidates(families: list[str] | None = None) -> list[Candidate]:
    """Every candidate on both APIs, in table order; `families` narrows the columns."""
    chosen = [family for family in FAMILIES if families is None or family in families]
    found = []
    for api in APIS:
        for family in chosen:
            label = _LABELS.get((family, api), FAMILIES[family])
            found.append(Candidate(family, label, api, partial(_OPENERS[family], api)))
    return found
