"""One embed request as a series of short worker-thread steps.

Each step encodes one batch, so a cancelled call stops after the batch in
flight, and concurrent calls on one model take turns batch by batch instead
of waiting for a whole request. Inputs are sorted by token count before
batching (sentence-transformers sorts by characters), which keeps padding,
and so wasted work, lower than one ``encode`` call over the whole list.

Each step also turns its batch into Python floats. ``tolist`` holds the GIL
for its whole run: about 11 ms for 1,000 vectors of 384 floats at once, a
stall of the caller's event loop, against a tenth of a millisecond for a
batch of 32, with the GIL free for the loop between steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from aegis_llm.errors import AegisLLMError, InvalidRequest, ProviderError
from aegis_llm_st_cpu._registry import ResidentModel

__all__ = ["EncodeJob", "EncodeOptions", "EncodeResult"]

_COUNT_SLICE = 32


@dataclass(frozen=True)
class EncodeOptions:
    """What a client's settings and the request decide about one call."""

    batch_size: int
    normalize: bool
    max_seq_length: int | None
    truncate_dim: int | None
    allow_truncation: bool
    torch_threads: int | None
    provider: str


@dataclass(frozen=True)
class EncodeResult:
    """A finished call; ``vectors`` are Python floats, all ``dimensions`` wide, in input order."""

    vectors: list[list[float]]
    dimensions: int
    truncated: tuple[int, ...]
    tokens: int
    normalized: bool


class EncodeJob:
    """Call ``step`` from a worker thread until ``result`` is set.

    The first step counts tokens (to sort, and to report which inputs the
    model will truncate) and encodes the first batch, so a request that fits
    in one batch costs a single thread hop.
    """

    def __init__(self, model: ResidentModel, texts: Sequence[str], options: EncodeOptions) -> None:
        self._model = model
        self._texts = texts
        self._options = options
        self._limit = _effective_limit(model.weights.max_seq_length, options.max_seq_length)
        self._batches: list[list[int]] = []
        self._done = 0
        self._rows: list[list[float]] = [[]] * len(texts)  # placeholders, each batch fills its own
        self._dimensions = 0
        self._normalized = True
        self._truncated: tuple[int, ...] = ()
        self._tokens = 0
        self.result: EncodeResult | None = None

    def step(self) -> None:
        """Encode the next batch; a failure of the model itself is a ``ProviderError``.

        A model can load and still fail on its first batch (a Dense layer whose
        width does not match the transformer's, a tokenizer that rejects a
        text): that is the model's fault, not the caller's, and repeating the
        call cannot help, so it is reported as such instead of as a bare
        ``RuntimeError`` from torch.
        """
        try:
            self._step()
        except AegisLLMError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch and tokenizers raise many kinds
            raise _encode_error(exc, self._model.name, self._options.provider) from None

    def _step(self) -> None:
        with self._model.encode_lock:
            threads = self._options.torch_threads
            if threads and torch.get_num_threads() != threads:
                torch.set_num_threads(threads)  # a per-thread setting: apply it where torch runs
            st = self._model.weights.model
            st.max_seq_length = self._limit  # shared model: this call's limit, under the lock
            if not self._batches:
                self._plan()
            order = self._batches[self._done]
            vectors = st.encode(
                [self._texts[i] for i in order],
                batch_size=len(order),
                normalize_embeddings=self._options.normalize,
                truncate_dim=self._options.truncate_dim,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        self._keep(order, vectors)
        self._done += 1
        if self._done == len(self._batches):
            self.result = EncodeResult(
                vectors=self._rows,
                dimensions=self._dimensions,
                truncated=self._truncated,
                tokens=self._tokens,
                normalized=self._normalized,
            )

    def _plan(self) -> None:
        counts = _token_counts(self._model, self._texts)
        limit = self._limit
        if limit is not None:
            self._truncated = tuple(i for i, count in enumerate(counts) if count > limit)
        if self._truncated and not self._options.allow_truncation:
            raise InvalidRequest(
                f"inputs {list(self._truncated)} are longer than the model's limit of {limit} "
                "tokens and truncation is off",
                provider=self._options.provider,
                hint="shorten or split them, or allow truncation (truncate=True)",
            )
        self._tokens = sum(count if limit is None else min(count, limit) for count in counts)
        order = sorted(range(len(counts)), key=counts.__getitem__, reverse=True)
        size = self._options.batch_size
        self._batches = [order[start : start + size] for start in range(0, len(order), size)]

    def _keep(self, order: list[int], vectors: np.ndarray) -> None:
        """Store one batch's vectors, as Python floats, at their inputs' places."""
        for index, row in zip(order, vectors.tolist(), strict=True):
            self._rows[index] = row
        self._dimensions = int(vectors.shape[1])
        unit = np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        self._normalized = self._normalized and bool(unit)


def _encode_error(exc: Exception, name: str, provider: str) -> ProviderError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, MemoryError) or "can't allocate memory" in reason:
        return ProviderError(
            f"{name!r} ran out of memory encoding a batch: {reason}",
            provider=provider,
            hint="lower AEGIS_LLM_ST_CPU_BATCH_SIZE or AEGIS_LLM_ST_CPU_MAX_SEQ_LENGTH",
            retryable=False,
        )
    return ProviderError(
        f"{name!r} failed to encode ({type(exc).__name__}): {reason}",
        provider=provider,
        hint="the model folder may be damaged or its modules may not fit together; "
        "check it loads and encodes with sentence-transformers itself",
        retryable=False,
    )


def _effective_limit(native: int | None, configured: int | None) -> int | None:
    """The setting may lower the model's limit, never raise it past what the model knows."""
    limits = [limit for limit in (native, configured) if limit is not None]
    return min(limits) if limits else None


def _token_counts(model: ResidentModel, texts: Sequence[str]) -> list[int]:
    """Tokens per input as the model will see them, special tokens and default prompt included.

    Counted in slices of ``_COUNT_SLICE``: the tokenizer releases the GIL while
    it splits, but turning 1,000 results into Python lists in one call holds it
    for several milliseconds, long enough to stall the caller's event loop.
    """
    st = model.weights.model
    prompt = st.prompts.get(st.default_prompt_name) if st.default_prompt_name else None
    seen = [prompt + text for text in texts] if prompt else list(texts)
    counts: list[int] = []
    for start in range(0, len(seen), _COUNT_SLICE):
        encoded = st.tokenizer(
            seen[start : start + _COUNT_SLICE],
            add_special_tokens=True,
            truncation=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        counts += (len(ids) for ids in encoded["input_ids"])
    return counts
