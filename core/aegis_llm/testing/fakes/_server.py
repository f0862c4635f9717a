"""The loopback HTTP/1.1 server every fake runs on: its own thread, its own asyncio loop.

A thread keeps the fake independent of the test's event loop (asyncio, trio, or none),
so sync and async clients of either backend can talk to it. Connections are asyncio
protocols rather than streams: `connection_lost` fires the moment a client hangs up, which
is how a cancelled stream is noticed, and a plain answer is written straight from
`data_received` without creating a task.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import threading
from typing import Final, Self, cast

from ._faults import ErrorFactory, Fault, FaultTable, Injection
from ._http import (
    CHUNK_END,
    CONTINUE,
    LAST_CHUNK,
    Answer,
    Handler,
    HeadWriter,
    HTTPParseError,
    Request,
    RequestParser,
    Response,
    StreamResponse,
    chunk_header,
    frame_chunk,
)
from ._stats import Exchange, Outcome, Stats
from ._wire import TEXT_UTF8, json_bytes

_log = logging.getLogger("aegis_llm.testing.fakes")

HOST: Final = "127.0.0.1"
_STOP_TIMEOUT: Final = 10.0


def refused_port() -> int:
    """A loopback port with nothing listening: connecting to it is refused at once.

    The port was free a moment ago; another process could take it in between, which on a
    test machine is rare enough to ignore.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


def refused_url() -> str:
    """Base URL of a `refused_port()`."""
    return f"http://{HOST}:{refused_port()}"


def default_error(request: Request, status: int, message: str | None) -> Response:
    """`{"error": message}`, the error shape of servers that have no better one."""
    return Response(status, json_bytes({"error": message or f"fake error {status}"}))


