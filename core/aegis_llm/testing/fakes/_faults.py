"""Scriptable misbehaviour: what a fake does instead of, or on top of, its normal answer.

Faults work on bytes and HTTP framing, never on one protocol's JSON, so one contract suite
can drive any fake with them. Where a protocol has its own way to say something (an error
body, an error inside a stream) the fault asks the fake for it instead of guessing.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Final, Literal

from ._http import Answer, Headers, Request, Response, StreamResponse

ErrorFactory = Callable[[Request, int, "str | None"], Response]
"""How a fake shapes its own error body: (request, status, message or None for its default)."""

Replacement = Callable[[Request, ErrorFactory], Answer]

_PAD_PIECE: Final = 64 * 1024
_OVERSIZED_OPEN: Final = b'{"padding":"'
_OVERSIZED_CLOSE: Final = b'"}'


@dataclass(frozen=True, slots=True)
class Injection:
    """Bytes written into a stream after `after_chunks` chunks (see `Fault.inject`)."""

    after_chunks: int
    data: bytes | None
    message: str | None
    end_stream: bool


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour. Build it with the class methods; combine two with `|`.

    `Fault.stall_before_headers(2) | Fault.drop_after(10)` waits two seconds, then sends
    the head and ten bytes of body and hangs up. Combining two faults that set the same
    aspect raises `ValueError`. The fields are what the class methods set, one per aspect
    of the misbehaviour; the server reads them.
    """

    hangup: Literal["close", "reset"] | None = None
    first_byte_delay: float = 0.0
    replacement: Replacement | None = None
    stall: tuple[int, float] | None = None
    drop_at: int | None = None
    injection: Injection | None = None
    trickle_rate: tuple[int, float] | None = None

    def __or__(self, other: Fault) -> Fault:
        merged: dict[str, object] = {}
        for spec in dataclasses.fields(self):
            mine, theirs = getattr(self, spec.name), getattr(other, spec.name)
            if mine != spec.default and theirs != spec.default:
                raise ValueError(f"both faults set {spec.name}")
            merged[spec.name] = mine if mine != spec.default else theirs
        return Fault(**merged)  # type: ignore[arg-type]

    @classmethod
    def refuse(cls, *, reset: bool = False) -> Fault:
        """Hang up as soon as the request is read, without a byte of answer.

        `reset=True` aborts with a TCP RST (the client sees "connection reset") instead of
        an orderly close ("server disconnected"). For a port where nothing listens at all
        (connection refused), use `refused_port()`.
        """
        return cls(hangup="reset" if reset else "close")

    @classmethod
    def stall_before_headers(cls, seconds: float) -> Fault:
        """Say nothing for `seconds`, then answer normally: a slow first byte."""
        return cls(first_byte_delay=_positive(seconds, "seconds"))

    @classmethod
    def stall_mid_body(cls, seconds: float, *, after_bytes: int) -> Fault:
        """Send the head and `after_bytes` bytes of body, pause `seconds`, then go on.

        Offsets count body bytes before chunk framing; `after_bytes=0` stalls right after
        the head. A pause inside a chunk splits that chunk's data, as a slow server would.
        """
        return cls(stall=(_count(after_bytes, "after_bytes"), _positive(seconds, "seconds")))

    @classmethod
    def drop_after(cls, n_bytes: int) -> Fault:
        """Send the head and exactly `n_bytes` of body, then close: a truncated answer.

        The head still announces the full length (or an open chunk), so the client sees
        a body cut short, not a short body.
        """
        return cls(drop_at=_count(n_bytes, "n_bytes"))

    @classmethod
    def error(cls, status: int, message: str | None = None, *, headers: Headers = ()) -> Fault:
        """Answer `status` with the fake's own error body (its default text if no message)."""
        return cls(replacement=partial(_own_error, status, message, headers))

    @classmethod
    def respond(
        cls,
        status: int,
        body: bytes,
        *,
        content_type: str | None = "application/json",
        headers: Headers = (),
        chunked: bool = False,
    ) -> Fault:
        """Answer with exactly these bytes, whatever the route would have said."""
        answer = Response(status, body, content_type, headers, chunked)
        return cls(replacement=partial(_fixed, answer))

    @classmethod
    def rate_limited(
        cls,
        retry_after: float | str | None = 1,
        *,
        retry_after_ms: int | None = None,
        message: str | None = None,
        status: int = 429,
    ) -> Fault:
        """A 429 in the fake's own error shape with `Retry-After` and/or `retry-after-ms`.

        A string `retry_after` is sent verbatim (an HTTP date, or garbage to test parsing).
        """
        headers: list[tuple[str, str]] = []
        if retry_after is not None:
            text = retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
            headers.append(("Retry-After", text))
        if retry_after_ms is not None:
            headers.append(("retry-after-ms", str(retry_after_ms)))
        return cls.error(status, message, headers=tuple(headers))

    @classmethod
    def malformed_json(cls, body: bytes = b'{"model": "fake", "message": {"con') -> Fault:
        """A 200 announced as JSON whose body does not parse."""
        return cls.respond(200, body, content_type="application/json; charset=utf-8")

    @classmethod
    def oversized(cls, n_bytes: int, *, chunked: bool = False) -> Fault:
        """A 200 whose body is one valid JSON object of exactly `n_bytes` bytes, no newline.

        Generated lazily, so a test can ask for hundreds of megabytes; with `chunked=True`
        it is sent in 64 KiB chunks instead of under a Content-Length.
        """
        minimum = len(_OVERSIZED_OPEN) + len(_OVERSIZED_CLOSE)
        if n_bytes < minimum:
            raise ValueError(f"n_bytes must be at least {minimum}")
        return cls(replacement=partial(_oversized, n_bytes, chunked))

    @classmethod
    def error_mid_stream(cls, after_chunks: int = 1, message: str = "fake failure") -> Fault:
        """After `after_chunks` chunks of a streamed answer, fail the way the protocol does.

        Each fake knows its protocol's way (an Ollama `{"error": ...}` line, an SSE data
        event with an error object, llama.cpp's `error:` field...). The stream then ends
        without its normal terminator. With `after_chunks=0` a protocol that reports an
        early failure by its status answers that way instead (Ollama: a 500 and a JSON
        body, no stream). Has no effect on answers that are not streamed.
        """
        return cls(injection=Injection(_count(after_chunks, "after_chunks"), None, message, True))

    @classmethod
    def inject(cls, after_chunks: int, data: bytes, *, end_stream: bool = False) -> Fault:
        """Write `data` as an extra chunk after `after_chunks` chunks of a streamed answer.

        For garbage inside a stream (a line that is not JSON, a stray SSE field). With
        `end_stream=True` the stream stops right after it.
        """
        injection = Injection(_count(after_chunks, "after_chunks"), data, None, end_stream)
        return cls(injection=injection)

    @classmethod
    def trickle(cls, n_bytes: int, interval: float) -> Fault:
        """Write the whole answer, head included, `n_bytes` at a time every `interval` s.

        Splits lines, chunk framing and multi-byte characters wherever they fall.
        """
        if n_bytes < 1:
            raise ValueError("n_bytes must be at least 1")
        return cls(trickle_rate=(n_bytes, _positive(interval, "interval")))


