"""The stream decoders and error parsers every HTTP plugin relies on."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aegis_llm.errors import ProtocolError
from aegis_llm.http import (
    NDJSONDecoder,
    SSEDecoder,
    SSEEvent,
    parse_error_body,
    parse_json,
    parse_retry_after,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


# What servers send beyond orjson's reach: NaN and infinities, integers past 64 bits,
# lone surrogates escaped in strings (the standard library reads them all).
stdlib_only_values = st.recursive(
    st.floats() | st.integers(min_value=2**64) | st.text(alphabet=st.characters(codec=None)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@given(json_values | stdlib_only_values)
@example(float("nan"))
@example("\ud800")
def test_parse_json_reads_what_the_standard_library_reads(value: Any) -> None:
    """orjson parses first; whatever it refuses the standard library must still read."""
    text = json.dumps(value)
    for data in (text, text.encode()):
        parsed = parse_json(data)
        assert json.dumps(parsed) == text


@given(st.binary(max_size=64))
@example(b'{"a": 1')
@example(b"\xff")
def test_parse_json_fails_only_with_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        assert parse_json(data, what="x") == json.loads(data.decode("utf-8"))


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def run_ndjson(parts: list[bytes]) -> list[Any]:
    decoder = NDJSONDecoder(max_line_bytes=1 << 20)
    out = [value for part in parts for value in decoder.feed(part)]
    return out + decoder.close()


@given(st.lists(json_values, max_size=6), st.lists(st.integers(0, 10_000), max_size=8))
def test_ndjson_any_split_gives_the_same_values(values: list[Any], cuts: list[int]) -> None:
    data = b"".join(json.dumps(v, ensure_ascii=False).encode() + b"\n" for v in values)
    assert run_ndjson(split_at(data, cuts)) == values


def test_ndjson_multibyte_character_split_across_chunks() -> None:
    data = json.dumps({"content": "é🙂"}, ensure_ascii=False).encode() + b"\n"
    cut = data.index("🙂".encode()) + 2
    assert run_ndjson([data[:cut], data[cut:]]) == [{"content": "é🙂"}]


def test_ndjson_last_line_without_newline_is_decoded() -> None:
    assert run_ndjson([b'{"a":1}\n{"b":2}']) == [{"a": 1}, {"b": 2}]


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=4))
def test_ndjson_arbitrary_bytes_give_values_or_protocol_error(data: bytes, cuts: list[int]) -> None:
    with contextlib.suppress(ProtocolError):
        run_ndjson(split_at(data, cuts))


def test_ndjson_line_limit() -> None:
    decoder = NDJSONDecoder(max_line_bytes=10)
    with pytest.raises(ProtocolError, match="exceeded 10 bytes"):
        list(decoder.feed(b'{"a": "' + b"x" * 20))


def run_sse(parts: list[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder(max_line_bytes=1 << 20)
    out = [event for part in parts for event in decoder.feed(part)]
    return out + decoder.close()


sse_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"))


@given(
    st.lists(sse_text, min_size=1, max_size=5),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_sse_any_split_and_line_ending(payloads: list[str], eol: bytes, cuts: list[int]) -> None:
    body = b"".join(b": ping" + eol + b"data: " + p.encode() + eol + eol for p in payloads)
    assert [e.data for e in run_sse(split_at(body, cuts))] == payloads


sse_line = st.sampled_from(
    [b"data: ", b"data:", b"data:  ", b"id: 4", b": ping", b"event: delta", b"error: {}", b""]
)


@given(st.lists(st.tuples(sse_line, sse_text), min_size=1, max_size=12))
@example([(b"id: 4", ""), (b"", ""), (b"data: ", "x"), (b"", "")])  # the id outlives its event
@example([(b"event: delta", ""), (b"data: ", "x"), (b"", ""), (b"data: ", "y"), (b"", "")])
def test_sse_pieces_of_one_event_each_decode_as_bytes_one_by_one(
    lines: list[tuple[bytes, str]],
) -> None:
    """Whole-event pieces (the decoder's fast path) give what byte-by-byte feeding gives."""
    events: list[bytes] = []
    for field, value in lines:
        events.append(field + value.encode() + b"\n" if field else b"\n")
    events.append(b"\n")
    body = b"".join(events)
    *whole, rest = body.split(b"\n\n")
    pieces = [piece + b"\n\n" for piece in whole] + [rest]
    assert b"".join(pieces) == body
    one_by_one = [body[i : i + 1] for i in range(len(body))]
    assert run_sse(pieces) == run_sse(one_by_one)


@given(st.lists(st.tuples(sse_line, sse_text, st.booleans()), min_size=1, max_size=12))
@example([(b"data: ", "a", True), (b"data: ", "b", False), (b"", "", True)])  # data pending
@example([(b"event: delta", "", True), (b"data: ", "x", False), (b"", "", True)])
def test_sse_pieces_cut_between_lines_decode_as_bytes_one_by_one(
    lines: list[tuple[bytes, str, bool]],
) -> None:
    """A piece that looks like a whole event after one that left a field pending is not one."""
    pieces: list[bytes] = []
    current = b""
    for field, value, cut in lines:
        current += (field + value.encode() if field else b"") + b"\n"
        if cut:
            pieces.append(current)
            current = b""
    pieces.append(current + b"\n")
    body = b"".join(pieces)
    assert run_sse(pieces) == run_sse([body[i : i + 1] for i in range(len(body))])


@given(st.lists(json_values, min_size=1, max_size=6))
def test_ndjson_one_line_per_piece_decodes_as_bytes_one_by_one(values: list[Any]) -> None:
    lines = [json.dumps(value).encode() + b"\n" for value in values]
    body = b"".join(lines)
    whole_lines = NDJSONDecoder()
    per_line = [v for line in lines for v in whole_lines.feed(line)]
    bytewise = NDJSONDecoder()
    per_byte = [v for i in range(len(body)) for v in bytewise.feed(body[i : i + 1])]
    assert per_line == per_byte == values


def test_one_whole_line_over_the_limit_is_refused_too() -> None:
    with pytest.raises(ProtocolError, match="exceeded 10 bytes"):
        list(NDJSONDecoder(max_line_bytes=10).feed(b'{"a": "' + b"x" * 20 + b'"}\n'))
    with pytest.raises(ProtocolError, match="exceeded 10 bytes"):
        SSEDecoder(max_line_bytes=10).feed(b"data: " + b"x" * 20 + b"\n\n")


def test_sse_fields_multiline_data_and_llamacpp_error() -> None:
    body = (
        b"event: message.delta\nid: 7\ndata: one\ndata: two\n\n"
        b'error: {"code":500,"message":"boom","type":"server_error"}\n\n'
        b"data: [DONE]\n\n"
    )
    events = run_sse([body])
    assert events[0] == SSEEvent(data="one\ntwo", event="message.delta", id="7")
    assert events[1].error is not None
    assert json.loads(events[1].error)["message"] == "boom"
    assert events[2].data == "[DONE]"


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=4))
def test_sse_arbitrary_bytes_give_events_or_protocol_error(data: bytes, cuts: list[int]) -> None:
    with contextlib.suppress(ProtocolError):
        run_sse(split_at(data, cuts))


