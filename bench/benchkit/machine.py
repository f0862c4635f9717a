"""A description of the machine and software a run measured, stored with its numbers."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["describe"]

_PACKAGES = (
    "aegis-llm", "aegis-llm-ollama", "aegis-llm-lmstudio", "aegis-llm-st-cpu", "httpx",
    "httpcore", "anyio", "pydantic", "ollama", "openai", "litellm", "aiohttp", "torch",
    "sentence-transformers",
)  # fmt: skip


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _versions() -> dict[str, str]:
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def describe() -> dict[str, Any]:
    """CPU, cores, memory, OS, Python, load at start and the versions under test."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "load_average_at_start": list(load) if load else None,
        "packages": _versions(),
    }
