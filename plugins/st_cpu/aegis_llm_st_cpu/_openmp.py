"""How long torch's OpenMP threads spin before they sleep, chosen before this plugin imports torch.

GNU OpenMP (torch's CPU thread pool on Linux) lets an idle thread spin for
about 300,000 rounds (roughly 3 ms) at every barrier, unless the process runs
more OpenMP threads than there are cores, when it spins 100 rounds. Long
spinning pays off only on a machine doing nothing else. An in-process
embedder shares the CPU with its application and often a local chat server,
and there a spinning thread holds the core its partner needs to reach the
barrier: on a 2-core box with one other busy process an embed took 1.8 times
as long as with short spins, with two busy processes 2.8 times. 1,000 rounds
costs an idle machine about 5% against long spinning and keeps a busy one as
fast as not spinning at all.

The runtime reads its environment once, when torch loads it, so the count
can only be chosen around that first import. A user's ``GOMP_SPINCOUNT`` or
``OMP_WAIT_POLICY`` always wins, other OpenMP runtimes ignore the variable,
and an application that imported torch before the first embed keeps its own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["short_spins_while_torch_loads"]

_SPIN_COUNT = "GOMP_SPINCOUNT"
_USER_CHOICES = (_SPIN_COUNT, "OMP_WAIT_POLICY")
_ROUNDS = "1000"


@contextmanager
def short_spins_while_torch_loads() -> Iterator[None]:
    """Wrap the first torch import; the variable is gone again afterwards, so child
    processes and later readers of the environment see the user's own settings."""
    if "torch" in sys.modules or any(name in os.environ for name in _USER_CHOICES):
        yield
        return
    os.environ[_SPIN_COUNT] = _ROUNDS
    try:
        yield
    finally:
        os.environ.pop(_SPIN_COUNT, None)
