"""One embed request as a series of short worker-thread steps.

Each step is one ``SentenceTransformer.encode`` call over a few batches, so a
cancelled call stops after the step in flight, and concurrent calls on one
model take turns step by step instead of waiting for a whole request. A step
starts as one batch and grows while batches are quick, to about
``_STEP_SECONDS`` of work: every ``encode`` call costs 2-3 ms of set-up
(moving the model to its device, switching it to eval mode), which one call
per batch of a small model pays dozens of times a request.

Inputs are ordered longest first, as sentence-transformers orders a single
call, so a step's batches are the ones one ``encode`` over every input would
make: same padding, same work. The texts are tokenized once, by the model:
the tokens each input used are read off the attention masks ``encode``
returns with its outputs, and only an input that filled the model's whole
window is tokenized again, untruncated, to tell whether it was cut.

Each step also turns its vectors into Python floats, a batch at a time.
``tolist`` holds the GIL for its whole run: about 11 ms for 1,000 vectors of
384 floats at once, a stall of the caller's event loop, against a tenth of a
millisecond for a batch of 32.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from aegis_llm.errors import AegisLLMError, InvalidRequest, ProviderError
from aegis_llm_st_cpu._registry import ResidentModel

__all__ = ["EncodeJob", "EncodeOptions", "EncodeResult"]

_COUNT_SLICE = 32
_STEP_SECONDS = 0.25
_MAX_BATCHES_PER_STEP = 16


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

    A request that fits in one batch costs a single thread hop.
    """

    def __init__(self, model: ResidentModel, texts: Sequence[str], options: EncodeOptions) -> None:
        self._model = model
        self._texts = texts
        self._options = options
        self._limit = _effective_limit(model.weights.max_seq_length, options.max_seq_length)
        # Python's sort is stable: equal lengths keep input order, whatever numpy would do.
        self._order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        self._next = 0
        self._batches_per_step = 1
        self._rows: list[list[float]] = [[]] * len(texts)  # placeholders, each step fills its own
        self._dimensions = 0
        self._normalized = True
        self._truncated: list[int] = []
        self._tokens = 0
        self.result: EncodeResult | None = None

    def step(self) -> None:
        """Encode the next few batches; a failure of the model itself is a ``ProviderError``.

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
        size = self._options.batch_size
        order = self._order[self._next : self._next + size * self._batches_per_step]
        with self._model.encode_lock:
            threads = self._options.torch_threads
            if threads and torch.get_num_threads() != threads:
                torch.set_num_threads(threads)  # a per-thread setting: apply it where torch runs
            st = self._model.weights.model
            st.max_seq_length = self._limit  # shared model: this call's limit, under the lock
            if self._next == 0 and not self._options.allow_truncation:
                self._refuse_over_long()
            started = time.perf_counter()
            outputs: list[dict[str, torch.Tensor]] = st.encode(  # type: ignore[assignment]
                [self._texts[i] for i in order],
                batch_size=size,
                output_value=None,  # every output: the attention masks count the tokens
                truncate_dim=self._options.truncate_dim,
                convert_to_numpy=False,
                show_progress_bar=False,
            )
            seconds_per_batch = (time.perf_counter() - started) / -(-len(order) // size)
            self._count(order, outputs)
        with torch.inference_mode():
            vectors = torch.stack([output["sentence_embedding"] for output in outputs])
            if self._options.normalize:
                vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        self._keep(order, vectors.numpy())
        self._next += len(order)
        self._batches_per_step = max(
            1, min(_MAX_BATCHES_PER_STEP, int(_STEP_SECONDS / max(seconds_per_batch, 1e-6)))
        )
        if self._next == len(self._texts):
            self.result = EncodeResult(
                vectors=self._rows,
                dimensions=self._dimensions,
                truncated=tuple(sorted(self._truncated)),
                tokens=self._tokens,
                normalized=self._normalized,
            )

    def _refuse_over_long(self) -> None:
        """With truncation off, every input is counted before any is encoded."""
        limit = self._limit
        if limit is None:
            return
        counts = _token_counts(self._model, self._texts)
        over = [i for i, count in enumerate(counts) if count > limit]
        if over:
            raise InvalidRequest(
                f"inputs {over} are longer than the model's limit of {limit} "
                "tokens and truncation is off",
                provider=self._options.provider,
                hint="shorten or split them, or allow truncation (truncate=True)",
            )

    def _count(self, order: list[int], outputs: list[dict[str, torch.Tensor]]) -> None:
        """Tokens the model saw per input, and which inputs it cut (under the encode lock).

        A model whose outputs carry no attention mask has its inputs counted
        by its tokenizer instead.
        """
        limit = self._limit
        masks = [output["attention_mask"] for output in outputs if "attention_mask" in output]
        if len(masks) < len(order):
            counts = _token_counts(self._model, [self._texts[i] for i in order])
        else:
            counts = [int(mask.sum()) for mask in masks]
            if limit is not None:
                # Only an input that filled the model's window can have been cut.
                filled = [n for n, count in enumerate(counts) if count >= limit]
                whole = _token_counts(self._model, [self._texts[order[n]] for n in filled])
                for n, count in zip(filled, whole, strict=True):
                    counts[n] = count
        for index, count in zip(order, counts, strict=True):
            if limit is not None and count > limit:
                self._truncated.append(index)
            self._tokens += count if limit is None else min(count, limit)

    def _keep(self, order: list[int], vectors: np.ndarray) -> None:
        """Store one step's vectors, as Python floats, at their inputs' places."""
        size = self._options.batch_size
        for start in range(0, len(order), size):
            rows = vectors[start : start + size].tolist()
            for index, row in zip(order[start : start + size], rows, strict=True):
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
