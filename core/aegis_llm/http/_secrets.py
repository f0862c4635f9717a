"""Keeping credentials out of what the SDK says about a server's answers.

Error messages quote the server on purpose, and a misconfigured or hostile
server can echo the ``Authorization`` header back: in an error status, in a
200 answer holding an error object, or in an error line mid-stream. Plugins
turn all of those into messages, so the credentials are masked in the answer
bytes themselves, before any plugin parses them; every plugin on ``HttpApi``
is covered without doing anything. A server has no business sending them back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["MASK", "Credentials", "Scrubber"]

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}
)
# Shorter values would blank out ordinary words of a message; keys are never this short.
_MIN_SECRET = 4
MASK = "[redacted]"


class Credentials:
    """The secret header values one ``HttpApi`` sends, and masking them."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        found: set[str] = set()
        for name, value in headers.items():
            if name.lower() in _SECRET_HEADERS:
                found.update(_forms(value))
        # Longest first, so a whole "Bearer <key>" goes before the bare key inside it.
        self._texts = sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True)
        self._bytes = [text.encode() for text in self._texts]

    def redact(self, text: str) -> str:
        """``text`` with every credential masked (for decoded text: headers, error messages)."""
        for secret in self._texts:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def scrubber(self) -> Scrubber | None:
        """A masker for one answer's bytes; ``None`` when nothing is secret (no cost)."""
        return Scrubber(self._bytes) if self._bytes else None


class Scrubber:
    """Masks secrets in a body that arrives in pieces, even when one is split between two.

    Only a piece's tail that could be the start of a secret is held back for
    the next piece, so a stream whose lines end in ``}\\n`` is not delayed.
    """

    def __init__(self, secrets: list[bytes]) -> None:
        self._secrets = secrets
        self._longest = max(map(len, secrets))
        self._mask = MASK.encode()
        self._held = b""

    def feed(self, piece: bytes) -> bytes:
        data = self._held + piece if self._held else piece
        for secret in self._secrets:
            if secret in data:
                data = data.replace(secret, self._mask)
        keep = self._partial_tail(data)
        self._held = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep] if keep else data

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held

    def _partial_tail(self, data: bytes) -> int:
        """Length of the longest end of ``data`` that begins some secret."""
        for size in range(min(self._longest - 1, len(data)), 0, -1):
            tail = data[-size:]
            if any(secret.startswith(tail) for secret in self._secrets):
                return size
        return 0


def _forms(value: str) -> Iterable[str]:
    """The header value and its credential without the scheme (``Bearer``, ``Basic``)."""
    value = value.strip()
    yield value
    _, _, credential = value.partition(" ")
    if credential.strip():
        yield credential.strip()
