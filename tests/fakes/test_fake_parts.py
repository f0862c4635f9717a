"""The fakes' building blocks on their own: request parsing, JSON templates, timestamps,
synthetic replies and embeddings, Ollama's keep_alive."""

from __future__ import annotations

import itertools
import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aegis_llm.testing.fakes._http import HTTPParseError, RequestParser
from aegis_llm.testing.fakes._ollama_inventory import keep_alive_ns
from aegis_llm.testing.fakes._synth import (
    VOCABULARY,
    ReplyScript,
    embedding,
    split_words,
    synthetic_tokens,
)
from aegis_llm.testing.fakes._wire import HOLE, Template, go_timestamp, json_bytes

REQUESTS = (
    b"POST /api/chat?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Twice: 1\r\nX-Twice: 2\r\n\r\n"
    b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;ext\r\nabc\r\n1\r\nd\r\n0\r\nT: 1\r\n\r\n"
)


@given(st.lists(st.integers(min_value=0, max_value=len(REQUESTS)), max_size=8))
def test_parser_gives_the_same_requests_however_bytes_arrive(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(REQUESTS)]
    parser = RequestParser()
    parsed = []
    for start, end in itertools.pairwise(bounds):
        parser.feed(REQUESTS[start:end])
        while (request := parser.next_request()) is not None:
            parsed.append(request)

    assert [(r.method, r.path, r.query, r.body) for r in parsed] == [
        ("POST", "/api/chat", "x=1", b"hello"),
        ("GET", "/", "", b""),
        ("POST", "/c", "", b"abcd"),
    ]
    assert parsed[1].headers["x-twice"] == "1, 2"
    assert parsed[0].headers["host"] == "a"


@pytest.mark.parametrize(
    "head",
    [
        b"GET /\r\n\r\n",
        b"GET / HTTP/2\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: many\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_parser_rejects_malformed_requests(head: bytes) -> None:
    parser = RequestParser()
    parser.feed(head)

    with pytest.raises(HTTPParseError):
        parser.next_request()


def test_parser_limits_the_head() -> None:
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 20_000)

    with pytest.raises(HTTPParseError) as caught:
        parser.next_request()
    assert caught.value.status == 431


@given(st.text(), st.integers())
def test_template_fills_like_encoding_the_whole_object(text: str, number: int) -> None:
    template = Template({"a": HOLE, "b": [1, {"c": HOLE}]}, prefix=b"data: ", suffix=b"\n\n")

    assert (
        template.fill(text, number)
        == b"data: " + json_bytes({"a": text, "b": [1, {"c": number}]}) + b"\n\n"
    )


def test_template_needs_a_value_per_hole() -> None:
    with pytest.raises(ValueError, match="zip"):
        Template({"a": HOLE}).fill()


def test_go_timestamp_trims_zeros_like_go() -> None:
    assert go_timestamp(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"
    assert go_timestamp(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", go_timestamp())


def test_json_is_compact_and_raw_utf8() -> None:
    assert json_bytes({"a": ["caf\u00e9", 1]}) == '{"a":["caf\u00e9",1]}'.encode()


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1))
def test_split_words_round_trips(text: str) -> None:
    assert "".join(split_words(text)) == text


def test_synthetic_tokens_are_deterministic_and_sized() -> None:
    first = synthetic_tokens("prompt", 50)

    assert first == synthetic_tokens("prompt", 50)
    assert first != synthetic_tokens("other prompt", 50)
    assert len(first) == 50
    assert all(token.strip().lower() in VOCABULARY for token in first)


def test_reply_script_sources_limits_and_json_mode() -> None:
    fixed = ReplyScript(["a", "b", "c"], tokens=0)
    derived = ReplyScript(lambda prompt: [prompt.upper()], tokens=0)

    assert fixed.reply("x", limit=None, json_mode=False) == (["a", "b", "c"], False)
    assert fixed.reply("x", limit=2, json_mode=False) == (["a", "b"], True)
    assert derived.reply("hi", limit=None, json_mode=False) == (["HI"], False)
    pieces, cut = ReplyScript("some text", tokens=0).reply("x", limit=None, json_mode=True)
    assert json.loads("".join(pieces)) == {"reply": "some text"}
    assert not cut


@given(st.text(), st.integers(min_value=1, max_value=64))
def test_embeddings_are_deterministic_unit_vectors(text: str, dimensions: int) -> None:
    vector = embedding(text, "model", dimensions)

    assert vector == embedding(text, "model", dimensions)
    assert len(vector) == dimensions
    assert math.sqrt(sum(v * v for v in vector)) == pytest.approx(1.0, abs=1e-5)


def test_embeddings_differ_by_model_and_keep_cuts_a_prefix() -> None:
    full = embedding("text", "model-a", 32)
    kept = embedding("text", "model-a", 32, keep=8)
    norm = math.sqrt(sum(v * v for v in full[:8]))

    assert full != embedding("text", "model-b", 32)
    assert kept == pytest.approx([v / norm for v in full[:8]], abs=1e-5)
    assert embedding("text", "model-a", 32, keep=64) == full, "keep beyond the size is ignored"


@pytest.mark.parametrize(
    ("value", "nanoseconds"),
    [
        (None, None),
        (0, 0),
        ("0", 0),
        (30, 30_000_000_000),
        ("5m", 300_000_000_000),
        ("1h30m", 5_400_000_000_000),
        ("1.5s", 1_500_000_000),
        (-1, -1_000_000_000),
        ("-1m", -60_000_000_000),
    ],
)
def test_keep_alive_reads_seconds_and_go_durations(value: object, nanoseconds: int | None) -> None:
    assert keep_alive_ns(value) == nanoseconds


@pytest.mark.parametrize("value", [True, [1], "5 minutes", "-1"])
def test_keep_alive_rejects_other_values(value: object) -> None:
    with pytest.raises((TypeError, ValueError), match="invalid duration"):
        keep_alive_ns(value)