class FakeServer:
    """A loopback HTTP/1.1 server answering with `app`, with faults and counters.

    `app` maps each `Request` to a `Response` or `StreamResponse`; `errors` shapes the
    error bodies that `Fault.error` and `Fault.rate_limited` send (the protocol's own).
    Binds 127.0.0.1 on an ephemeral port unless `port` is given; after `stop()` a new
    `start()` binds the same port again, so a test can take a server down and bring it back.
    `history` bounds how many exchanges `stats.history` keeps. `idle_timeout` closes
    keep-alive connections left idle that long, as Node servers (LM Studio) do after 5 s,
    so a client's pooled connection can go stale under it; None keeps them open, as Go's
    net/http (Ollama) does.

    Use as a context manager (`with FakeServer(app) as server: server.url`) or call
    `start()` and `stop()`.
    """

    def __init__(
        self,
        app: Handler,
        *,
        errors: ErrorFactory = default_error,
        port: int = 0,
        history: int = 256,
        idle_timeout: float | None = None,
    ) -> None:
        self.faults = FaultTable()
        self.stats = Stats(history)
        self.idle_timeout = idle_timeout
        self._app = app
        self._errors = errors
        self._port = port
        self._heads = HeadWriter()
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        """Always the loopback address."""
        return HOST

    @property
    def port(self) -> int:
        """The bound port (known once started)."""
        if not self._port:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._thread is not None

    def start(self) -> Self:
        """Bind and serve on a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        ready = threading.Event()
        failures: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve, args=(ready, failures), name="aegis-fake-server", daemon=True
        )
        thread.start()
        ready.wait()
        if failures:
            thread.join()
            raise failures[0]
        self._thread = thread
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, then end the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event, failures: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        try:
            listener = loop.run_until_complete(
                loop.create_server(lambda: _Connection(self, loop), HOST, self._port, backlog=1024)
            )
        except OSError as error:
            failures.append(error)
            loop.close()
            ready.set()
            return
        self._port = listener.sockets[0].getsockname()[1]
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close_all(listener))
            loop.close()
            self._loop = None

    async def _close_all(self, listener: asyncio.Server) -> None:
        listener.close()
        for connection in list(self._connections):
            connection.abort()
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await listener.wait_closed()
        await asyncio.sleep(0)

    def _call_app(self, request: Request) -> Answer:
        try:
            return self._app(request)
        except Exception as error:  # noqa: BLE001 - a faulty app must not kill the server
            _log.exception("fake server app failed on %s %s", request.method, request.path)
            self.stats.server_error(error)
            return Response(500, f"fake server app failed: {error!r}".encode(), TEXT_UTF8)


class _Connection(asyncio.Protocol):
    """One client connection: parses requests and writes answers one at a time."""

    def __init__(self, server: FakeServer, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop
        self._parser = RequestParser()
        self._transport: asyncio.Transport | None = None
        self._task: asyncio.Task[None] | None = None
        self._current: Exchange | None = None
        self.paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closing = False
        self._idle: asyncio.TimerHandle | None = None
        self._lost: asyncio.Future[None] = loop.create_future()

    # asyncio.Protocol callbacks.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._server._connections.add(self)
        self._server.stats.connection_opened()
        self._start_idle_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if not self._lost.done():
            self._lost.set_result(None)
        self._stop_idle_timer()
        self._server._connections.discard(self)
        unfinished, self._current = self._current, None
        self._server.stats.connection_closed(unfinished)
        if self._task is not None:
            self._task.cancel()

    def data_received(self, data: bytes) -> None:
        self._stop_idle_timer()
        self._parser.feed(data)
        if self._task is None:
            self._serve_buffered()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # Request handling.

    def abort(self) -> None:
        """Drop the connection without flushing (server shutdown: not the client's doing)."""
        unfinished, self._current = self._current, None
        if unfinished is not None:
            self._server.stats.exchange_ended(unfinished, "dropped")
        if self._transport is not None:
            self._transport.abort()

    def _serve_buffered(self) -> None:
        while self._task is None and not self._closing:
            try:
                request = self._parser.next_request()
            except HTTPParseError as error:
                self._reject(error)
                return
            if request is None:
                if self._parser.continue_pending:
                    self._parser.continue_pending = False
                    self._write(CONTINUE)
                self._start_idle_timer()
                return
            self._dispatch(request)

    def _dispatch(self, request: Request) -> None:
        server = self._server
        fault = server.faults.take(request.method, request.path)
        exchange = server.stats.request_received(request, fault)
        self._current = exchange
        answer: Answer | None = None
        if fault is None:
            answer = server._call_app(request)
            if isinstance(answer, Response):
                self._write_now(request, answer, exchange)
                return
        self._task = self._loop.create_task(self._respond(request, fault, answer, exchange))

    def _write_now(self, request: Request, answer: Response, exchange: Exchange) -> None:
        """The fast path: a plain answer with no fault, written in one call."""
        close = not request.keep_alive
        body = answer.body
        head = self._server._heads.head(
            answer.status,
            answer.content_type,
            answer.headers,
            None if answer.chunked else len(body),
            close=close,
        )
        exchange.status = answer.status
        exchange.body_bytes = len(body)
        self._record(exchange, "complete")
        if request.method == "HEAD":
            self._write(head)
        elif answer.chunked:
            self._write(head + (frame_chunk(body) if body else b"") + LAST_CHUNK)
        else:
            self._write(head + body)
        self._next(close=close)

    async def _respond(
        self, request: Request, fault: Fault | None, answer: Answer | None, exchange: Exchange
    ) -> None:
        outcome: Outcome = "complete"
        announce_close = not request.keep_alive
        try:
            if fault is not None:
                if fault.first_byte_delay:
                    await asyncio.sleep(fault.first_byte_delay)
                if fault.hangup is not None:
                    self._record(exchange, "refused")
                    self._hang_up(reset=fault.hangup == "reset")
                    return
                if fault.replacement is not None:
                    answer = fault.replacement(request, self._server._errors)
            if answer is None:
                answer = self._server._call_app(request)
            writer = _AnswerWriter(self, fault, exchange)
            if not await writer.write(request, answer, close=announce_close):
                outcome = "dropped"
        except Exception as error:  # noqa: BLE001 - report, hang up, keep serving
            _log.exception("fake server failed writing %s %s", request.method, request.path)
            self._record(exchange, "dropped")
            self._server.stats.server_error(error)
            self._hang_up(reset=True)
            return
        self._record(exchange, outcome)
        dropping = fault is not None and fault.drop_at is not None
        self._next(close=announce_close or dropping)

    def _record(self, exchange: Exchange, outcome: Outcome) -> None:
        """Record the outcome before the client can see it (the last bytes, the hang-up)."""
        self._current = None
        self._server.stats.exchange_ended(exchange, outcome)

    def _next(self, *, close: bool) -> None:
        """Close as agreed, or go on with requests already buffered."""
        self._task = None
        if close and self._transport is not None:
            self._closing = True
            self._transport.close()
        elif not self._closing:
            self._serve_buffered()

    def _start_idle_timer(self) -> None:
        timeout = self._server.idle_timeout
        if timeout is not None and self._idle is None:
            self._idle = self._loop.call_later(timeout, self._close_idle)

    def _stop_idle_timer(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _close_idle(self) -> None:
        self._idle = None
        if self._task is None and self._transport is not None:
            self._closing = True
            self._transport.close()

    def _reject(self, error: HTTPParseError) -> None:
        reason = str(error).encode()
        head = self._server._heads.head(error.status, TEXT_UTF8, (), len(reason), close=True)
        self._write(head + reason)
        self._closing = True
        if self._transport is not None:
            self._transport.close()

    def _hang_up(self, *, reset: bool) -> None:
        self._closing = True
        self._task = None
        transport = self._transport
        if transport is None:
            return
        if reset:
            sock = transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()

    # Output.

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    async def drain(self) -> None:
        """Wait until the client reads again (call when `paused`: flow control)."""
        waiter = self._loop.create_future()
        self._drain_waiter = waiter
        await waiter

    def send(self, data: bytes) -> None:
        """Queue bytes on the transport."""
        self._write(data)

    @property
    def gone(self) -> bool:
        """Whether the transport is closed or closing: writes are dropped from now on."""
        return self._transport is None or self._transport.is_closing()

    async def until_lost(self) -> None:
        """Wait for ``connection_lost``, whose cancellation of the writing task ends it there.

        After the client left, ``send`` drops every byte and flow control never
        pauses again, so a writer that does not sleep between chunks (an endless
        stream without ``interval``) would never reach an ``await`` again: the
        cancellation could not land and the loop would spin, starving every
        other connection and ``stop()``.
        """
        await self._lost
        await asyncio.sleep(0)  # already lost: the cancellation is pending, take it here

    def head(self, status: int, answer: Answer, length: int | None, *, close: bool) -> bytes:
        """The response head for `answer`."""
        return self._server._heads.head(
            status, answer.content_type, answer.headers, length, close=close
        )


class _AnswerWriter:
    """Writes one answer, applying the byte-level parts of a fault on the way.

    Offsets (`stall`, `drop_at`) count body bytes before chunk framing; `trickle` slices the
    bytes on the wire, head included.
    """

    def __init__(self, connection: _Connection, fault: Fault | None, exchange: Exchange) -> None:
        self._connection = connection
        self._exchange = exchange
        self._sent = 0
        self._stall = fault.stall if fault else None
        self._drop_at = fault.drop_at if fault else None
        self._trickle = fault.trickle_rate if fault else None
        self._injection = fault.injection if fault else None
        self._shaped = fault is not None and (
            fault.stall is not None or fault.drop_at is not None or fault.trickle_rate is not None
        )
        self._wrote_any = False

    async def write(self, request: Request, answer: Answer, *, close: bool) -> bool:
        """Write `answer`; False when a fault cut it short."""
        answer = self._failed_before_first_chunk(answer)
        self._exchange.status = answer.status
        if isinstance(answer, Response):
            chunked = answer.chunked
            length = None if chunked else len(answer.body)
            await self._wire(self._connection.head(answer.status, answer, length, close=close))
            if request.method == "HEAD":
                return True
            if answer.body and not await self._payload(answer.body, chunked=chunked):
                return False
        else:
            chunked = answer.content_length is None
            head = self._connection.head(answer.status, answer, answer.content_length, close=close)
            await self._wire(head)
            if request.method == "HEAD":
                return True
            if not await self._stream(answer, chunked=chunked):
                return False
        if chunked:
            await self._wire(LAST_CHUNK)
        return True

    def _failed_before_first_chunk(self, answer: Answer) -> Answer:
        """The protocol's own error answer for a stream told to fail before any chunk.

        Decided before the head is written, since that failure still picks the status
        line on servers that report it so (see `StreamResponse.error_head`).
        """
        injection = self._injection
        if (
            isinstance(answer, StreamResponse)
            and answer.error_head is not None
            and injection is not None
            and injection.message is not None
            and injection.after_chunks == 0
        ):
            return answer.error_head(injection.message)
        return answer

    async def _stream(self, answer: StreamResponse, *, chunked: bool) -> bool:
        injection = self._injection
        count = 0
        for chunk in answer.chunks:
            if injection is not None and count == injection.after_chunks:
                delivered, ended = await self._inject(injection, answer, chunked=chunked)
                if not delivered or ended:
                    return delivered
                injection = None
            if count and answer.interval:
                await asyncio.sleep(answer.interval)
            if not await self._payload(chunk, chunked=chunked):
                return False
            count += 1
        if injection is not None and count == injection.after_chunks:
            delivered, _ = await self._inject(injection, answer, chunked=chunked)
            return delivered
        return True

    async def _inject(
        self, injection: Injection, answer: StreamResponse, *, chunked: bool
    ) -> tuple[bool, bool]:
        if injection.data is not None:
            pieces: tuple[bytes, ...] = (injection.data,)
        elif answer.error_tail is not None:
            pieces = tuple(answer.error_tail(injection.message or "fake failure"))
        else:
            pieces = ((injection.message or "fake failure").encode(),)
        for piece in pieces:
            if not await self._payload(piece, chunked=chunked):
                return False, True
        return True, injection.end_stream

    async def _payload(self, data: bytes, *, chunked: bool) -> bool:
        connection = self._connection
        if connection.gone:
            await connection.until_lost()
        if not self._shaped:
            connection.send(frame_chunk(data) if chunked else data)
            self._count(self._sent + len(data))
            if connection.paused:
                await connection.drain()
            return True
        start = self._sent
        end = start + len(data)
        opening = chunk_header(len(data)) if chunked else b""
        closing = CHUNK_END if chunked else b""
        if self._drop_at is not None and self._drop_at < end:
            cut = max(self._drop_at - start, 0)
            if cut:
                await self._wire(opening + data[:cut])
                self._count(start + cut)
            return False
        stall = self._stall
        if stall is not None and start <= stall[0] < end:
            split = stall[0] - start
            if split:
                await self._wire(opening + data[:split])
                opening = b""
            self._stall = None
            await asyncio.sleep(stall[1])
            await self._wire(opening + data[split:] + closing)
        else:
            await self._wire(opening + data + closing)
        self._count(end)
        return True

    def _count(self, sent: int) -> None:
        self._sent = sent
        self._exchange.body_bytes = sent

    async def _wire(self, data: bytes) -> None:
        connection = self._connection
        if self._trickle is None:
            connection.send(data)
            if connection.paused:
                await connection.drain()
            return
        size, interval = self._trickle
        for offset in range(0, len(data), size):
            if self._wrote_any:
                await asyncio.sleep(interval)
            self._wrote_any = True
            connection.send(data[offset : offset + size])
            if connection.paused:
                await connection.drain()
