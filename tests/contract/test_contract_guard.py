"""No silent skips: the pytest plugin fails contract tests left out without a stated reason.

Each class below subclasses the example plugin's contract class and leaves a test
out (or replaces it) one way; one pytest run shows which ways pass and which fail.
"""

from __future__ import annotations

import pytest
from contract_runs import Run, run_module

MODULE = """
import contract_mutants
import pytest

import test_echo_contract as echo


class TestMarkedSkip(echo.TestEchoContract):
    pytestmark = pytest.mark.skip(reason="flaky on my machine")


class TestXfailed(echo.TestEchoContract):
    pytestmark = pytest.mark.xfail(reason="fix later")

    @classmethod
    def load_plugin(cls):
        return contract_mutants.RaisingHealth()


class TestSkipFromTheServer(echo.TestEchoContract):
    @classmethod
    def start_server(cls):
        pytest.skip("no server today")


class TestDeclaredSkip(echo.TestEchoContract):
    contract_skips = {"test_health_up": "EchoLM has no status route in this build"}


class TestUndeclaredOverride(echo.TestEchoContract):
    def test_health_up(self):
        pass


class TestDeclaredOverride(echo.TestEchoContract):
    contract_overrides = {"test_health_up": "EchoLM reports readiness differently"}

    def test_health_up(self):
        pass


class TestRemovedTest(echo.TestEchoContract):
    test_health_down_never_raises = None


class TestUnknownName(echo.TestEchoContract):
    contract_skips = {"test_that_does_not_exist": "a typo"}


class TestEmptyReason(echo.TestEchoContract):
    contract_skips = {"test_health_up": "  "}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("guard")
    chosen = "test_health_up or test_entry_point_loads or test_health_down_never_raises"
    return run_module(folder, MODULE, "-k", chosen)


@pytest.mark.parametrize(
    ("cls", "says"),
    [
        ("TestMarkedSkip", "skipped without a stated reason"),
        ("TestUndeclaredOverride", "overridden without a reason"),
        ("TestRemovedTest", "is removed"),
        ("TestUnknownName", "not a contract test"),
        ("TestEmptyReason", "needs a reason"),
    ],
)
def test_left_out_without_a_reason_fails(run: Run, cls: str, says: str) -> None:
    outcomes = run.outcomes(cls)
    assert set(outcomes) == {"failed"}, outcomes
    assert {"test_health_up", "test_entry_point_loads"} <= outcomes["failed"]
    assert any(says in message for message in run.messages(cls, "test_health_up"))


def test_an_expected_failure_is_still_a_failure(run: Run) -> None:
    outcomes = run.outcomes("TestXfailed")
    assert outcomes.get("failed") == {"test_health_down_never_raises"}, outcomes
    assert outcomes.get("passed") == {"test_health_up", "test_entry_point_loads"}, outcomes
    message = run.messages("TestXfailed", "test_health_down_never_raises")[0]
    assert "skipped without a stated reason" in message


def test_a_skip_raised_while_preparing_the_run_fails(run: Run) -> None:
    outcomes = run.outcomes("TestSkipFromTheServer")
    assert outcomes.get("failed") == {"test_health_up", "test_health_down_never_raises"}, outcomes
    assert outcomes.get("passed") == {"test_entry_point_loads"}, outcomes


def test_a_declared_skip_is_a_skip_with_its_reason(run: Run) -> None:
    assert run.outcomes("TestDeclaredSkip") == {
        "skipped": {"test_health_up"},
        "passed": {"test_entry_point_loads", "test_health_down_never_raises"},
    }
    message = run.messages("TestDeclaredSkip", "test_health_up")[0]
    assert "EchoLM has no status route" in message


def test_a_declared_override_runs(run: Run) -> None:
    assert run.outcomes("TestDeclaredOverride") == {
        "passed": {"test_health_up", "test_entry_point_loads", "test_health_down_never_raises"}
    }


def test_failures_show_their_troubleshooting_line(run: Run) -> None:
    assert "aegis-llm contract: troubleshooting" in run.output
    assert "test_health_up: Return HealthReport(provider=ctx.name" in run.output
