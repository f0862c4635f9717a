"""No silent skips: which contract tests may be left out, and why.

A contract test may be absent from a plugin's run for three reasons only, each
with a stated reason: it does not apply (a capability the plugin does not
declare, the HTTP fault harness for an in-process provider), the suite found at
run time that it has nothing to check, or the plugin lists it in
``contract_skips``. Likewise a subclass may replace a contract test only when it
lists it in ``contract_overrides``. Anything else fails the run, so a plugin
cannot quietly pass a weaker contract.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from functools import cache
from typing import cast

import pytest

from aegis_llm._capabilities import Capability
from aegis_llm.testing._operations import OPERATION_PARAMETERS, operations_for
from aegis_llm.testing._registry import CONTRACT_TESTS, ContractTest, Declarations

__all__ = [
    "MARKER",
    "class_problems",
    "contract_class",
    "contract_spec",
    "is_contract",
    "not_applicable",
    "skip_reason",
    "suite_skipped",
]

MARKER = "__aegis_llm_contract__"
"""Set on the base class; the guard recognises contract classes by it without importing them."""

_NOT_APPLICABLE = pytest.StashKey[str]()


def is_contract(cls: type | None) -> bool:
    return cls is not None and bool(getattr(cls, MARKER, False))


def contract_class(item: pytest.Item) -> type[Declarations] | None:
    cls: type | None = getattr(item, "cls", None)
    return cast("type[Declarations]", cls) if is_contract(cls) else None


def contract_spec(item: pytest.Item) -> ContractTest | None:
    """The contract test ``item`` runs, if it is one."""
    if contract_class(item) is None:
        return None
    return CONTRACT_TESTS.get(getattr(item, "originalname", item.name))


def not_applicable(request: pytest.FixtureRequest, reason: str) -> None:
    """Skip the running contract test because the suite found nothing to check."""
    request.node.stash[_NOT_APPLICABLE] = reason
    pytest.skip(reason)


def suite_skipped(item: pytest.Item) -> bool:
    return _NOT_APPLICABLE in item.stash


def skip_reason(item: pytest.Item, spec: ContractTest, cls: type[Declarations]) -> str:
    """Why the suite itself leaves this test out, or "" when it must run."""
    capabilities = frozenset(cls.capabilities)
    reason = spec.not_applicable(capabilities, cls.transport)
    if reason:
        return reason
    for parameter, naming_a_model in OPERATION_PARAMETERS.items():
        if parameter in getattr(item, "fixturenames", ()) and not operations_for(
            capabilities, naming_a_model=naming_a_model
        ):
            return "the plugin declares no operation this test could exercise"
    if spec.name in cls.contract_skips:
        return f"skipped by the plugin: {cls.contract_skips[spec.name]}"
    return ""


@cache
def class_problems(cls: type) -> tuple[str, ...]:
    """What is wrong with a contract subclass's declarations (empty when nothing).

    Checked attribute by attribute, because a subclass may have forgotten any of them.
    """
    problems: list[str] = []
    name = getattr(cls, "plugin_name", None)
    if not isinstance(name, str) or not name:
        problems.append("set plugin_name to the plugin's entry-point name")
    capabilities = getattr(cls, "capabilities", None)
    if not isinstance(capabilities, frozenset | set) or not all(
        isinstance(c, Capability) for c in capabilities
    ):
        problems.append("set capabilities to a frozenset of aegis_llm.Capability")
    if getattr(cls, "transport", None) not in ("http", "in_process"):
        problems.append("set transport to 'http' or 'in_process'")
    for attribute in ("contract_skips", "contract_overrides"):
        problems += _reasons_problems(attribute, getattr(cls, attribute, None))
    problems += _override_problems(cls)
    return tuple(problems)


def _reasons_problems(attribute: str, declared: object) -> list[str]:
    if not isinstance(declared, Mapping):
        return [f"{attribute} must map contract test names to reasons"]
    problems = []
    for name, reason in declared.items():
        if name not in CONTRACT_TESTS:
            problems.append(f"{attribute} names {name!r}, which is not a contract test")
        elif not isinstance(reason, str) or not reason.strip():
            problems.append(f"{attribute}[{name!r}] needs a reason (a non-empty string)")
    return problems


def _override_problems(cls: type) -> list[str]:
    base = next(klass for klass in reversed(cls.__mro__) if MARKER in vars(klass))
    declared = getattr(cls, "contract_overrides", {})
    problems = []
    for name in CONTRACT_TESTS:
        # Looked up through the base's own bases: part of the contract lives in mixins.
        original = inspect.getattr_static(base, name, None)
        current = inspect.getattr_static(cls, name, None)
        if current is original:
            continue
        if not callable(current):
            problems.append(
                f"{name} is removed (set to {current!r}); list it in contract_skips with a "
                "reason instead"
            )
        elif isinstance(declared, Mapping) and name not in declared:
            problems.append(
                f"{name} is overridden without a reason; list it in contract_overrides "
                "with one, or delete the override"
            )
    return problems
