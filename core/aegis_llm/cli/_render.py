"""Terminal output: aligned tables, a progress bar, JSON. No third-party UI dependency."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from pydantic import BaseModel, TypeAdapter

__all__ = ["ProgressBar", "dump_json", "human_bytes", "table"]

_ANY_LIST: TypeAdapter[list[Any]] = TypeAdapter(list[Any])


def dump_json(value: BaseModel | Sequence[BaseModel] | dict[str, Any], out: TextIO) -> None:
    """The same pydantic models the Python API returns, as JSON (secrets stay masked)."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    elif isinstance(value, dict):
        text = json.dumps(value, indent=2, default=str)
    else:
        text = _ANY_LIST.dump_json(list(value), indent=2).decode()
    out.write(text + "\n")


def table(rows: Sequence[Sequence[str]], header: Sequence[str], out: TextIO) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
        out.write("\n")


def human_bytes(size: float | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


class ProgressBar:
    """A one-line bar on stderr: percent, bytes or items, and rate.

    Redrawn at most ten times a second so a fast stream of progress events
    does not spend its time writing to the terminal.
    """

    def __init__(self, label: str, *, unit: str = "B", out: TextIO | None = None) -> None:
        self._label = label
        self._unit = unit
        self._out = out or sys.stderr
        self._started = time.monotonic()
        self._drawn = 0.0

    def update(self, done: float, total: float | None, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        rate = done / max(now - self._started, 1e-9)
        fmt = human_bytes if self._unit == "B" else (lambda v: f"{v:.0f}")
        if total:
            fraction = min(1.0, done / total)
            bar = "#" * int(fraction * 30)
            text = f"{self._label} [{bar:<30}] {fraction:6.1%} {fmt(done)}/{fmt(total)}"
        else:
            text = f"{self._label} {fmt(done)}"
        suffix = "/s" if self._unit == "B" else f" {self._unit}/s"
        self._out.write(f"\r{text}  {fmt(rate)}{suffix}\x1b[K")
        self._out.flush()

    def note(self, message: str) -> None:
        """A status line of its own (``verifying sha256 digest``), above the bar."""
        self._out.write(f"\r{message}\x1b[K\n")
        self._out.flush()

    def finish(self, message: str) -> None:
        self._out.write(f"\r{self._label} {message}\x1b[K\n")
        self._out.flush()
