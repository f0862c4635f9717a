"""Keeping credentials out of what the SDK says about a server's answers.

Error messages quote the server (its error text) and the transport (its
exception text). A misconfigured or hostile server can echo the
``Authorization`` header back, and h11 quotes an illegal header value in its
exception, so both are scrubbed before they reach an exception, a log line or
an attempt record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["Redactor"]

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}
)
# Shorter values would blank out ordinary words of a message; keys are never this short.
_MIN_SECRET = 4
MASK = "[redacted]"


class Redactor:
    """Replaces every credential sent to one server with a mask."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        found: set[str] = set()
        for name, value in headers.items():
            if name.lower() in _SECRET_HEADERS:
                found.update(_forms(value))
        # Longest first, so a whole "Bearer <key>" goes before the bare key inside it.
        self._secrets = sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def _forms(value: str) -> Iterable[str]:
    """The header value and its credential without the scheme (``Bearer``, ``Basic``)."""
    yield value
    yield value.strip()
    _, _, credential = value.strip().partition(" ")
    if credential:
        yield credential.strip()
