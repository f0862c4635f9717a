"""Hypothesis strategies for aegis-llm requests, valid and invalid.

Text is biased towards what breaks clients in practice rather than spread evenly
over Unicode: multi-byte characters that a chunk boundary can cut, emoji built
from several code points, right-to-left runs and direction overrides, combining
marks, astral-plane letters, control characters, text that looks like a
stream's own framing, and texts long enough to cross buffer sizes.

Valid strategies produce what the core accepts; ``invalid_*`` ones produce
keyword arguments the core must reject with ``InvalidRequest`` before any
provider is asked.
"""

from __future__ import annotations

from typing import Any, Final

from hypothesis import strategies as st

from aegis_llm import ChatOptions, ChatRequest, EmbedRequest, Message

__all__ = [
    "SPECIMENS",
    "chat_options",
    "chat_requests",
    "embed_inputs",
    "embed_requests",
    "invalid_chat_options",
    "invalid_embed_arguments",
    "long_texts",
    "messages",
    "texts",
]

SPECIMENS: Final[tuple[str, ...]] = (
    "👩‍👩‍👧‍👦 family, 🇺🇦 flag, 👍🏽 thumbs, 🏳️‍🌈",
    "日本語のテキストと中文文本，한국어 텍스트。",  # noqa: RUF001 - fullwidth on purpose
    "مرحبا بالعالم — שלום עולם",
    "\u202eright-to-left override\u202c, \u200fRLM\u200e and \u2067isolate\u2069",
    "Z\u0337\u0322\u034e\u0308a\u0334\u0331\u034cl\u0336\u0329\u0313g\u0335\u0323\u0308o\u030b",
    "e\u0301 (decomposed) vs \u00e9 (composed), \ufb01 ligature",
    "tab\there\r\nCRLF, bell \x07, NUL \x00 and DEL \x7f",
    "𝕄𝕒𝕥𝕙 𝔽𝕣𝕒𝕜𝕥𝕦𝕣, 𓂀 hieroglyph, 🜁 alchemy",  # noqa: RUF001 - astral letters on purpose
    '{"json": "inside", "quote": "\\"", "brace": "}"}',
    "data: [DONE]\n\n",
    '{"done": true}\n',
    "\ufeffbyte order mark, \u00a0no-break space, \u2028line separator",
)
"""Hand-picked texts that exercise one known failure each (a list, so shrinking ends here)."""

_CHARACTERS = st.characters(codec="utf-8")


def long_texts(*, min_repeats: int = 50, max_repeats: int = 400) -> st.SearchStrategy[str]:
    """Specimens repeated into texts of a few to tens of kilobytes."""
    return st.builds(
        lambda text, times: text * times,
        st.sampled_from(SPECIMENS),
        st.integers(min_repeats, max_repeats),
    )


def texts(*, min_size: int = 0, max_size: int = 200) -> st.SearchStrategy[str]:
    """Arbitrary Unicode text (no lone surrogates: they cannot be encoded for the wire).

    ``max_size`` bounds the arbitrary part only; specimens and long texts may be longer.
    """
    mixed = st.lists(st.sampled_from(SPECIMENS), min_size=2, max_size=4).map(" ".join)
    return st.one_of(
        st.text(_CHARACTERS, min_size=min_size, max_size=max_size),
        st.sampled_from(SPECIMENS),
        mixed,
        long_texts(),
    )


@st.composite
def messages(draw: st.DrawFn, *, max_exchanges: int = 2) -> tuple[Message, ...]:
    """A conversation: an optional system turn, earlier exchanges, and a last user turn."""
    turns: list[Message] = []
    if draw(st.booleans()):
        turns.append(Message(role="system", content=draw(texts())))
    for _ in range(draw(st.integers(0, max_exchanges))):
        turns.append(Message(role="user", content=draw(texts())))
        turns.append(Message(role="assistant", content=draw(texts())))
    turns.append(Message(role="user", content=draw(texts())))
    return tuple(turns)


def chat_options() -> st.SearchStrategy[ChatOptions]:
    """Options inside their valid ranges, each left unset about half the time."""
    return st.builds(
        ChatOptions,
        temperature=st.none() | st.floats(0.0, 2.0),
        top_p=st.none() | st.floats(0.0, 1.0),
        max_tokens=st.none() | st.integers(1, 4096),
        seed=st.none() | st.integers(0, 2**31 - 1),
        stop=st.lists(st.text(_CHARACTERS, min_size=1, max_size=8), max_size=4).map(tuple),
        response_format=st.sampled_from([None, "json"]),
    )


def chat_requests(model: str) -> st.SearchStrategy[ChatRequest]:
    """Valid chat requests for ``model``."""
    return st.builds(ChatRequest, model=st.just(model), messages=messages(), options=chat_options())


_BELOW_ZERO = st.floats(max_value=-1e-6) | st.just(float("nan"))


def invalid_chat_options() -> st.SearchStrategy[dict[str, Any]]:
    """Option keywords with at least one value outside its valid range or type."""
    broken = st.one_of(
        st.fixed_dictionaries(
            {"temperature": _BELOW_ZERO | st.floats(min_value=2.000001) | st.just(float("inf"))}
        ),
        st.fixed_dictionaries({"top_p": _BELOW_ZERO | st.floats(min_value=1.000001)}),
        st.fixed_dictionaries({"max_tokens": st.integers(max_value=0)}),
        st.fixed_dictionaries({"stop": st.lists(st.integers(), min_size=1, max_size=3)}),
        st.fixed_dictionaries(
            {"response_format": st.text(max_size=10).filter(lambda value: value != "json")}
        ),
        st.fixed_dictionaries({"temperature_typo": st.floats(0.0, 2.0)}),
    )
    valid = st.fixed_dictionaries(
        {}, optional={"seed": st.integers(0, 100), "max_tokens": st.integers(1, 64)}
    )
    return st.tuples(valid, broken).map(lambda parts: {**parts[0], **parts[1]})


def embed_inputs(
    *, min_size: int = 1, max_size: int = 8, unique: bool = False
) -> st.SearchStrategy[list[str]]:
    """Embedding batches of varied size; ``unique`` makes input order observable."""
    return st.lists(texts(), min_size=min_size, max_size=max_size, unique=unique)


def embed_requests(model: str, *, max_size: int = 8) -> st.SearchStrategy[EmbedRequest]:
    """Valid embedding requests for ``model``."""
    return st.builds(
        EmbedRequest, model=st.just(model), inputs=embed_inputs(max_size=max_size).map(tuple)
    )


def invalid_embed_arguments() -> st.SearchStrategy[dict[str, Any]]:
    """Keywords for ``AsyncClient.embed`` that no provider may be asked with."""
    return st.one_of(
        st.fixed_dictionaries({"texts": st.just([])}),
        st.fixed_dictionaries(
            {"texts": st.lists(st.integers() | st.none(), min_size=1, max_size=3)}
        ),
        st.fixed_dictionaries(
            {"texts": embed_inputs(max_size=2), "dimensions": st.integers(max_value=0)}
        ),
    )
