"""Deterministic stand-ins for model output: reply tokens, token counts, embeddings, digests.

Everything is a pure function of its input, so a test can compute what a fake will answer
and a failing run can be replayed. Replies include a few non-ASCII words on purpose: a
client that splits a stream inside a multi-byte character should fail here, not in use.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import operator
import sys
from array import array
from collections.abc import Callable, Sequence
from typing import Final

from ._wire import RawJSON, json_bytes

ReplySource = str | Sequence[str] | Callable[[str], Sequence[str]] | None
"""What a fake says: fixed text (split into words), fixed tokens, a function of the prompt,
or None for words chosen from a small vocabulary by a hash of the prompt."""

VOCABULARY: Final = (
    "local", "model", "answer", "context", "retrieval", "vector", "token", "stream",
    "server", "prompt", "document", "café", "naïve", "日本", "über", "reply",
)  # fmt: skip


def split_words(text: str) -> list[str]:
    """Split text into word tokens that keep their leading space, so joining restores it."""
    words = text.split(" ")
    tokens = [words[0], *(" " + word for word in words[1:])]
    return [token for token in tokens if token]


def count_tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: whitespace-separated words, at least one."""
    return max(1, len(text.split()))


def synthetic_tokens(prompt: str, count: int) -> list[str]:
    """`count` words picked from `VOCABULARY` by a hash of the prompt."""
    if count <= 0:
        return []
    seed = hashlib.blake2b(prompt.encode(), digest_size=16).digest()
    stream = hashlib.shake_256(seed).digest(count)
    words = [VOCABULARY[byte % len(VOCABULARY)] for byte in stream]
    words[0] = words[0].capitalize()
    return [words[0], *(" " + word for word in words[1:])]


class ReplyScript:
    """Turns a prompt into the tokens a fake streams back, honouring a token limit.

    `tokens` is the reply length used when `source` is None (a benchmark sets 500).
    """

    def __init__(self, source: ReplySource, tokens: int) -> None:
        self._source = source
        self._tokens = tokens

    def reply(self, prompt: str, *, limit: int | None, json_mode: bool) -> tuple[list[str], bool]:
        """The tokens for `prompt`, and whether `limit` cut them short.

        In `json_mode` the reply is one JSON object (`{"reply": text}`) streamed in pieces,
        so a client asking for JSON output gets JSON unless it also limits the length.
        """
        tokens = self._tokens_for(prompt)
        if json_mode:
            text = json.dumps({"reply": "".join(tokens)}, ensure_ascii=False)
            tokens = [text[i : i + 8] for i in range(0, len(text), 8)]
        if limit is not None and 0 <= limit < len(tokens):
            return tokens[:limit], True
        return tokens, False

    def _tokens_for(self, prompt: str) -> list[str]:
        source = self._source
        if source is None:
            return synthetic_tokens(prompt, self._tokens)
        if isinstance(source, str):
            return split_words(source)
        if callable(source):
            return list(source(prompt))
        return list(source)


def embedding(
    text: str, model: str, dimensions: int, *, normalise: bool = True, keep: int | None = None
) -> list[float]:
    """A vector derived from a hash of (model, text): same input, same vector.

    Different models give unrelated vectors, as real ones do. Unnormalised vectors keep a
    hash-derived length between 5 and 25, like raw model output. `keep` cuts the vector to
    its first `keep` values and re-normalises, as servers do for a `dimensions` request.
    Values are rounded to about float32 precision so bodies have realistic sizes.
    """
    if keep is not None and 0 < keep < dimensions:
        dimensions = keep
    if dimensions <= 0:
        return []
    seed = hashlib.blake2b(f"{model}\0{text}".encode(), digest_size=16).digest()
    raw = array("h", hashlib.shake_256(seed).digest(2 * dimensions))
    if sys.byteorder == "big":
        raw.byteswap()
    norm = math.sqrt(sum(map(operator.mul, raw, raw))) or 1.0
    scale = 1.0 / norm if normalise else (5.0 + seed[0] / 12.75) / norm
    return [round(value * scale, 7) for value in raw]


@functools.lru_cache(maxsize=1024)
def embedding_json(
    text: str, model: str, dimensions: int, *, normalise: bool = True, keep: int | None = None
) -> RawJSON:
    """`embedding(...)` encoded as a JSON array, cached: a benchmark embeds the same texts
    over and over, and float formatting would otherwise dominate the server's time."""
    return RawJSON(json_bytes(embedding(text, model, dimensions, normalise=normalise, keep=keep)))


@functools.lru_cache(maxsize=1024)
def embedding_base64(text: str, model: str, dimensions: int, *, keep: int | None = None) -> str:
    """`embedding(...)` as little-endian float32, base64 encoded (OpenAI's `base64` format)."""
    packed = array("f", embedding(text, model, dimensions, keep=keep))
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()


def sha256_hex(text: str) -> str:
    """A stable fake digest for a name."""
    return hashlib.sha256(text.encode()).hexdigest()
