"""The thread every encode step of the process runs on, below the application's priority.

While a model encodes, torch keeps every core busy (the encoding thread and
its OpenMP team). An event loop waking for a timer or a socket then waits for
the kernel to take a core back from them, 2-4 ms at a time on a 2-core
machine, however often the encoder hands back the GIL. Run at a lower
priority (a higher nice value), the encoding threads give way as soon as the
loop, or any other thread of the application, wants to run, and still get
every cycle nobody else needs: an idle machine embeds as fast.

A nice value can be raised but, without privileges, never lowered again, so
it is never applied to a thread the plugin does not own (anyio's worker
threads serve the whole application). The plugin keeps its own thread per
nice value instead; the OpenMP team that torch starts for it inherits its
priority. On a desktop Linux with autogroup scheduling (the default), nice
values only weigh threads of the same session against each other, so other
programs (a chat server) are not favoured over the embedder by it.

Per-thread nice values are a Linux feature (elsewhere ``setpriority`` acts on
the whole process), so on other systems the thread runs at normal priority.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["ENCODERS", "EncoderThreads"]

T = TypeVar("T")

_log = logging.getLogger("aegis_llm")

_Job = tuple[Callable[[], Any], Future[Any]]


class EncoderThreads:
    """Long-lived encoding threads, one per nice increment, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[int, queue.SimpleQueue[_Job]] = {}

    def run(self, work: Callable[[], T], *, nice: int) -> T:
        """Run ``work`` on the thread for ``nice`` and wait for it (call from a worker thread).

        Exceptions of ``work`` are raised here, in the caller's thread.
        """
        future: Future[T] = Future()
        self._queue(nice).put((work, future))
        return future.result()

    def _queue(self, nice: int) -> queue.SimpleQueue[_Job]:
        with self._lock:
            jobs = self._queues.get(nice)
            if jobs is None:
                jobs = self._queues[nice] = queue.SimpleQueue()
                name = f"aegis-llm-st-cpu-encoder-nice{nice}"
                threading.Thread(target=_serve, args=(jobs, nice), name=name, daemon=True).start()
            return jobs


def _serve(jobs: queue.SimpleQueue[_Job], nice: int) -> None:
    _lower_priority(nice)
    while True:
        work, future = jobs.get()
        if not future.set_running_or_notify_cancel():
            continue
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller, whole
            future.set_exception(exc)


def _lower_priority(nice: int) -> None:
    """Add ``nice`` to this thread's nice value (Linux only; never fails the encoder)."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, 0)  # on Linux, 0 is the calling thread
        os.setpriority(os.PRIO_PROCESS, 0, min(19, current + nice))
    except OSError as exc:  # a sandbox may forbid it; encoding at normal priority is correct
        _log.debug("st_cpu encoder keeps its priority: %s", exc)


ENCODERS = EncoderThreads()
"""The process's encoding threads."""
