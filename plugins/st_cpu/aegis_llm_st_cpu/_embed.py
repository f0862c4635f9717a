"""The embed operation: every step that can block runs off the event loop.

A step waits in one of anyio's worker threads (so the per-client limiter and
cancellation work as for any blocking call) while the process's encoder
thread runs it, at a lower priority (``_encoder``).
"""

from __future__ import annotations

import time
from functools import partial

import anyio

from aegis_llm import Embeddings, EmbedRequest, ProviderContext, Usage
from aegis_llm.errors import InvalidRequest
from aegis_llm_st_cpu import _models
from aegis_llm_st_cpu._encoder import ENCODERS
from aegis_llm_st_cpu._registry import MODELS, ResidentModel
from aegis_llm_st_cpu._settings import StCpuSettings

__all__ = ["embed"]


async def embed(ctx: ProviderContext, request: EmbedRequest) -> Embeddings:
    """Embed ``request.inputs`` in order; empty strings are embedded like any text."""
    settings = ctx.settings_as(StCpuSettings)
    started = time.monotonic()
    model, load_seconds = await _models.acquire(ctx, request.model)
    _check_dimensions(ctx, model, request.dimensions)
    from aegis_llm_st_cpu import _encode  # imports torch, already loaded with the model

    options = _encode.EncodeOptions(
        batch_size=settings.batch_size,
        normalize=settings.normalize,
        max_seq_length=settings.max_seq_length,
        truncate_dim=request.dimensions,
        allow_truncation=request.truncate,
        torch_threads=settings.torch_threads,
        provider=ctx.name,
    )
    job = _encode.EncodeJob(model, request.inputs, options)
    step = partial(ENCODERS.run, job.step, nice=settings.encoder_nice)
    with MODELS.lease(model, settings.idle_unload_seconds):
        while job.result is None:
            await anyio.to_thread.run_sync(step, limiter=_models.limiter(ctx))
    result = job.result
    # Validating 1,000 x 384 floats would cost the caller's event loop about 5 ms and
    # check nothing new: the worker made them, one width, from 2-D float arrays.
    return Embeddings.model_construct(
        vectors=result.vectors,
        dimensions=result.dimensions,
        model=_models.served_name(ctx, request.model),
        provider=ctx.name,
        normalized=result.normalized,
        truncated=result.truncated,
        usage=Usage(
            prompt_tokens=result.tokens,
            total_tokens=result.tokens,
            load_seconds=load_seconds or None,
            total_seconds=time.monotonic() - started,
        ),
    )


def _check_dimensions(ctx: ProviderContext, model: ResidentModel, wanted: int | None) -> None:
    """Fewer dimensions keep a prefix of each vector (Matryoshka models); more cannot exist."""
    native = model.weights.dimensions
    if wanted is not None and native is not None and wanted > native:
        raise InvalidRequest(
            f"{model.name!r} makes {native}-dimensional vectors; {wanted} were asked for",
            provider=ctx.name,
            hint=f"ask for at most {native} dimensions, or leave dimensions unset",
        )
