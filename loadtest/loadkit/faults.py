"""Random faults of every kind, at a fixed rate, reproducible from a seed.

The fakes' ``FaultTable`` arms scripted faults for counted requests; a load
test wants the opposite: any request may be hit, none is chosen in advance.
``RandomFaults`` keeps the table's interface (the server only calls ``take``)
and draws each request's fault from a seeded generator.
"""

from __future__ import annotations

import random
from collections import Counter

from aegis_llm.testing.fakes import Fault, FaultTable

__all__ = ["RandomFaults", "menu"]


def menu(stall: float) -> dict[str, Fault]:
    """Every kind of misbehaviour the fakes can script, by name (what the report counts).

    ``stall`` is how long a silent server stays silent: longer than the run's
    first-byte and idle limits, so those faults end in the SDK's timeouts.
    """
    return {
        "hang_up": Fault.refuse(),
        "reset": Fault.refuse(reset=True),
        "no_headers": Fault.stall_before_headers(stall),
        "stall_mid_body": Fault.stall_mid_body(stall, after_bytes=40),
        "truncated": Fault.drop_after(30),
        "error_500": Fault.error(500),
        "busy_503": Fault.error(503),
        "rate_limited_429": Fault.rate_limited(0.05),
        "model_missing_404": Fault.error(404, "model 'x' not found"),
        "malformed_json": Fault.malformed_json(),
        "oversized": Fault.oversized(4 << 20, chunked=True),
        "error_mid_stream": Fault.error_mid_stream(after_chunks=2),
        "garbage_mid_stream": Fault.inject(2, b"\x00not json\xff\n\n"),
        "trickle": Fault.trickle(32, 0.02),
    }


class RandomFaults(FaultTable):
    """Hits each request with probability ``rate``, with a kind drawn uniformly from ``menu``."""

    def __init__(self, rate: float, seed: int, stall: float) -> None:
        super().__init__()
        self._rate = rate
        self._random = random.Random(seed)
        self._faults = menu(stall)
        self._names = sorted(self._faults)
        self.injected: Counter[str] = Counter()

    def take(self, method: str, path: str) -> Fault | None:
        # The server calls this from its one event-loop thread: no lock needed.
        if self._random.random() >= self._rate:
            return None
        name = self._random.choice(self._names)
        self.injected[name] += 1
        return self._faults[name]
