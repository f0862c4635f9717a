"""The checks behind the tools contract tests catch what they claim to."""

from __future__ import annotations

import pytest

from aegis_llm import ChatChunk, ChatResponse, ToolCall
from aegis_llm.testing._checks import (
    ContractViolation,
    check_tool_answer,
    check_tool_calls,
    check_tool_stream,
)

ME = "contract_x"
OFFERED = ("get_weather",)
CALL = ToolCall.from_wire(name="get_weather", arguments={"city": "Paris"}, id="c1")


def _reply(**fields: object) -> ChatResponse:
    return ChatResponse.model_validate({"content": "", "provider": ME, "model": "m", **fields})


def _chunk(**fields: object) -> ChatChunk:
    return ChatChunk.model_validate({"provider": ME, "model": "m", **fields})


def test_text_or_calls_with_the_right_finish_reason_pass() -> None:
    check_tool_answer(_reply(content="sunny", finish_reason="stop"), OFFERED, ME)
    check_tool_answer(_reply(tool_calls=(CALL,), finish_reason="tool_calls"), OFFERED, ME)
    check_tool_stream(
        [_chunk(content="a"), _chunk(done=True, tool_calls=(CALL,), finish_reason="tool_calls")],
        OFFERED,
        ME,
    )


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (_reply(), "neither text nor tool calls"),
        (_reply(tool_calls=(CALL,), finish_reason="stop"), "it must be 'tool_calls'"),
        (_reply(tool_calls=(CALL,)), "finish_reason=None"),
        (_reply(content="hi", finish_reason="tool_calls"), "carries no tool calls"),
        (_reply(content="hi", provider="lmstudio"), r"use ctx\.name"),
    ],
)
def test_a_bad_answer_is_a_violation(reply: ChatResponse, says: str) -> None:
    with pytest.raises(ContractViolation, match=says):
        check_tool_answer(reply, OFFERED, ME)


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (CALL.model_copy(update={"name": ""}), "no function name"),
        (CALL.model_copy(update={"name": "get_time"}), "names 'get_time'"),
        (CALL.model_copy(update={"arguments_json": {"city": "Paris"}}), "not the arguments as"),
    ],
)
def test_a_malformed_call_is_a_violation(call: ToolCall, says: str) -> None:
    with pytest.raises(ContractViolation, match=says):
        check_tool_calls([call], OFFERED, "here")


def test_calls_before_the_final_chunk_are_a_violation() -> None:
    early = [
        _chunk(content="a", tool_calls=(CALL,)),
        _chunk(done=True, tool_calls=(CALL,), finish_reason="tool_calls"),
    ]
    with pytest.raises(ContractViolation, match=r"stream chunks \[0\] of 2 carry tool_calls"):
        check_tool_stream(early, OFFERED, ME)


def test_a_final_chunk_with_calls_must_say_tool_calls() -> None:
    with pytest.raises(ContractViolation, match="it must be 'tool_calls'"):
        check_tool_stream(
            [_chunk(done=True, tool_calls=(CALL,), finish_reason="stop")], OFFERED, ME
        )
