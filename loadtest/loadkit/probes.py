"""What the client process holds while the load runs: memory and connections.

Connections are counted on the client's side, from the sockets this process
has open to each server's port (``psutil``), because that is what the pool
limit bounds: the server's own count lags behind closes it has not yet seen.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

import psutil  # type: ignore[import-untyped]  # ships no stubs

__all__ = ["ConnectionPeaks", "rss_mib"]

_PROCESS = psutil.Process()


def rss_mib() -> float:
    return float(_PROCESS.memory_info().rss) / (1024 * 1024)


def open_sockets(ports: dict[str, int]) -> dict[str, int]:
    """Sockets this process has open to each named port right now."""
    counts = dict.fromkeys(ports, 0)
    names = {port: name for name, port in ports.items()}
    for connection in _PROCESS.net_connections(kind="tcp"):
        remote = connection.raddr
        if remote and remote.port in names:
            counts[names[remote.port]] += 1
    return counts


class ConnectionPeaks:
    """Samples the client's sockets to each server on a thread; keeps the highest counts."""

    def __init__(self, urls: dict[str, str], interval: float = 0.02) -> None:
        self.ports = {name: urlsplit(url).port or 80 for name, url in urls.items()}
        self.peaks = dict.fromkeys(self.ports, 0)
        self.samples = 0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="loadtest-probe", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> dict[str, int]:
        return open_sockets(self.ports)

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            for name, count in self.now().items():
                self.peaks[name] = max(self.peaks[name], count)
            self.samples += 1
