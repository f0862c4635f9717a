"""Testing aids for plugin authors: the provider contract suite, strategies and fake servers.

``ProviderContract`` is the base class a plugin's test module subclasses (see the
plugin authors' guide); ``aegis_llm.testing.strategies`` holds the Hypothesis
strategies and ``aegis_llm.testing.fakes`` the loopback servers with fault
injection. Needs the ``testing`` extra (``pip install aegis-llm[testing]``).

Importing this package is cheap: the names below load on first use, so the core
and the pytest plugin never pay for Hypothesis unless a contract test runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aegis_llm.testing._checks import ContractViolation
    from aegis_llm.testing._contract import CONTRACT_TESTS, ProviderContract
    from aegis_llm.testing._contract_tools import CONTRACT_TOOL
    from aegis_llm.testing._harness import ContractHarness
    from aegis_llm.testing._operations import Operation
    from aegis_llm.testing._profile import CONTRACT_DEFAULTS, CONTRACT_PROFILE
    from aegis_llm.testing._registry import ContractTest

__all__ = [
    "CONTRACT_DEFAULTS",
    "CONTRACT_PROFILE",
    "CONTRACT_TESTS",
    "CONTRACT_TOOL",
    "ContractHarness",
    "ContractTest",
    "ContractViolation",
    "Operation",
    "ProviderContract",
]

_HOMES = {
    "CONTRACT_DEFAULTS": "_profile",
    "CONTRACT_PROFILE": "_profile",
    "CONTRACT_TESTS": "_contract",
    "CONTRACT_TOOL": "_contract_tools",
    "ContractHarness": "_harness",
    "ContractTest": "_registry",
    "ContractViolation": "_checks",
    "Operation": "_operations",
    "ProviderContract": "_contract",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
