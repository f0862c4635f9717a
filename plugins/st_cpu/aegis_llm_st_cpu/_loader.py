"""Loading a sentence-transformers model from a checked local folder.

The only module that imports sentence-transformers (7-10 s the first time),
and only when the first embed needs a model, never at plugin discovery.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sentence_transformers import SentenceTransformer
from transformers.utils import logging as transformers_logging

from aegis_llm.errors import ModelNotFound, ProviderError

# A library should not draw progress bars on its caller's terminal: loading a
# model is reported through health and list_models instead.
transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

__all__ = ["LoadedWeights", "load"]


@dataclass(frozen=True)
class LoadedWeights:
    """A model ready to encode, with the facts listings report about it."""

    model: SentenceTransformer
    dimensions: int | None
    max_seq_length: int | None
    memory_bytes: int
    load_seconds: float


def load(folder: Path, *, trust_remote_code: bool, name: str, provider: str) -> LoadedWeights:
    """Load ``folder`` on the CPU, never touching the network, never unpickling weights."""
    started = time.monotonic()
    try:
        model = SentenceTransformer(
            str(folder),
            device="cpu",
            trust_remote_code=trust_remote_code,
            local_files_only=True,
            model_kwargs={"use_safetensors": True},
        )
    except Exception as exc:  # noqa: BLE001 - a damaged folder can make the loader raise anything
        # TypeError from a malformed modules.json entry, SafetensorError (a plain Exception)
        # from corrupt weights, OSError for missing files: all mean "this is no usable model".
        raise _load_error(exc, name=name, folder=folder, provider=provider) from None
    model.eval()
    limit: object = model.max_seq_length
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ProviderError(
            f"{name!r} ({folder}) declares a token limit of {limit!r}, not a positive number",
            provider=provider,
            hint="fix max_seq_length in the model's sentence_bert_config.json",
            retryable=False,
        )
    tensors = [*model.parameters(), *model.buffers()]
    return LoadedWeights(
        model=model,
        dimensions=_dimensions(model),
        max_seq_length=limit,
        memory_bytes=sum(t.numel() * t.element_size() for t in tensors),
        load_seconds=time.monotonic() - started,
    )


def _dimensions(model: SentenceTransformer) -> int | None:
    """sentence-transformers 6 renamed the method (the old name warns); older ones lack the new."""
    measure = getattr(model, "get_embedding_dimension", None)
    found = measure() if measure is not None else model.get_sentence_embedding_dimension()
    return None if found is None else int(found)


def _load_error(exc: Exception, *, name: str, folder: Path, provider: str) -> Exception:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MemoryError):
        return ProviderError(
            f"{name!r} ({folder}) does not fit in this process's memory",
            provider=provider,
            hint="free memory (idle_unload_seconds unloads unused models) or pick a smaller model",
            retryable=False,
        )
    if "trust_remote_code" in str(exc):
        return ModelNotFound(
            f"{name!r} needs to run code shipped with the model: {reason}",
            model=name,
            provider=provider,
            hint="set AEGIS_LLM_ST_CPU_TRUST_REMOTE_CODE=true only if you trust its authors",
        )
    return ProviderError(
        f"{name!r} ({folder}) is not a loadable sentence-transformers model: {reason}",
        provider=provider,
        hint="check the folder holds a complete model (modules.json, config.json, weights)",
        retryable=False,
    )
