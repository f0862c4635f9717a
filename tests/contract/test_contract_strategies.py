"""The public strategies keep their promise: valid requests, and keywords the core rejects."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from aegis_llm import ChatOptions, ChatRequest, EmbedRequest, Message
from aegis_llm._requests import validate_request
from aegis_llm.errors import InvalidRequest
from aegis_llm.testing import strategies


@given(strategies.messages())
def test_conversations_alternate_and_end_with_a_user_turn(
    conversation: tuple[Message, ...],
) -> None:
    turns = conversation[1:] if conversation[0].role == "system" else conversation
    assert [m.role for m in turns] == ["user", "assistant"] * (len(turns) // 2) + ["user"]


@given(strategies.texts())
def test_texts_can_travel_as_utf8(text: str) -> None:
    assert text.encode("utf-8").decode("utf-8") == text


@given(strategies.chat_requests("m"), strategies.embed_requests("e"))
def test_valid_requests_survive_a_round_trip(chat: ChatRequest, embed: EmbedRequest) -> None:
    assert ChatRequest.model_validate(chat.model_dump()) == chat
    assert EmbedRequest.model_validate(embed.model_dump()) == embed


@given(strategies.invalid_chat_options())
def test_invalid_chat_options_are_rejected(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        validate_request(ChatOptions, **options)


@given(strategies.invalid_embed_arguments())
def test_invalid_embed_arguments_are_rejected(arguments: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequest):
        validate_request(
            EmbedRequest,
            model="e",
            inputs=arguments["texts"],
            dimensions=arguments.get("dimensions"),
        )


@given(strategies.embed_inputs(min_size=2, unique=True))
def test_unique_inputs_make_order_observable(inputs: list[str]) -> None:
    assert len(set(inputs)) == len(inputs) >= 2


def test_specimens_cover_what_breaks_clients() -> None:
    joined = "".join(strategies.SPECIMENS)
    assert "\u200d" in joined, "a zero-width joiner (emoji sequences)"
    assert "\u202e" in joined, "a right-to-left override"
    assert "\u0301" in joined, "a combining mark"
    assert any(ord(c) > 0xFFFF for c in joined), "an astral-plane character"
    assert "data: [DONE]" in joined, "a stream terminator inside content"
