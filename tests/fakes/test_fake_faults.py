"""Each fault, seen from the wire and from the official clients."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
import ollama
import openai
import pytest
from rawhttp import RawClient, request_bytes

from aegis_llm.testing.fakes import FakeServer, Fault, refused_port, refused_url
from aegis_llm.testing.fakes.ollama import FakeOllama
from aegis_llm.testing.fakes.openai import FakeOpenAI, Flavour

Connect = Callable[[FakeServer], RawClient]

CHAT = {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}]}
CHAT_BYTES = json.dumps(CHAT).encode()
OPENAI_STREAM = json.dumps(
    {"model": "llama-3.2-3b-instruct", "messages": [{"role": "user", "content": "hi"}],
     "stream": True}
).encode()  # fmt: skip


def test_refused_port_refuses_connections() -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{refused_port()}/")
    with pytest.raises(httpx.ConnectError):
        httpx.get(refused_url())


def test_refuse_hangs_up_without_a_byte(fake_ollama: FakeOllama) -> None:
    fake_ollama.faults.add(Fault.refuse(), path="/api/tags")

    with httpx.Client(base_url=fake_ollama.url) as client:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
            client.get("/api/tags")
        assert client.get("/api/version").status_code == 200, "other routes unaffected"

    assert fake_ollama.stats.history[0].outcome == "refused"


def test_refuse_with_reset_is_a_connection_reset(fake_ollama: FakeOllama) -> None:
    fake_ollama.faults.add(Fault.refuse(reset=True))

    with httpx.Client(base_url=fake_ollama.url) as client, pytest.raises(httpx.ReadError):
        client.get("/api/tags")


def test_stall_before_headers_trips_a_read_timeout(fake_ollama: FakeOllama) -> None:
    fake_ollama.faults.add(Fault.stall_before_headers(30), path="/api/chat", times=1)

    with httpx.Client(base_url=fake_ollama.url, timeout=httpx.Timeout(5, read=0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/chat", json=CHAT)
        assert client.post("/api/chat", json={**CHAT, "stream": False}).status_code == 200

    fake_ollama.stats.wait_until(lambda stats: stats.client_disconnects == 1)


def test_stall_mid_body_sends_exactly_the_bytes_before_the_pause(
    fake_ollama: FakeOllama, raw: Connect
) -> None:
    fake_ollama.faults.add(Fault.stall_mid_body(30, after_bytes=5))
    client = raw(fake_ollama)
    client.sock.settimeout(0.3)
    client.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

    received = client.read_available()

    assert received.endswith(b"\r\n\r\nOllam"), "the head, then 5 body bytes, then silence"


def test_stall_mid_body_then_the_rest_arrives(fake_ollama: FakeOllama, raw: Connect) -> None:
    fake_ollama.faults.add(Fault.stall_mid_body(0.01, after_bytes=3), path="/api/chat")

    response = raw(fake_ollama).request("POST", "/api/chat", CHAT_BYTES)

    assert response.complete
    assert [json.loads(chunk)["done"] for chunk in response.chunks] == [False] * 8 + [True]


def test_stall_inside_a_chunk_keeps_its_framing(fake_ollama: FakeOllama, raw: Connect) -> None:
    fake_ollama.faults.add(Fault.stall_mid_body(30, after_bytes=3), path="/api/chat")
    client = raw(fake_ollama)
    client.sock.settimeout(0.3)
    client.send(request_bytes("POST", "/api/chat", CHAT_BYTES))

    received = client.read_available()

    assert re.search(rb"\r\n\r\n[0-9a-f]+\r\n\{\"m$", received), "a chunk size, then 3 bytes"


def test_drop_after_cuts_a_fixed_length_body(fake_ollama: FakeOllama, raw: Connect) -> None:
    fake_ollama.faults.add(Fault.drop_after(6))

    response = raw(fake_ollama).request("GET", "/")

    assert not response.complete
    assert response.headers["content-length"] == "17", "the head still promises everything"
    assert "connection" not in response.headers, "and does not warn of the hang-up"
    assert response.body == b"Ollama"
    assert fake_ollama.stats.history[-1].outcome == "dropped"


def test_drop_after_cuts_a_stream_inside_a_chunk(fake_ollama: FakeOllama) -> None:
    fake_ollama.faults.add(Fault.drop_after(40), path="/api/chat")

    with (
        ollama.Client(host=fake_ollama.url) as client,
        pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"),
    ):
        list(client.chat(model="llama3.2", messages=CHAT["messages"], stream=True))


def test_error_uses_each_servers_own_error_shape(
    fake_ollama: FakeOllama, make_openai: Callable[..., FakeOpenAI]
) -> None:
    fake_ollama.faults.add(Fault.error(503))
    llamacpp = make_openai("llamacpp")
    llamacpp.faults.add(Fault.error(500, "kaput"))

    busy = httpx.get(f"{fake_ollama.url}/api/tags")
    failed = httpx.post(f"{llamacpp.url}/v1/chat/completions", json={})

    assert busy.status_code == 503
    assert busy.json() == {"error": FakeOllama.BUSY_MESSAGE}
    assert "retry-after" not in busy.headers, "Ollama never sends Retry-After"
    assert failed.json() == {"error": {"code": 500, "message": "kaput", "type": "server_error"}}


def test_respond_sends_exact_bytes(fake_ollama: FakeOllama) -> None:
    fake_ollama.faults.add(
        Fault.respond(418, b"teapot", content_type="text/plain", headers=(("X-Fake", "1"),))
    )

    answer = httpx.get(f"{fake_ollama.url}/api/tags")

    assert (answer.status_code, answer.content, answer.headers["x-fake"]) == (418, b"teapot", "1")


def test_rate_limited_carries_both_retry_headers(make_openai: Callable[..., FakeOpenAI]) -> None:
    server = make_openai("openai")
    server.faults.add(Fault.rate_limited(2, retry_after_ms=1500))

    answer = httpx.get(f"{server.url}/v1/models")

    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "2"
    assert answer.headers["retry-after-ms"] == "1500"
    assert answer.json()["error"]["type"] == "requests"


def test_malformed_json_fails_the_official_client(fake_ollama: FakeOllama) -> None:
    fake_ollama.faults.add(Fault.malformed_json(), path="/api/tags")

    with ollama.Client(host=fake_ollama.url) as client, pytest.raises(json.JSONDecodeError):
        client.list()


@pytest.mark.parametrize(
    ("flavour", "tail"),
    [
        ("openai", [b'data: {"error":{"message":"boom","type":"server_error"']),
        ("lmstudio", [b'data: {"error":{"message":"boom","type":"server_error"']),
        ("llamacpp", [b'error: {"error":{"code":500,"message":"boom","type":"server_error"}}']),
        ("vllm", [b'data: {"error": {"object": "error", "message": "boom"', b"data: [DONE]"]),
    ],
)
def test_error_mid_stream_follows_each_flavour(
    make_openai: Callable[..., FakeOpenAI], raw: Connect, flavour: Flavour, tail: list[bytes]
) -> None:
    server = make_openai(flavour)
    server.faults.add(Fault.error_mid_stream(2, "boom"))

    response = raw(server).request("POST", "/v1/chat/completions", OPENAI_STREAM)

    assert response.complete, "the HTTP stream ends cleanly; only the protocol says failure"
    assert len(response.chunks) == 2 + len(tail)
    for chunk, start in zip(response.chunks[2:], tail, strict=True):
        assert chunk.startswith(start)


def test_error_mid_stream_in_ollama_is_a_last_line_without_done(
    fake_ollama: FakeOllama, raw: Connect
) -> None:
    fake_ollama.faults.add(Fault.error_mid_stream(3, "out of memory"), path="/api/chat")

    response = raw(fake_ollama).request("POST", "/api/chat", CHAT_BYTES)

    assert response.status == 200
    assert response.chunks[-1] == b'{"error":"out of memory"}\n'
    assert all(json.loads(chunk).get("done") is False for chunk in response.chunks[:-1])


def test_inject_puts_garbage_inside_a_stream(fake_ollama: FakeOllama, raw: Connect) -> None:
    fake_ollama.faults.add(Fault.inject(1, b"not json\n"), path="/api/chat")

    response = raw(fake_ollama).request("POST", "/api/chat", CHAT_BYTES)

    assert response.chunks[1] == b"not json\n"
    assert json.loads(response.chunks[-1])["done"] is True, "the stream goes on after it"


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_answer_is_valid_json_of_the_exact_size(
    fake_ollama: FakeOllama, raw: Connect, chunked: bool
) -> None:
    size = 3 * 1024 * 1024 + 7
    fake_ollama.faults.add(Fault.oversized(size, chunked=chunked))

    response = raw(fake_ollama).request("GET", "/api/tags")

    assert len(response.body) == size
    assert response.chunked is chunked
    assert len(json.loads(response.body)["padding"]) == size - len(b'{"padding":""}')


def test_trickle_splits_everything_yet_clients_reassemble_it(
    make_ollama: Callable[..., FakeOllama],
) -> None:
    server = make_ollama(reply=["caf\u00e9", " \u65e5\u672c", " ok"])
    server.faults.add(Fault.trickle(3, 0.0005), path="/api/chat")

    with ollama.Client(host=server.url) as client:
        parts = client.chat(model="llama3.2", messages=CHAT["messages"], stream=True)
        text = "".join(part.message.content or "" for part in parts)

    assert text == "caf\u00e9 \u65e5\u672c ok"


def test_faults_compose_and_refuse_conflicts() -> None:
    combined = Fault.stall_before_headers(1) | Fault.drop_after(10)

    assert (combined.first_byte_delay, combined.drop_at) == (1, 10)
    with pytest.raises(ValueError, match="drop_at"):
        _ = Fault.drop_after(1) | Fault.drop_after(2)


def test_combined_stall_and_drop(fake_ollama: FakeOllama, raw: Connect) -> None:
    fake_ollama.faults.add(Fault.stall_before_headers(0.01) | Fault.drop_after(2))

    response = raw(fake_ollama).request("GET", "/")

    assert (response.complete, response.body) == (False, b"Ol")


def test_rules_match_path_and_method_and_count_down(fake_ollama: FakeOllama) -> None:
    rule = fake_ollama.faults.add(Fault.error(500), path="/api/tags", method="get", times=2)

    with httpx.Client(base_url=fake_ollama.url) as client:
        statuses = [client.get("/api/tags").status_code for _ in range(3)]
        other = client.get("/api/ps").status_code

    assert statuses == [500, 500, 200]
    assert other == 200
    assert (rule.hits, rule.remaining) == (2, 0)


def test_cleared_faults_stop_applying(fake_ollama: FakeOllama) -> None:
    rule = fake_ollama.faults.add(Fault.error(500))
    fake_ollama.faults.remove(rule)
    fake_ollama.faults.add(Fault.error(502))
    fake_ollama.faults.clear()

    assert httpx.get(f"{fake_ollama.url}/api/tags").status_code == 200
    assert fake_ollama.faults.rules == ()


@pytest.mark.parametrize(
    "build",
    [
        lambda: Fault.stall_before_headers(-1),
        lambda: Fault.drop_after(-1),
        lambda: Fault.oversized(3),
        lambda: Fault.trickle(0, 0.1),
    ],
)
def test_nonsense_fault_arguments_are_refused(build: Callable[[], Fault]) -> None:
    with pytest.raises(ValueError, match="must"):
        build()


def test_times_must_be_positive(fake_ollama: FakeOllama) -> None:
    with pytest.raises(ValueError, match="times"):
        fake_ollama.faults.add(Fault.error(500), times=0)


def test_openai_client_honours_retry_after_ms_then_succeeds(
    make_openai: Callable[..., FakeOpenAI],
) -> None:
    server = make_openai("openai")
    server.faults.add(Fault.rate_limited(None, retry_after_ms=10), times=1)

    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="k", max_retries=1) as client:
        listed = client.models.list()

    assert [model.id for model in listed] == ["llama-3.2-3b-instruct",
                                               "text-embedding-nomic-embed-text-v1.5"]  # fmt: skip
    assert server.stats.requests_received == 2
