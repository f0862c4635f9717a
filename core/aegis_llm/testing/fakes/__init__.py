"""Loopback fakes of local model servers, for tests and benchmarks that must run offline.

Each fake is a real HTTP/1.1 server on 127.0.0.1 (its own thread and event loop, so sync
and async clients on asyncio or trio can use it), speaking the protocol byte for byte as
the real server does, with scriptable faults and counters. Standard library only.

    from aegis_llm.testing.fakes import FakeOllama, FakeOpenAI, Fault

    with FakeOllama(reply_tokens=500, stream_delay=0.01) as server:
        server.faults.add(Fault.stall_before_headers(2), path="/api/chat", times=1)
        ...  # point a client at server.url
        server.stats.wait_until(lambda stats: stats.open_connections == 0)

- `FakeOllama`: Ollama's native `/api/*` (chat, generate, embed, pull, ...).
- `FakeOpenAI`: the OpenAI wire format as LM Studio, llama.cpp, vLLM or OpenAI serve it.
- `FakeServer`: the bare server, for a protocol of your own (`app` maps `Request` to
  `Response` or `StreamResponse`).
- `Fault`: refuse, stall, truncate, error bodies, 429s, malformed or oversized answers,
  errors inside streams, trickling; armed per route with `server.faults.add(...)`.
- `refused_port()` / `refused_url()`: somewhere connecting fails at once.
- `server.stats`: open connections, requests, clients that left mid-stream, history.
"""

from ._faults import Fault, FaultRule, FaultTable
from ._http import Request, Response, StreamResponse
from ._server import FakeServer, refused_port, refused_url
from ._stats import Exchange, Stats
from .ollama import FakeOllama, OllamaModel
from .openai import FakeOpenAI, OpenAIModel

__all__ = [
    "Exchange",
    "FakeOllama",
    "FakeOpenAI",
    "FakeServer",
    "Fault",
    "FaultRule",
    "FaultTable",
    "OllamaModel",
    "OpenAIModel",
    "Request",
    "Response",
    "Stats",
    "StreamResponse",
    "refused_port",
    "refused_url",
]
