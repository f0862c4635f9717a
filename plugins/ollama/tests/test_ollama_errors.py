"""Ollama's error answers that carry more than a message, and what the SDK makes of them."""

from __future__ import annotations

from contextlib import aclosing

import pytest
from ollama_testkit import answer, context

from aegis_llm import ChatRequest, Message
from aegis_llm.errors import AuthenticationError
from aegis_llm_ollama._chat import chat

pytestmark = pytest.mark.anyio

SIGNIN = "https://ollama.com/connect?name=host&key=c3NoLWVkMjU1MTk"
KEY = "sk-ollama-canary-7f3a9c"


def hello() -> ChatRequest:
    return ChatRequest(
        model="gpt-oss:120b-cloud", messages=(Message(role="user", content="hello"),)
    )


async def refusal(body: object, **settings: object) -> AuthenticationError:
    ctx = context(answer(body, status=401), **settings)
    async with aclosing(ctx):
        with pytest.raises(AuthenticationError) as caught:
            await chat(ctx, hello())
    return caught.value


async def test_a_401_hint_carries_the_sign_in_url() -> None:
    error = await refusal({"error": "unauthorized", "signin_url": SIGNIN})
    assert error.hint is not None
    assert error.hint.startswith(f"sign in at {SIGNIN} (`ollama signin`)")
    assert error.provider == "ollama"


@pytest.mark.parametrize("signin_url", [None, 42, "javascript:alert(1)", ""])
async def test_without_a_web_address_the_hint_names_the_command(signin_url: object) -> None:
    error = await refusal({"error": "unauthorized", "signin_url": signin_url})
    assert error.hint is not None
    assert error.hint.startswith("cloud models need `ollama signin`")
    assert "sign in at" not in error.hint


async def test_a_key_echoed_in_the_sign_in_url_is_masked_even_json_escaped() -> None:
    # Escaped character by character, the key is not in the answer's bytes:
    # only the decoded value shows it, and that is what the hint would quote.
    escaped = "".join(f"\\u{ord(c):04x}" for c in KEY)
    body = f'{{"error":"unauthorized","signin_url":"https://ollama.com/connect?k={escaped}"}}'
    assert KEY.encode() not in body.encode()
    error = await refusal(body.encode(), api_key=KEY)
    shown = f"{error} {error.hint} {error!r}"
    assert KEY not in shown
    assert "https://ollama.com/connect?k=[redacted]" in shown
