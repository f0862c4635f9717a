"""The models a fake Ollama has installed and loaded, and their JSON views.

Names are compared the way Ollama compares them: without a tag a name means `:latest`,
the default registry host and `library/` namespace are implied, and case does not matter.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from ._synth import sha256_hex
from ._wire import go_timestamp

_DEFAULT_HOST: Final = "registry.ollama.ai/"
_DEFAULT_NAMESPACE: Final = "library/"
_DEFAULT_KEEP_ALIVE_NS: Final = 5 * 60 * 1_000_000_000
_FOREVER_NS: Final = 292 * 365 * 24 * 3600 * 1_000_000_000
# Go's time.ParseDuration takes the micro sign (U+00B5) and the Greek mu (U+03BC) alike.
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_STOP_PARAMETER: Final = "stop" + " " * 27 + '"<|eot|>"'
_UNIT_NS: Final = {
    "ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
    "m": 60_000_000_000, "h": 3_600_000_000_000,
}  # fmt: skip


def canonical_name(name: str) -> str:
    """`Llama3.2` → `llama3.2:latest`; `registry.ollama.ai/library/x:1b` → `x:1b`."""
    name = name.strip().lower()
    name = name.removeprefix(_DEFAULT_HOST).removeprefix(_DEFAULT_NAMESPACE)
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


@dataclass(frozen=True, slots=True)
class OllamaModel:
    """A model the fake Ollama reports as installed.

    `kind="embedding"` models answer only the embedding endpoints (chat on them is a 400,
    as for nomic-embed-text); chat models embed too, as real Ollama lets them.
    `embedding_length` is the vector size. `loaded` puts the model in `/api/ps` from the
    start, with `size_vram` (default: all of `size`) and `expires_at` (default: five
    minutes after the server answers). `capabilities` overrides what `/api/show` reports
    and what requests may ask for (`thinking`, `tools`).
    """

    name: str
    kind: Literal["chat", "embedding"] = "chat"
    size: int = 2_019_393_189
    family: str = "llama"
    parameter_size: str = "3.2B"
    quantization_level: str = "Q4_K_M"
    context_length: int = 131_072
    embedding_length: int = 3072
    loaded: bool = False
    size_vram: int | None = None
    expires_at: str | None = None
    modified_at: str = "2025-06-01T12:00:00.000000000Z"
    capabilities: tuple[str, ...] | None = None
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", canonical_name(self.name))

    @property
    def display_name(self) -> str:
        """The name as `/api/tags` prints it (always with a tag)."""
        return self.key

    @property
    def digest(self) -> str:
        """A stable fake manifest digest."""
        return sha256_hex(f"manifest:{self.key}")

    @property
    def effective_capabilities(self) -> tuple[str, ...]:
        """What the model can do, as `/api/show` lists it."""
        if self.capabilities is not None:
            return self.capabilities
        return ("embedding",) if self.kind == "embedding" else ("completion", "tools")

    def details(self) -> dict[str, object]:
        """The `details` object of `/api/tags`, `/api/ps` and `/api/show`."""
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def layers(self) -> list[tuple[str, int]]:
        """(digest, size) of the blobs a pull downloads: weights, template, license, params."""
        small = {"template": 1_429, "license": 7_711, "params": 96}
        weights = max(self.size - sum(small.values()), 1)
        sizes = {"model": weights, **small}
        return [(sha256_hex(f"{part}:{self.key}"), size) for part, size in sizes.items()]


class Inventory:
    """Installed models and which are loaded; shared by the test and the server threads."""

    def __init__(self, models: Iterable[OllamaModel]) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, OllamaModel] = {}
        self._loaded: dict[str, int] = {}
        for model in models:
            self.add(model)

    def add(self, model: OllamaModel) -> None:
        """Install (or replace) a model; a `loaded` model is loaded at once."""
        with self._lock:
            self._models[model.key] = model
            if model.loaded:
                self._loaded[model.key] = time.time_ns() + _DEFAULT_KEEP_ALIVE_NS
            else:
                self._loaded.pop(model.key, None)

    def remove(self, name: str) -> None:
        """Uninstall a model (KeyError if it is not installed)."""
        key = canonical_name(name)
        with self._lock:
            del self._models[key]
            self._loaded.pop(key, None)

    def find(self, name: str) -> OllamaModel | None:
        """The installed model `name` refers to, if any."""
        return self._models.get(canonical_name(name))

    def models(self) -> list[OllamaModel]:
        """Installed models, most recently modified first (as `/api/tags` orders them)."""
        with self._lock:
            models = list(self._models.values())
        return sorted(models, key=lambda model: model.modified_at, reverse=True)

    def loaded(self) -> list[tuple[OllamaModel, int]]:
        """(model, expiry in ns) of loaded models, longest remaining first."""
        with self._lock:
            pairs = [(self._models[key], expiry) for key, expiry in self._loaded.items()]
        return sorted(pairs, key=lambda pair: pair[1], reverse=True)

    def use(self, model: OllamaModel, keep_alive: int | None) -> None:
        """Record a request on `model`: load it, or unload it for `keep_alive=0`.

        `keep_alive` is in nanoseconds; None means the default five minutes and a
        negative value keeps the model loaded for good.
        """
        with self._lock:
            if keep_alive == 0:
                self._loaded.pop(model.key, None)
                return
            if keep_alive is None:
                keep_alive = _DEFAULT_KEEP_ALIVE_NS
            elif keep_alive < 0:
                keep_alive = _FOREVER_NS
            self._loaded[model.key] = time.time_ns() + keep_alive


def keep_alive_ns(value: object) -> int | None:
    """Ollama's `keep_alive`: seconds as a number or a Go duration string; None if absent.

    Raises ValueError (TypeError for a non-string) with Go's wording.
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value * 1_000_000_000)
    if not isinstance(value, str):
        raise TypeError(f"time: invalid duration {value!r}")
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0
    parts = _DURATION_PART.findall(body)
    if not parts or "".join(number + unit for number, unit in parts) != body:
        raise ValueError(f'time: invalid duration "{value}"')
    return sign * int(sum(float(number) * _UNIT_NS[unit] for number, unit in parts))


