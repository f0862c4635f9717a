"""The embedding-space guard: never hand back vectors from a different space than before.

Chat answers from two providers are interchangeable; embeddings are not. A
RAG index filled by one model and queried with another returns nonsense
without any error, so failing over for embeddings is allowed only between
members the user declared to serve the same model, and the vectors' dimension
is checked at run time as the last line of defence.

The rules:

* An embed chain of one provider needs nothing.
* An embed chain of two or more providers needs its model to be an alias that
  names a model id for **every** member (``[aliases.bge-m3] ollama = "bge-m3",
  lmstudio = "text-embedding-bge-m3"``). A plain model id is refused, because
  the same string may mean different weights (or none) on another server. The
  configured chain is checked when the client is built (``ConfigurationError``),
  a per-call chain before any I/O (``EmbeddingSpaceMismatch``).
* The first vectors a client receives for a model (and requested dimension)
  fix its dimension; a later answer of another dimension, from whichever
  provider, raises ``EmbeddingSpaceMismatch`` instead of being returned. The
  check holds for the lifetime of one client.
"""

from __future__ import annotations

from collections.abc import Sequence

from aegis_llm._resilience._aliases import AliasTable
from aegis_llm._results import Embeddings
from aegis_llm.errors import AegisLLMError, ConfigurationError, EmbeddingSpaceMismatch

__all__ = ["EmbeddingSpaceGuard"]


class EmbeddingSpaceGuard:
    def __init__(self, aliases: AliasTable) -> None:
        self._aliases = aliases
        self._spaces: dict[tuple[str, int | None], tuple[int, str]] = {}

    def check_settings(self, model: str | None, chain: Sequence[str]) -> None:
        """Refuse a configured embed chain that could mix models (at client build)."""
        if model is not None:
            self._check(model, chain, ConfigurationError)

    def check_call(self, model: str, chain: Sequence[str]) -> None:
        """Refuse one call whose chain could mix models, before anything is sent."""
        self._check(model, chain, EmbeddingSpaceMismatch)

    def admit(self, model: str, dimensions: int | None, result: Embeddings) -> None:
        """Let ``result`` through only if it lies in the space this client already uses."""
        if dimensions is not None and result.dimensions != dimensions:
            raise EmbeddingSpaceMismatch(
                f"asked for {dimensions}-dimensional vectors of {model!r}, got {result.dimensions}",
                provider=result.provider,
                hint="the provider ignored `dimensions`; drop it or use a model that supports it",
            )
        key = (model, dimensions)
        seen = self._spaces.get(key)
        if seen is None:
            self._spaces[key] = (result.dimensions, result.provider)
            return
        known, first = seen
        if result.dimensions != known:
            raise EmbeddingSpaceMismatch(
                f"{result.provider} returned {result.dimensions}-dimensional vectors for "
                f"{model!r}, but {first} returned {known}-dimensional ones earlier; the two "
                "do not serve the same model",
                provider=result.provider,
                hint=f"fix the alias {model!r} so every provider maps to the same model, "
                "or remove the odd one from the embed chain",
            )

    def _check(self, model: str, chain: Sequence[str], error: type[AegisLLMError]) -> None:
        missing = self._aliases.unmapped(model, chain) if len(chain) > 1 else []
        if not missing:
            return
        example = ", ".join(f'{name} = "<its id for {model}>"' for name in missing)
        raise error(
            f"the embed chain {','.join(chain)} could mix vectors of different models: "
            f"{model!r} is not an alias naming the model of {', '.join(missing)}",
            hint=f'declare which model each provider serves: [aliases."{model}"] {example} '
            "(or AEGIS_LLM_ALIASES as JSON), or use a single-provider embed chain",
        )
