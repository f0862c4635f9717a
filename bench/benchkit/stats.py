"""Summaries of timing samples: medians for the typical case, p99 for the tail."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Summary", "percentile", "summarise"]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile by linear interpolation between the closest ranks."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True, slots=True)
class Summary:
    """Median and p99 of one candidate's samples, in the samples' unit."""

    median: float
    p99: float
    count: int


def summarise(values: Sequence[float]) -> Summary:
    return Summary(statistics.median(values), percentile(values, 0.99), len(values))