def _positive(value: float, name: str) -> float:
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def _count(value: int, name: str) -> int:
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def _own_error(
    status: int, message: str | None, headers: Headers, request: Request, errors: ErrorFactory
) -> Answer:
    answer = errors(request, status, message)
    return dataclasses.replace(answer, headers=answer.headers + headers) if headers else answer


def _fixed(answer: Response, request: Request, errors: ErrorFactory) -> Answer:
    return answer


def _oversized(n_bytes: int, chunked: bool, request: Request, errors: ErrorFactory) -> Answer:
    return StreamResponse(
        _padding(n_bytes - len(_OVERSIZED_OPEN) - len(_OVERSIZED_CLOSE)),
        content_type="application/json; charset=utf-8",
        content_length=None if chunked else n_bytes,
    )


def _padding(n_pad: int) -> Iterator[bytes]:
    yield _OVERSIZED_OPEN
    piece = b"a" * _PAD_PIECE
    full, rest = divmod(n_pad, _PAD_PIECE)
    for _ in range(full):
        yield piece
    if rest:
        yield piece[:rest]
    yield _OVERSIZED_CLOSE


@dataclass(slots=True)
class FaultRule:
    """A fault armed for matching requests; `remaining` counts down (None = forever)."""

    fault: Fault
    path: str | None
    method: str | None
    remaining: int | None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request and still has uses left."""
        return (
            self.remaining != 0
            and (self.path is None or self.path == path)
            and (self.method is None or self.method == method)
        )


class FaultTable:
    """The faults armed on one server. Safe to change from a test while requests run.

    Rules are tried in the order they were added; the first matching rule with uses left
    applies to a request, and only one rule applies per request (combine faults with `|`).
    """

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(
        self,
        fault: Fault,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Arm `fault` for requests to `path` (exact, no query; None = any) and `method`.

        `times` limits how many requests it hits (None = every one until removed).
        Returns the rule, whose `hits` and `remaining` a test can inspect.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        rule = FaultRule(fault, path, method.upper() if method else None, times)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Disarm one rule."""
        with self._lock:
            self._rules.remove(rule)

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> tuple[FaultRule, ...]:
        """The armed rules, spent ones included."""
        with self._lock:
            return tuple(self._rules)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, using up one of its rule's uses."""
        if not self._rules:
            return None
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.fault
        return None
