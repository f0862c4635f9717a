"""LM Studio's native REST APIs: v0 (`/api/v0/models`, chat `stats`, 0.3.6+) and v1
(`/api/v1/models`, `.../load`, `.../unload`, 0.4+), as views of the fake's models.

v1 speaks of model *instances*, which nothing else in the fake needs: loading a model
that already has one gives a second instance, `key:2` (LM Studio does so; a client that
loads without looking first doubles its memory). A model is "loaded" (in `/api/v0`
state, for JIT and "No models loaded") while it has at least one instance. Shapes follow
PROTOCOLS.md §2.4-2.5; error wording is ours.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Final

from ._http import Headers, Response
from ._openai_flavours import OpenAIModel
from ._wire import json_bytes

__all__ = ["Instances", "v0_entry", "v0_extras", "v1_error", "v1_load_answer", "v1_model_entry"]

_LOAD_SECONDS: Final = 0.25
_V1_TYPES: Final = {"llm": "llm", "embeddings": "embedding"}
_STOP_REASONS: Final = {"length": "maxPredictedTokensReached", "tool_calls": "toolCalls"}


class Instances:
    """Which instances of each model are loaded, beside the fake's own `loaded` flags.

    `models` is the fake's model table and `lock` its lock: instances change it (a model
    with none is not loaded), so both are guarded by the same lock.
    """

    def __init__(self, models: dict[str, OpenAIModel], lock: threading.Lock) -> None:
        self._models = models
        self._lock = lock
        self._ids: dict[str, list[str]] = {}

    def of(self, model: OpenAIModel) -> list[str]:
        """Instance ids of `model` (call with the lock held, or accept a racy view)."""
        if not model.loaded:
            return []
        return list(self._ids.get(model.id) or [model.id])

    def load(self, model_id: str) -> tuple[OpenAIModel, str] | None:
        """Load one more instance of `model_id`: its id, or None for an unknown model."""
        with self._lock:
            model = self._models.get(model_id)
            if model is None:
                return None
            current = self.of(model)
            number = 2
            while f"{model_id}:{number}" in current:
                number += 1
            instance = f"{model_id}:{number}" if current else model_id
            self._ids[model_id] = [*current, instance]
            if not model.loaded:
                model = self._models[model_id] = replace(model, loaded=True)
            return model, instance

    def unload(self, instance_id: str) -> bool:
        """Unload one instance; False when no model has an instance of that id."""
        with self._lock:
            for model in self._models.values():
                current = self.of(model)
                if instance_id in current:
                    current.remove(instance_id)
                    self._ids[model.id] = current
                    if not current:
                        self._models[model.id] = replace(model, loaded=False)
                        del self._ids[model.id]
                    return True
            return False

    def forget(self, model_id: str) -> None:
        """Drop the instances of a model unloaded or replaced by other means."""
        with self._lock:
            self._ids.pop(model_id, None)


def v1_model_entry(model: OpenAIModel, instances: list[str]) -> dict[str, object]:
    """One item of `/api/v1/models`."""
    entry: dict[str, object] = {
        "type": _V1_TYPES[model.kind],
        "publisher": model.publisher,
        "key": model.id,
        "display_name": model.id,
        "quantization": {"name": model.quantization, "bits_per_weight": 4},
        "size_bytes": 2_019_373_888,
        "params_string": None if model.kind == "embeddings" else "3B",
        "loaded_instances": [
            {"id": instance, "config": {"context_length": min(4096, model.max_context_length)}}
            for instance in instances
        ],
        "max_context_length": model.max_context_length,
        "format": model.compatibility_type,
    }
    if model.kind == "llm":
        entry["architecture"] = model.arch
        entry["capabilities"] = {
            "vision": False,
            "trained_for_tool_use": "tool_use" in model.capabilities,
        }
    return entry


def v1_load_answer(model: OpenAIModel, instance: str, *, echo: bool) -> dict[str, object]:
    """The answer to `POST /api/v1/models/load`."""
    answer: dict[str, object] = {
        "type": _V1_TYPES[model.kind],
        "instance_id": instance,
        "load_time_seconds": _LOAD_SECONDS,
        "status": "loaded",
    }
    if echo:
        answer["load_config"] = {"context_length": min(4096, model.max_context_length)}
    return answer


def v1_error(status: int, kind: str, message: str, headers: Headers, content_type: str) -> Response:
    """A v1 error: `{"error": {"type", "message"}}` with v1's own type names."""
    body = json_bytes({"error": {"type": kind, "message": message}})
    return Response(status, body, content_type, headers)


def v0_entry(model: OpenAIModel) -> dict[str, object]:
    """One model as LM Studio's `/api/v0/models` lists it."""
    entry: dict[str, object] = {
        "id": model.id,
        "object": "model",
        "type": model.kind,
        "publisher": model.publisher,
        "arch": model.arch,
        "compatibility_type": model.compatibility_type,
        "quantization": model.quantization,
        "state": "loaded" if model.loaded else "not-loaded",
        "max_context_length": model.max_context_length,
    }
    if model.capabilities:
        entry["capabilities"] = list(model.capabilities)
    return entry


def v0_extras(model: OpenAIModel, completion_tokens: int, finish: str) -> dict[str, object]:
    """What LM Studio's `/api/v0/chat/completions` adds: stats (seconds), model and runtime."""
    return {
        "stats": {
            "tokens_per_second": 50.0,
            "time_to_first_token": 0.05,
            "generation_time": completion_tokens / 50.0,
            "stop_reason": _STOP_REASONS.get(finish, "eosFound"),
        },
        "model_info": {
            "arch": model.arch,
            "quant": model.quantization,
            "format": model.compatibility_type,
            "context_length": model.max_context_length,
        },
        "runtime": {
            "name": "llama.cpp-linux-x86_64-avx2",
            "version": "1.50.0",
            "supported_formats": ["gguf"],
        },
    }