@pytest.mark.parametrize(
    ("body", "message", "kind", "code"),
    [
        (
            b'{"error":"model \\"x\\" not found, try pulling it first"}',
            'model "x" not found, try pulling it first',
            None,
            None,
        ),
        (
            b'{"error":{"message":"No models loaded.","type":"invalid_request_error",'
            b'"param":"model","code":null}}',
            "No models loaded.",
            "invalid_request_error",
            None,
        ),
        (
            b'{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}',
            "Loading model",
            "unavailable_error",
            "503",
        ),
        (
            b'{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError",'
            b'"param":null,"code":404}',
            "The model `x` does not exist.",
            "NotFoundError",
            "404",
        ),
        (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>", None, None),
        (b"", "(empty body)", None, None),
    ],
)
def test_every_known_error_shape(
    body: bytes, message: str, kind: str | None, code: str | None
) -> None:
    parsed = parse_error_body(body)
    assert (parsed.message, parsed.type, parsed.code) == (message, kind, code)


@pytest.mark.parametrize(
    ("body", "extra"),
    [
        (
            b'{"error":"unauthorized","signin_url":"https://ollama.com/connect?name=h"}',
            {"signin_url": "https://ollama.com/connect?name=h"},
        ),
        (b'{"error":{"message":"m","type":"t"},"request_id":"r1"}', {"request_id": "r1"}),
        (
            b'{"object":"error","message":"gone","type":"NotFoundError","param":null,"code":404}',
            {"object": "error", "param": None},
        ),
        (b'{"error":"plain"}', {}),
        (b"<html>Bad Gateway</html>", {}),
    ],
)
def test_the_other_top_level_keys_are_kept(body: bytes, extra: dict[str, object]) -> None:
    assert parse_error_body(body).extra == extra


def test_redacted_masks_the_message_and_every_string_in_extra() -> None:
    body = parse_error_body(
        b'{"error":"key sk-1 refused","signin_url":"https://x/?k=sk-1",'
        b'"nested":{"list":["sk-1",3,null]},"count":7}'
    )
    clean = body.redacted(lambda text: text.replace("sk-1", "[redacted]"))
    assert clean.message == "key [redacted] refused"
    assert clean.extra == {
        "signin_url": "https://x/?k=[redacted]",
        "nested": {"list": ["[redacted]", 3, None]},
        "count": 7,
    }
    assert "sk-1" in str(body.extra)  # a copy: the parsed body itself is unchanged


@given(st.binary(max_size=200))
def test_error_bodies_never_raise(body: bytes) -> None:
    assert isinstance(parse_error_body(body).message, str)


def test_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert (
        parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0)
        == 10.0
    )
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
