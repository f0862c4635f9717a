"""The models loaded in this process, shared by every client and event loop.

A model takes seconds and hundreds of megabytes to load, so it is loaded once
per process however many clients, loops (asyncio, trio, the blocking client's
thread) or concurrent first calls ask for it. Only ``threading`` primitives
are used for that reason: an anyio lock belongs to one event loop.

Two kinds of lock: the registry lock guards the dictionaries and is held for
microseconds (it may be taken on an event loop thread); a per-key loading lock
is held for the whole load, only ever in worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aegis_llm_st_cpu._openmp import short_spins_while_torch_loads

if TYPE_CHECKING:
    from aegis_llm_st_cpu._loader import LoadedWeights

__all__ = ["MODELS", "ModelKey", "ModelRegistry", "ResidentModel"]


@dataclass(frozen=True)
class ModelKey:
    """Models are shared by folder; one loaded with remote code is never served to a client
    that did not allow it."""

    folder: Path
    trust_remote_code: bool


@dataclass(eq=False)
class ResidentModel:
    """A loaded model plus who is using it.

    ``encode_lock`` lets one batch at a time through: Hugging Face fast
    tokenizers fail ("Already borrowed") when two threads use one at once, and
    torch already spreads a single batch over every core.
    """

    key: ModelKey
    name: str
    weights: LoadedWeights
    encode_lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)
    idle_unload: float | None = None
    timer: threading.Timer | None = None

    def expires_in(self) -> float | None:
        """Seconds until an idle unload, ``None`` while in use or when it never unloads."""
        if self.idle_unload is None or self.users:
            return None
        return max(0.0, self.last_used + self.idle_unload - time.monotonic())


class ModelRegistry:
    """Load-once, share, and unload-when-idle for loaded models."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[ModelKey, ResidentModel] = {}
        self._loading: dict[ModelKey, threading.Lock] = {}

    def get(self, key: ModelKey) -> ResidentModel | None:
        """The model if loaded; cheap enough for the event loop thread."""
        with self._lock:
            return self._models.get(key)

    def get_or_load(self, key: ModelKey, *, name: str, provider: str) -> ResidentModel:
        """The model, loading it first if needed. Blocks: call from a worker thread."""
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            found = self.get(key)
            if found is not None:
                return found
            with short_spins_while_torch_loads():
                from aegis_llm_st_cpu import _loader  # imports torch: only on the first load

            weights = _loader.load(
                key.folder, trust_remote_code=key.trust_remote_code, name=name, provider=provider
            )
            resident = ResidentModel(key=key, name=name, weights=weights)
            with self._lock:
                self._models[key] = resident
            return resident

    @contextmanager
    def lease(self, model: ResidentModel, idle_unload: float | None) -> Iterator[ResidentModel]:
        """Mark ``model`` in use; on release, start its idle countdown (the latest setting wins)."""
        with self._lock:
            model.users += 1
        try:
            yield model
        finally:
            with self._lock:
                model.users -= 1
                model.last_used = time.monotonic()
                model.idle_unload = idle_unload
                if idle_unload is not None and model.timer is None:
                    self._arm(model, idle_unload)

    def resident(self) -> list[ResidentModel]:
        with self._lock:
            return list(self._models.values())

    def unload_all(self) -> None:
        """Forget every model (memory is freed once no call still holds one)."""
        with self._lock:
            for model in self._models.values():
                if model.timer is not None:
                    model.timer.cancel()
                    model.timer = None
            self._models.clear()

    def _arm(self, model: ResidentModel, delay: float) -> None:
        """One timer per idle model, re-armed rather than replaced on every call."""
        timer = threading.Timer(delay, self._expire, args=(model,))
        timer.daemon = True
        model.timer = timer
        timer.start()

    def _expire(self, model: ResidentModel) -> None:
        with self._lock:
            model.timer = None
            if self._models.get(model.key) is not model or model.idle_unload is None:
                return
            if model.users:
                return  # the lease that ends last re-arms the countdown
            remaining = model.last_used + model.idle_unload - time.monotonic()
            if remaining > 0:
                self._arm(model, remaining)
            else:
                del self._models[model.key]


MODELS = ModelRegistry()
"""The process-wide registry."""
