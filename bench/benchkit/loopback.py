"""The client's handle on the loopback server process (`benchkit.serve`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

__all__ = ["Loopback", "ServerUsage", "child_environment"]

_BENCH_DIR = Path(__file__).resolve().parent.parent


def child_environment() -> dict[str, str]:
    """This process's environment, with `benchkit` importable by `python -m` children."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(_BENCH_DIR), *sys.path])}


@dataclass(frozen=True, slots=True)
class ServerUsage:
    """The server process's CPU time and request counts at one moment."""

    cpu_seconds: float
    requests: int
    misses: int

    def __add__(self, other: ServerUsage) -> ServerUsage:
        return ServerUsage(
            self.cpu_seconds + other.cpu_seconds,
            self.requests + other.requests,
            self.misses + other.misses,
        )

    def __sub__(self, earlier: ServerUsage) -> ServerUsage:
        return ServerUsage(
            self.cpu_seconds - earlier.cpu_seconds,
            self.requests - earlier.requests,
            self.misses - earlier.misses,
        )


class Loopback:
    """Starts the server process; `urls` maps each API ("ollama", "openai") to a base URL."""

    def __init__(self, *, direct: bool = False) -> None:
        self.direct = direct
        self.urls: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        flags = ["--direct"] if self.direct else []
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchkit.serve", *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_environment(),
        )
        self.urls = json.loads(self._pipes()[1].readline())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def usage(self) -> ServerUsage:
        """Ask the server for its CPU time and counters (between timed blocks only)."""
        stdin, stdout = self._pipes()
        stdin.write("stats\n")
        stdin.flush()
        report = json.loads(stdout.readline())
        return ServerUsage(report["cpu_seconds"], report["requests"], report["misses"])

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        process = self._process
        if process is None or process.stdin is None or process.stdout is None:
            raise RuntimeError("the loopback server is not running")
        return process.stdin, process.stdout
