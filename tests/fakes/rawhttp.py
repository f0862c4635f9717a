"""A blocking HTTP/1.1 client on a plain socket that keeps every chunk boundary, for tests
of the fakes' framing (an HTTP library would hide exactly what these tests check)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass
class RawResponse:
    """One response as read off the socket, framing kept."""

    status: int
    headers: dict[str, str]
    chunks: list[bytes] = field(default_factory=list)
    body: bytes = b""
    complete: bool = True

    @property
    def chunked(self) -> bool:
        return self.headers.get("transfer-encoding") == "chunked"


class RawClient:
    """A blocking HTTP/1.1 client on a plain socket that keeps every chunk boundary."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> RawResponse:
        self.send(request_bytes(method, path, body, headers))
        return self.read_response(head_only=method == "HEAD")

    def read_response(self, *, head_only: bool = False) -> RawResponse:
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        response = RawResponse(status, headers)
        if head_only:
            return response
        try:
            if response.chunked:
                while True:
                    size = int(self._read_until(b"\r\n"), 16)
                    if size == 0:
                        self._read_until(b"\r\n")
                        break
                    chunk = self._read_exactly(size)
                    assert self._read_exactly(2) == b"\r\n"
                    response.chunks.append(chunk)
                response.body = b"".join(response.chunks)
            else:
                response.body = self._read_exactly(int(headers.get("content-length", "0")))
        except ConnectionError:
            response.complete = False
            response.body = b"".join(response.chunks) + self._buffer
        return response

    def read_available(self) -> bytes:
        """Whatever arrives until the peer closes (or the timeout hits)."""
        data = self._buffer
        self._buffer = b""
        try:
            while piece := self.sock.recv(65536):
                data += piece
        except TimeoutError:
            pass
        return data

    def _fill(self) -> None:
        piece = self.sock.recv(65536)
        if not piece:
            raise ConnectionError("peer closed")
        self._buffer += piece

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            self._fill()
        data, _, self._buffer = self._buffer.partition(marker)
        return data

    def _read_exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._fill()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def request_bytes(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    """A request with Content-Length framing."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
