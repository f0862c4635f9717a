"""Token counts and timings from the three places these servers put them, in one unit.

OpenAI ``usage`` counts tokens; LM Studio's native ``stats`` are in seconds;
llama.cpp's ``timings`` in milliseconds. Malformed values are dropped, not
fatal: a reply whose text arrived intact should not fail over a bad counter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aegis_llm import FinishReason, Usage
from aegis_llm_lmstudio._values import amount, count

__all__ = ["USAGE_KEYS", "finish_reason", "usage_from"]

USAGE_KEYS = ("usage", "stats", "timings")
"""Top-level keys of an answer (or stream chunk) that carry usage."""

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def finish_reason(value: object) -> FinishReason | None:
    """The SDK's finish reason; a server's own words become ``"other"``."""
    if value is None:
        return None
    return _FINISH.get(value, "other") if isinstance(value, str) else "other"


def usage_from(payload: Mapping[str, Any]) -> Usage:
    """Usage from the ``usage`` / ``stats`` / ``timings`` keys of ``payload``."""
    found: dict[str, float | int] = {}
    usage = payload.get("usage")
    if isinstance(usage, dict):
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            _put(found, key, count(usage.get(key)))
    stats = payload.get("stats")
    if isinstance(stats, dict):
        _put(found, "tokens_per_second", amount(stats.get("tokens_per_second")))
        _put(found, "time_to_first_token_seconds", amount(stats.get("time_to_first_token")))
        _put(found, "completion_seconds", amount(stats.get("generation_time")))
    timings = payload.get("timings")
    if isinstance(timings, dict):
        _put(found, "prompt_seconds", amount(timings.get("prompt_ms"), 1000.0))
        _put(found, "completion_seconds", amount(timings.get("predicted_ms"), 1000.0))
        _put(found, "tokens_per_second", amount(timings.get("predicted_per_second")))
    return Usage.model_validate(found)


def _put(found: dict[str, float | int], key: str, value: float | int | None) -> None:
    if value is not None:
        found[key] = value
