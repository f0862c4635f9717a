"""Whatever a caller passes, the SDK answers or raises ``InvalidRequest`` before any I/O.

The strategies here are deliberately not the contract suite's well-formed
ones: they throw everything Python can hold at the front door (wrong types,
NaN, huge numbers, unknown keys, nested junk), because a RAG pipeline feeds
the SDK whatever its loaders produced.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_kit import Counting, client_with

from aegis_llm.errors import InvalidRequest

pytestmark = pytest.mark.anyio

EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.sampled_from([object(), math.pi, 1j, (), frozenset(), Ellipsis]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3)
    ),
    max_leaves=6,
)
roles = st.sampled_from(["system", "user", "assistant", "tool", "wizard", "", "USER"])
message_keys = st.sampled_from(["role", "content", "name", "images", "tool_call_id", "mood"])
message_like = st.one_of(
    st.fixed_dictionaries({"role": roles, "content": st.text(max_size=20) | values}),
    st.dictionaries(message_keys, values | roles, max_size=4),
    values,
)
messages = st.one_of(
    st.text(max_size=20),
    st.lists(message_like, max_size=3),
    st.tuples(message_like),
    st.lists(values, max_size=2),
    values,
)
option_names = st.sampled_from(
    ["temperature", "top_p", "max_tokens", "seed", "stop", "response_format", "extra", "bogus"]
)
options = st.dictionaries(option_names, values, max_size=3)
models = st.one_of(st.none(), st.text(max_size=10), values)


@given(messages=messages, model=models, options=options, stream=st.booleans())
@EXAMPLES
async def test_any_chat_is_answered_or_rejected_before_any_provider(
    messages: Any, model: Any, options: dict[str, Any], stream: bool
) -> None:
    provider = Counting()
    async with client_with(provider, "counting") as llm:
        try:
            if stream:
                await llm.stream_chat(messages, model=model, **options).collect()
            else:
                await llm.chat(messages, model=model, **options)
        except InvalidRequest:
            assert provider.calls == 0
        else:
            assert provider.calls == 1


@given(
    texts=st.one_of(st.text(max_size=10), st.lists(st.text(max_size=10) | values), values),
    model=models,
    dimensions=values,
    truncate=values,
    extra=st.dictionaries(st.text(max_size=8), values, max_size=3) | values,
)
@EXAMPLES
async def test_any_embed_is_answered_or_rejected_before_any_provider(
    texts: Any, model: Any, dimensions: Any, truncate: Any, extra: Any
) -> None:
    provider = Counting()
    async with client_with(provider, "counting") as llm:
        try:
            await llm.embed(
                texts, model=model, dimensions=dimensions, truncate=truncate, extra=extra
            )
        except InvalidRequest:
            assert provider.calls == 0
        else:
            assert provider.calls == 1


@pytest.mark.parametrize("messages", [None, 42, True, object()], ids=["none", "int", "bool", "obj"])
async def test_messages_that_are_not_a_list_are_invalid_requests(messages: Any) -> None:
    provider = Counting()
    async with client_with(provider, "counting") as llm:
        with pytest.raises(InvalidRequest):
            await llm.chat(messages, model="m")
    assert provider.calls == 0


@pytest.mark.parametrize("extra", [42, ["a"], "text"], ids=["int", "list", "str"])
async def test_an_embed_extra_that_is_not_a_mapping_is_an_invalid_request(extra: Any) -> None:
    provider = Counting()
    async with client_with(provider, "counting") as llm:
        with pytest.raises(InvalidRequest):
            await llm.embed("x", model="m", extra=extra)
    assert provider.calls == 0
