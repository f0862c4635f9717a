"""The figures of a run, the checks they must pass, and how they are printed."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from loadkit.servers import ServerCounters

__all__ = ["Figures"]


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Figures:
    """Everything a run measured. ``failures`` lists the checks that did not hold."""

    requests: int
    concurrency: int
    fault_rate: float
    seed: int
    backend: str
    max_connections: int
    rss_budget_mib: float
    wall_seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    duplicated: int = 0
    latencies: dict[str, float] = field(default_factory=dict)
    servers: list[ServerCounters] = field(default_factory=list)
    peak_connections: dict[str, int] = field(default_factory=dict)
    probe_samples: int = 0
    sockets_after_close: dict[str, int] = field(default_factory=dict)
    rss_checkpoints_mib: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summarise(self, outcomes: Counter[str], durations: list[float]) -> None:
        self.outcomes = dict(outcomes.most_common())
        self.latencies = {
            "p50": _percentile(durations, 0.50),
            "p95": _percentile(durations, 0.95),
            "p99": _percentile(durations, 0.99),
            "max": max(durations, default=0.0),
            "mean": statistics.fmean(durations) if durations else 0.0,
        }

    def count(self, prefix: str) -> int:
        return sum(n for outcome, n in self.outcomes.items() if outcome.startswith(prefix))

    @property
    def answered(self) -> int:
        return self.outcomes.get("answered", 0)

    @property
    def typed_errors(self) -> dict[str, int]:
        return {k: n for k, n in self.outcomes.items() if k[:1].isupper()}

    @property
    def lost(self) -> int:
        return self.requests - sum(self.outcomes.values())

    @property
    def rss_growth_mib(self) -> float:
        points = self.rss_checkpoints_mib
        return points[-1] - points[0] if len(points) >= 2 else 0.0

    def check(self) -> None:
        """Fill ``failures`` with every guarantee the run broke."""
        expect = [
            (self.lost == 0, f"{self.lost} requests lost (no outcome)"),
            (self.duplicated == 0, f"{self.duplicated} requests ended twice"),
            (self.count("hung") == 0, f"{self.count('hung')} requests hung"),
            (self.count("untyped") == 0, f"{self.count('untyped')} untyped exceptions"),
            (self.count("corrupt") == 0, f"{self.count('corrupt')} corrupt answers"),
            (
                self.answered >= self.requests // 2,
                f"only {self.answered} of {self.requests} answered: the chain did not hold",
            ),
            (
                all(n <= self.max_connections for n in self.peak_connections.values()),
                f"connections over max_connections={self.max_connections}: {self.peak_connections}",
            ),
            (
                not any(self.sockets_after_close.values()),
                f"client sockets left open after close: {self.sockets_after_close}",
            ),
            (
                all(s.open_connections == 0 for s in self.servers),
                "servers still hold connections after the client closed",
            ),
            (all(s.server_errors == 0 for s in self.servers), "a fake server crashed"),
            (
                self.rss_growth_mib <= self.rss_budget_mib,
                f"RSS grew {self.rss_growth_mib:.1f} MiB from the first to the last tenth "
                f"(budget {self.rss_budget_mib:g} MiB)",
            ),
        ]
        self.failures = [message for holds, message in expect if not holds]

    def as_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data.update(
            answered=self.answered,
            typed_errors=self.typed_errors,
            lost=self.lost,
            hung=self.count("hung"),
            untyped=self.count("untyped"),
            corrupt=self.count("corrupt"),
            rss_growth_mib=self.rss_growth_mib,
            passed=not self.failures,
        )
        return json.dumps(data, indent=2)

    def as_text(self) -> str:
        throughput = self.requests / self.wall_seconds if self.wall_seconds else 0.0
        lat = self.latencies
        typed = ", ".join(f"{k} {n}" for k, n in self.typed_errors.items()) or "none"
        lines = [
            f"aegis-llm load test: {self.requests} requests ({_kinds(self.kinds)}), "
            f"{self.concurrency} in flight, {self.fault_rate:.0%} faults, seed {self.seed}, "
            f"{self.backend}",
            f"  wall {self.wall_seconds:.1f} s, {throughput:.0f} requests/s; answered latency "
            f"p50 {lat['p50'] * 1000:.0f} ms, p95 {lat['p95'] * 1000:.0f} ms, "
            f"p99 {lat['p99'] * 1000:.0f} ms, max {lat['max'] * 1000:.0f} ms",
            f"  outcomes: answered {self.answered}, typed errors "
            f"{sum(self.typed_errors.values())} ({typed})",
            f"  lost {self.lost}, duplicated {self.duplicated}, hung {self.count('hung')}, "
            f"untyped {self.count('untyped')}, corrupt {self.count('corrupt')}",
        ]
        for server in self.servers:
            injected = sum(server.faults.values())
            peak = self.peak_connections.get(server.name, 0)
            lines.append(
                f"  {server.name}: {server.requests} requests received, {injected} faults "
                f"injected ({len(server.faults)} kinds), peak {peak}/{self.max_connections} "
                f"client connections, {server.open_connections} open after close"
            )
        rss = self.rss_checkpoints_mib
        lines.append(
            f"  RSS by tenth of the run (MiB): {', '.join(f'{v:.0f}' for v in rss)}; "
            f"first to last {self.rss_growth_mib:+.1f} MiB"
        )
        verdict = "PASS" if not self.failures else "FAIL: " + "; ".join(self.failures)
        lines.append(f"  {verdict}")
        return "\n".join(lines)


def _kinds(kinds: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
