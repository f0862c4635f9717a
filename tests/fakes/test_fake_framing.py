"""Byte-level checks of the fakes' HTTP/1.1: framing, keep-alive, request bodies, and the
one-chunk-per-line/event streaming that real Ollama and OpenAI-style servers do."""

from __future__ import annotations

import json
from collections.abc import Callable

from rawhttp import RawClient, request_bytes

from aegis_llm.testing.fakes import FakeServer, Request, Response, StreamResponse
from aegis_llm.testing.fakes.ollama import FakeOllama
from aegis_llm.testing.fakes.openai import FakeOpenAI

Connect = Callable[[FakeServer], RawClient]

CHAT = json.dumps({"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]})


def test_plain_answer_has_content_length_and_exact_body(
    fake_ollama: FakeOllama, raw: Connect
) -> None:
    response = raw(fake_ollama).request("GET", "/")

    assert response.status == 200
    assert response.body == b"Ollama is running"
    assert response.headers["content-length"] == "17"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "transfer-encoding" not in response.headers


def test_head_sends_the_length_but_no_body(fake_ollama: FakeOllama, raw: Connect) -> None:
    client = raw(fake_ollama)
    head = client.request("HEAD", "/")
    after = client.request("GET", "/api/version")

    assert head.headers["content-length"] == "17"
    assert json.loads(after.body) == {"version": "0.12.6"}, "no stray body bytes after a HEAD"


def test_ollama_frames_json_like_go_below_and_above_two_kib(
    fake_ollama: FakeOllama, raw: Connect
) -> None:
    client = raw(fake_ollama)
    small = client.request("GET", "/api/version")
    embed = json.dumps({"model": "nomic-embed-text", "input": "a"}).encode()
    large = client.request("POST", "/api/embed", embed)

    assert "content-length" in small.headers
    assert large.chunked, "Go's net/http switches to chunked above 2 KiB"
    assert len(large.chunks) == 1, "gin writes the whole JSON in one Write"
    assert len(json.loads(large.body)["embeddings"][0]) == 768


def test_ollama_stream_is_one_ndjson_line_per_chunk(fake_ollama: FakeOllama, raw: Connect) -> None:
    response = raw(fake_ollama).request("POST", "/api/chat", CHAT.encode())

    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.chunked
    assert all(chunk.endswith(b"\n") and chunk.count(b"\n") == 1 for chunk in response.chunks)
    objects = [json.loads(chunk) for chunk in response.chunks]
    assert [item["done"] for item in objects] == [False] * 8 + [True]
    assert objects[-1]["done_reason"] == "stop"
    assert objects[-1]["eval_count"] == 8


def test_ollama_stream_sends_raw_utf8(make_ollama: Callable[..., FakeOllama], raw: Connect) -> None:
    server = make_ollama(reply=["caf\u00e9", " \u65e5\u672c"])
    response = raw(server).request("POST", "/api/chat", CHAT.encode())

    assert "caf\u00e9".encode() in response.chunks[0], "not ASCII-escaped, as Go writes it"


def test_sse_stream_is_one_event_per_chunk_and_ends_with_done(
    make_openai: Callable[..., FakeOpenAI], raw: Connect
) -> None:
    server = make_openai("lmstudio", reply_tokens=3)
    body = {
        "model": "llama-3.2-3b-instruct",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    response = raw(server).request("POST", "/v1/chat/completions", json.dumps(body).encode())

    assert response.headers["content-type"] == "text/event-stream"
    assert response.chunks[-1] == b"data: [DONE]\n\n"
    events = [json.loads(chunk.removeprefix(b"data: ")) for chunk in response.chunks[:-1]]
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") for chunk in response.chunks)
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [event["choices"][0]["finish_reason"] for event in events[1:-1]] == [None] * 3 + ["stop"]
    assert events[-1]["choices"] == []
    assert events[-1]["usage"]["completion_tokens"] == 3
    assert all(event["usage"] is None for event in events[:-1])


def test_ping_comments_come_as_their_own_chunks(
    make_openai: Callable[..., FakeOpenAI], raw: Connect
) -> None:
    server = make_openai("llamacpp", reply_tokens=5, ping_every=2)
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    response = raw(server).request("POST", "/v1/chat/completions", json.dumps(body).encode())

    assert response.chunks.count(b": ping\n\n") == 2


def test_keep_alive_serves_many_requests_on_one_connection(
    fake_ollama: FakeOllama, raw: Connect
) -> None:
    client = raw(fake_ollama)
    statuses = [client.request("GET", "/api/tags").status for _ in range(3)]
    client.request("POST", "/api/chat", CHAT.encode())

    assert statuses == [200, 200, 200]
    assert fake_ollama.stats.connections_accepted == 1
    assert fake_ollama.stats.requests_received == 4


def test_pipelined_requests_are_answered_in_order(fake_ollama: FakeOllama, raw: Connect) -> None:
    client = raw(fake_ollama)
    client.send(request_bytes("GET", "/api/version") + request_bytes("GET", "/"))

    first, second = client.read_response(), client.read_response()

    assert json.loads(first.body) == {"version": "0.12.6"}
    assert second.body == b"Ollama is running"


def test_chunked_request_bodies_are_read(fake_ollama: FakeOllama, raw: Connect) -> None:
    client = raw(fake_ollama)
    payload = json.dumps({"model": "llama3.2", "messages": [], "stream": False}).encode()
    framed = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:5], payload[5:]))
    head = "POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    client.send(head.encode() + framed + b"0\r\n\r\n")

    response = client.read_response()

    assert json.loads(response.body)["done_reason"] == "load"


def test_request_split_into_single_bytes_is_reassembled(
    fake_ollama: FakeOllama, raw: Connect
) -> None:
    client = raw(fake_ollama)
    for byte in request_bytes("GET", "/api/version"):
        client.send(bytes([byte]))

    assert json.loads(client.read_response().body) == {"version": "0.12.6"}


def test_expect_continue_gets_an_interim_answer(fake_ollama: FakeOllama, raw: Connect) -> None:
    client = raw(fake_ollama)
    client.send(
        b"POST /api/show HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 22\r\n\r\n"
    )
    interim = client.read_response(head_only=True)
    client.send(b'{"model": "llama3.2"} ')

    assert interim.status == 100
    assert client.read_response().status == 200


def test_connection_close_is_honoured(fake_ollama: FakeOllama, raw: Connect) -> None:
    client = raw(fake_ollama)
    response = client.request("GET", "/", headers={"Connection": "close"})

    assert response.headers["connection"] == "close"
    assert client.read_available() == b""
    fake_ollama.stats.wait_until(lambda stats: stats.open_connections == 0)


def test_garbage_gets_400_and_a_closed_connection(fake_ollama: FakeOllama, raw: Connect) -> None:
    client = raw(fake_ollama)
    client.send(b"NONSENSE\r\n\r\n")

    response = client.read_response()

    assert response.status == 400
    assert client.read_available() == b""


def test_a_generic_app_can_stream_with_a_fixed_length() -> None:
    def app(request: Request) -> Response | StreamResponse:
        return StreamResponse(iter([b"ab", b"cd"]), content_type=None, content_length=4)

    with FakeServer(app) as server:
        client = RawClient(server.port)
        try:
            response = client.request("GET", "/anything")
        finally:
            client.close()

    assert response.headers["content-length"] == "4"
    assert response.body == b"abcd"