def tags_entry(model: OllamaModel) -> dict[str, object]:
    """One model as `/api/tags` lists it."""
    return {
        "name": model.display_name,
        "model": model.display_name,
        "modified_at": model.modified_at,
        "size": model.size,
        "digest": model.digest,
        "details": model.details(),
    }


def ps_entry(model: OllamaModel, expiry_ns: int) -> dict[str, object]:
    """One loaded model as `/api/ps` lists it."""
    return {
        "name": model.display_name,
        "model": model.display_name,
        "size": model.size,
        "digest": model.digest,
        "details": model.details(),
        "expires_at": model.expires_at or go_timestamp(expiry_ns),
        "size_vram": model.size if model.size_vram is None else model.size_vram,
        "context_length": model.context_length,
    }


def show_body(model: OllamaModel) -> dict[str, object]:
    """`/api/show` for a model: Modelfile, template, details, model_info, capabilities."""
    weights = model.layers()[0][0]
    arch = model.family.replace("-", "_")
    template = "{{ .Prompt }}" if model.kind == "embedding" else "{{ .System }}\n{{ .Prompt }}"
    return {
        "license": "Fake model licence: for tests only.",
        "modelfile": (
            '# Modelfile generated by "ollama show"\n'
            "# To build a new Modelfile based on this, replace FROM with:\n"
            f"# FROM {model.display_name}\n\n"
            f"FROM /root/.ollama/models/blobs/sha256-{weights}\n"
            f'TEMPLATE """{template}"""\n'
        ),
        "parameters": "" if model.kind == "embedding" else _STOP_PARAMETER,
        "template": template,
        "details": model.details(),
        "model_info": {
            "general.architecture": arch,
            "general.parameter_count": model.size // 2,
            f"{arch}.context_length": model.context_length,
            f"{arch}.embedding_length": model.embedding_length,
        },
        "capabilities": list(model.effective_capabilities),
        "modified_at": model.modified_at,
    }
