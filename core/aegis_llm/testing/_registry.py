"""The list of contract tests and what each one needs, readable without Hypothesis.

The pytest plugin consults this registry for every test of every project that has
aegis-llm installed, so it must stay cheap: it records plain facts (a test's name,
the capabilities and transport it needs, its troubleshooting line) and imports
nothing heavier than the core's enums.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, TypeVar

from aegis_llm._capabilities import Capability

__all__ = ["CONTRACT_TESTS", "ContractTest", "Declarations", "Transport", "contract_test"]

Transport = Literal["http", "in_process"]
"""How a plugin reaches its model: over HTTP (the fault harness applies) or in this process."""

_F = TypeVar("_F", bound=Callable[..., object])


class Declarations(Protocol):
    """What a contract class declares about its plugin (``ProviderContract`` documents it)."""

    plugin_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    transport: ClassVar[Transport]
    contract_skips: ClassVar[Mapping[str, str]]
    contract_overrides: ClassVar[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class ContractTest:
    """One contract test: when it applies, and the one line that helps when it fails."""

    name: str
    troubleshooting: str
    requires: frozenset[Capability] = frozenset()
    transport: Transport | None = None

    def not_applicable(self, capabilities: frozenset[Capability], transport: Transport) -> str:
        """Why this test does not apply to such a plugin, or "" when it does."""
        missing = sorted(c.value for c in self.requires - capabilities)
        if missing:
            return f"the plugin does not declare {', '.join(missing)}"
        if self.transport is not None and self.transport != transport:
            return f"only for {self.transport.replace('_', '-')} providers"
        return ""


CONTRACT_TESTS: dict[str, ContractTest] = {}
"""Every contract test by name, in definition order (the documentation lists them so)."""


def contract_test(
    troubleshooting: str,
    *,
    requires: frozenset[Capability] | Capability | None = None,
    transport: Transport | None = None,
) -> Callable[[_F], _F]:
    """Register a test method of the base class as part of the contract.

    ``troubleshooting`` is shown under a failure, so it names the likely cause in the
    plugin, not the symptom the assertion already printed.
    """
    needs = (
        frozenset()
        if requires is None
        else frozenset({requires})
        if isinstance(requires, Capability)
        else requires
    )

    def register(test: _F) -> _F:
        name = getattr(test, "__name__", "")
        if not name.startswith("test_") or name in CONTRACT_TESTS:
            raise ValueError(f"contract test names must be unique test_* names: {name!r}")
        CONTRACT_TESTS[name] = ContractTest(name, troubleshooting, needs, transport)
        return test

    return register
