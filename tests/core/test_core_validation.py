"""Bad input fails with InvalidRequest before any provider is called."""

from __future__ import annotations

from typing import Any

import pytest
from core_testkit import Scripted, client_with

from aegis_llm.errors import InvalidRequest

pytestmark = pytest.mark.anyio

BAD_CHATS: list[tuple[Any, dict[str, Any]]] = [
    ([], {}),
    ([{"role": "wizard", "content": "hi"}], {}),
    ([{"role": "user", "content": 42}], {}),
    ([{"role": "user"}], {}),
    ([{"role": "user", "content": "hi", "mood": "x"}], {}),
    ("hi", {"temperature": 7}),
    ("hi", {"temperature": float("nan")}),
    ("hi", {"top_p": 1.5}),
    ("hi", {"max_tokens": 0}),
    ("hi", {"stop": [1]}),
    ("hi", {"response_format": "yaml"}),
    ("hi", {"bogus_option": 1}),
]


@pytest.mark.parametrize(("messages", "options"), BAD_CHATS)
async def test_bad_chat_never_reaches_a_provider(messages: Any, options: dict[str, Any]) -> None:
    provider = Scripted("alpha")
    async with client_with(provider, chain=["alpha"]) as llm:
        with pytest.raises(InvalidRequest):
            await llm.chat(messages, model="m", **options)
        with pytest.raises(InvalidRequest):
            async for _ in llm.stream_chat(messages, model="m", **options):
                pass
    assert provider.calls == []


async def test_chat_without_a_model_says_how_to_set_one() -> None:
    async with client_with(Scripted("alpha"), chain=["alpha"]) as llm:
        with pytest.raises(InvalidRequest, match="model"):
            await llm.chat("hi")


@pytest.mark.parametrize("texts", [[], [1, 2], [None], ["ok", b"bytes"]])
async def test_bad_embed_never_reaches_a_provider(texts: Any) -> None:
    provider = Scripted("alpha")
    async with client_with(provider, embed_chain=["alpha"]) as llm:
        with pytest.raises(InvalidRequest):
            await llm.embed(texts, model="m")
    assert provider.calls == []


async def test_empty_strings_are_valid_text_to_embed() -> None:
    async with client_with(Scripted("alpha"), embed_chain=["alpha"]) as llm:
        result = await llm.embed(["", "x"], model="m")
    assert len(result.vectors) == 2


async def test_the_message_lists_every_problem() -> None:
    async with client_with(Scripted("alpha"), chain=["alpha"]) as llm:
        with pytest.raises(InvalidRequest) as caught:
            await llm.chat("hi", model="m", temperature=9, top_p=-1)
    assert "temperature" in str(caught.value)
    assert "top_p" in str(caught.value)


async def test_a_bare_string_is_one_user_message() -> None:
    async with client_with(Scripted("alpha"), chain=["alpha"]) as llm:
        reply = await llm.chat("hi", model="m", stop="END")
    assert reply.content == "hello world"


def test_sampling_lists_only_the_options_that_were_set() -> None:
    from aegis_llm import ChatOptions

    assert ChatOptions().sampling() == {}
    chosen = ChatOptions(temperature=0.0, max_tokens=5, stop="END", extra={"top_k": 3})
    assert chosen.sampling() == {"temperature": 0.0, "max_tokens": 5, "stop": ["END"]}
