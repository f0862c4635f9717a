"""Ollama's error answers that need more than the status: sign-in URLs, missing capabilities."""

from __future__ import annotations

from contextlib import aclosing

import pytest
from ollama_testkit import answer, context

from aegis_llm import ChatRequest, Message
from aegis_llm.errors import AuthenticationError, InvalidRequest, Unsupported
from aegis_llm.http import ErrorBody
from aegis_llm_ollama._chat import chat
from aegis_llm_ollama._errors import classify

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


@pytest.mark.parametrize(
    ("message", "capability", "name"),
    [
        ('"nomic-embed-text" does not support chat', "chat", "nomic-embed-text"),
        ('"nomic-embed-text" does not support generate', "generate", "nomic-embed-text"),
        ("registry.ollama.ai/library/gemma:2b does not support tools", "tools", "gemma:2b"),
        ('"llama3.2" does not support thinking', "thinking", "llama3.2"),
        ('"llama3.2" does not support embedding', "embedding", "llama3.2"),
    ],
)
def test_a_model_lacking_a_capability_is_unsupported(
    message: str, capability: str, name: str
) -> None:
    error = classify(400, ErrorBody(message), {})
    assert isinstance(error, Unsupported)
    assert message in str(error)
    assert error.hint is not None
    assert f"cannot {capability}: pick another model or provider" in error.hint
    assert name in error.hint


@pytest.mark.parametrize(
    "message",
    [
        "raw mode does not support template, system, or context",
        "invalid options: top_k",
        '"llama3.2" does not support chat templates here',
    ],
)
def test_other_400s_stay_invalid_requests(message: str) -> None:
    assert isinstance(classify(400, ErrorBody(message), {}), InvalidRequest)
