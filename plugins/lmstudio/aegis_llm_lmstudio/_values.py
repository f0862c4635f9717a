"""Reading scalars out of untrusted JSON without letting a bad one raise.

A server's answer may hold anything where a number should be; the callers
drop such values rather than fail a reply whose important part is intact.
"""

from __future__ import annotations

import math

__all__ = ["amount", "count", "text"]


def count(value: object) -> int | None:
    """A non-negative integer (``True`` is not one), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def amount(value: object, per_unit: float = 1.0) -> float | None:
    """A finite non-negative number over ``per_unit`` (1000 turns ms into s), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        scaled = value / per_unit
    except OverflowError:  # an integer too large for a float
        return None
    return scaled if 0.0 <= scaled < math.inf else None


def text(value: object) -> str | None:
    """A non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None
