"""One time budget for a whole chain: every try, retry wait and cool-down wait draws on it.

Times come from the event loop's clock (``anyio.current_time``), the same
clock cancel scopes use, so a test can run the whole layer on virtual time.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from aegis_llm.errors import ProviderTimeout

__all__ = ["Deadline"]


@dataclass(frozen=True, slots=True)
class Deadline:
    at: float
    """Loop time at which the call gives up."""

    budget: float
    """The whole budget in seconds, for messages."""

    op: str
    """The operation it bounds (``chat``, ``embed``...), for messages."""

    @classmethod
    def after(cls, seconds: float, op: str) -> Deadline:
        return cls(anyio.current_time() + seconds, seconds, op)

    def expired(self, provider: str | None = None) -> ProviderTimeout:
        """The error recorded for a try cut short, or a provider never reached, by the deadline.

        Not retryable: repeating cannot help once the budget is spent.
        """
        return ProviderTimeout(
            f"{self.op}: the deadline of {self.budget:g}s passed",
            provider=provider,
            hint="raise the timeout (AEGIS_LLM_TIMEOUT or timeout=) or check the server's load",
            retryable=False,
        )
