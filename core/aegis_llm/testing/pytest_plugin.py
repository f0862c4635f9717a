"""The pytest plugin of ``aegis_llm.testing`` (loaded through the ``pytest11`` entry point).

It gives contract classes their fixtures (``aegis_contract``: one harness per
class and async backend), runs each test once per backend and per declared
operation, and enforces the contract's rules on the run itself: a contract test
that is skipped or overridden without a stated reason fails, and every failing
contract test prints its troubleshooting line.

pytest loads this module for every project in an environment where aegis-llm
is installed, so it imports nothing beyond the core's small modules until a
contract class actually asks for a harness.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from aegis_llm.testing._guard import (
    class_problems,
    contract_class,
    contract_spec,
    is_contract,
    skip_reason,
    suite_skipped,
)
from aegis_llm.testing._operations import OPERATION_PARAMETERS, operations_for

if TYPE_CHECKING:
    from aegis_llm.testing._harness import ContractHarness
    from aegis_llm.testing._registry import ContractTest, Declarations

__all__ = [
    "aegis_contract",
    "aegis_contract_settings",
    "pytest_addoption",
    "pytest_generate_tests",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
]

_SECTION = "aegis-llm contract: troubleshooting"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aegis-llm", "aegis-llm provider contract suite")
    group.addoption(
        "--aegis-llm-backends",
        default="asyncio,trio",
        help="comma-separated anyio backends to run contract tests on (default: asyncio,trio)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    cls = metafunc.cls
    if cls is None or not is_contract(cls):
        return
    if "aegis_llm_backend" in metafunc.fixturenames:
        option = str(metafunc.config.getoption("aegis_llm_backends"))
        backends = [name.strip() for name in option.split(",") if name.strip()]
        metafunc.parametrize("aegis_llm_backend", backends, scope="class")
    for parameter, naming_a_model in OPERATION_PARAMETERS.items():
        if parameter in metafunc.fixturenames:
            capabilities = frozenset(getattr(cls, "capabilities", ()))
            operations = operations_for(capabilities, naming_a_model=naming_a_model)
            metafunc.parametrize(parameter, operations, ids=[op.value for op in operations])


@pytest.fixture(scope="class")
def aegis_contract_settings() -> dict[str, Any]:
    """Provider settings the contract run adds to the class's ``provider_settings()``.

    Override it (class or session scope) when a setting needs another fixture,
    such as a temporary folder holding a model.
    """
    return {}


@pytest.fixture(scope="class")
def aegis_contract(
    request: pytest.FixtureRequest, aegis_llm_backend: str, aegis_contract_settings: dict[str, Any]
) -> Iterator[ContractHarness]:
    """The harness of the contract class being run, on one async backend."""
    from aegis_llm.testing._harness import open_harness

    cls = request.cls
    if cls is None or not is_contract(cls):
        raise pytest.UsageError("aegis_contract is for subclasses of ProviderContract")
    with open_harness(cls, aegis_llm_backend, aegis_contract_settings) as harness:
        yield harness


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    spec = contract_spec(item)
    cls = contract_class(item)
    if spec is None or cls is None:
        return
    problems = class_problems(cls)
    if problems:
        pytest.fail(
            f"{cls.__name__} breaks the contract's rules: " + "; ".join(problems), pytrace=False
        )
    reason = skip_reason(item, spec, cls)
    if reason:
        pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    spec = contract_spec(item)
    cls = contract_class(item)
    if spec is None or cls is None:
        return report
    if report.skipped and not _stated(item, spec, cls):
        said = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"{spec.name} was skipped without a stated reason ({said}); a plugin that "
            "cannot pass it must list it in contract_skips with the reason"
        )
        if hasattr(report, "wasxfail"):
            del report.wasxfail
    if report.failed:
        report.sections.append((_SECTION, f"{spec.name}: {spec.troubleshooting}"))
    return report


def _stated(item: pytest.Item, spec: ContractTest, cls: type[Declarations]) -> bool:
    """Whether a skip of this contract test has a reason the rules accept."""
    if class_problems(cls):
        return False
    return bool(skip_reason(item, spec, cls)) or suite_skipped(item)
