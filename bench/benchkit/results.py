"""What a run produces: one `Measurement` per (scenario, metric, client), plus context."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Measurement", "Run"]


@dataclass(frozen=True, slots=True)
class Measurement:
    """One figure for one client, or the reason there is none.

    `value` is None exactly when `missing` says why ("not measured: ..." in the table).
    `server_cpu_per_request` is the loopback server's own CPU time per request while
    this client was measured, so a reader can see the server was not the bottleneck.
    """

    scenario: str
    metric: str
    unit: str
    family: str
    label: str
    api: str | None = None
    value: float | None = None
    samples: int = 0
    missing: str | None = None
    server_cpu_per_request: float | None = None
    detail: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Run:
    """Everything one `bench/run.py` invocation measured."""

    machine: dict[str, Any]
    settings: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)

    def find(
        self, scenario: str, metric: str, family: str, api: str | None = None
    ) -> Measurement | None:
        for found in self.measurements:
            if (found.scenario, found.metric, found.family, found.api) == (
                scenario,
                metric,
                family,
                api,
            ):
                return found
        return None
