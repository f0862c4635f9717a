"""This process's memory, which is where st_cpu's models live."""

from __future__ import annotations

import sys
from typing import Literal

__all__ = ["RssSource", "process_rss"]

RssSource = Literal["psutil", "getrusage-peak", "unavailable"]


def process_rss() -> tuple[int | None, RssSource]:
    """Resident memory now with psutil (optional); else the peak, which the stdlib knows."""
    try:
        import psutil  # type: ignore[import-untyped]  # optional, and ships no stubs
    except ImportError:
        pass
    else:
        return int(psutil.Process().memory_info().rss), "psutil"
    try:
        import resource
    except ImportError:  # Windows without psutil
        return None, "unavailable"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak if sys.platform == "darwin" else peak * 1024), "getrusage-peak"
