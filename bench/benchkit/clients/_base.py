"""The interface every client under test is driven through.

A session does one thing per method, with the workload fixed in `benchkit.workload`;
it returns what it received (text, token count, vector count) so a scenario can check
that a client really did the work instead of failing fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["Api", "Candidate", "Opener", "Session", "Unavailable"]

Api = Literal["ollama", "openai"]
"""Which wire API a candidate speaks: Ollama's native API or the OpenAI-compatible one."""


class Unavailable(Exception):
    """A candidate cannot run here (a package is missing, a plugin has not landed)."""


class Session(Protocol):
    async def chat(self) -> str:
        """One non-streaming chat turn; returns the reply text."""
        ...

    def stream(self) -> AsyncIterator[str]:
        """One streaming chat turn; yields each token's text as the client delivers it."""
        ...

    async def embed(self) -> int:
        """Embed the 256 workload texts; returns how many vectors came back."""
        ...


Opener = Callable[[str], AbstractAsyncContextManager[Session]]
"""Opens a session against a base URL (the client is built and closed by it)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One client on one API. `family` groups candidates into the table's columns."""

    family: str
    label: str
    api: Api
    opener: Callable[[], Opener]

    @property
    def key(self) -> str:
        return f"{self.family}@{self.api}"

    def open(self, base_url: str) -> AbstractAsyncContextManager[Session]:
        """A session on `base_url`; raises `Unavailable` when the client cannot run."""
        return self.opener()(base_url)
