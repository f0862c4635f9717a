"""The circuit breaker's state machine alone, on plain numbers for time (no event loop)."""

from __future__ import annotations

from aegis_llm import BreakerSettings
from aegis_llm._resilience import BreakerBoard, Gate


def _breaker(threshold: int = 3, cooldown: float = 30.0) -> BreakerBoard:
    return BreakerBoard(BreakerSettings(failure_threshold=threshold, cooldown=cooldown))


def test_it_opens_after_the_threshold_of_failures_in_a_row() -> None:
    breaker = _breaker(threshold=3, cooldown=30)["p"]
    breaker.failed(1.0, probe=False)
    breaker.failed(2.0, probe=False)
    assert breaker.admit(2.0).gate is Gate.CALL
    breaker.failed(3.0, probe=False)
    admission = breaker.admit(4.0)
    assert (admission.gate, admission.retry_at) == (Gate.SKIP, 33.0)
    assert breaker.is_open(4.0)
    assert "next probe in 29.0s" in breaker.describe(4.0)


def test_a_success_resets_the_count() -> None:
    breaker = _breaker(threshold=2)["p"]
    breaker.failed(1.0, probe=False)
    breaker.succeeded()
    breaker.failed(2.0, probe=False)
    assert breaker.admit(2.0).gate is Gate.CALL


def test_after_the_cool_down_one_caller_probes_and_the_others_skip() -> None:
    breaker = _breaker(threshold=1, cooldown=10)["p"]
    breaker.failed(0.0, probe=False)
    assert breaker.admit(10.0).gate is Gate.PROBE
    second = breaker.admit(10.0)
    assert (second.gate, second.retry_at) == (Gate.SKIP, None)
    assert "probing" in breaker.describe(10.0)


def test_a_failed_probe_reopens_for_a_whole_cool_down() -> None:
    breaker = _breaker(threshold=1, cooldown=10)["p"]
    breaker.failed(0.0, probe=False)
    assert breaker.admit(12.0).gate is Gate.PROBE
    breaker.failed(13.0, probe=True)
    assert breaker.admit(22.9).gate is Gate.SKIP
    assert breaker.admit(23.0).gate is Gate.PROBE


def test_a_successful_probe_closes_it() -> None:
    breaker = _breaker(threshold=1, cooldown=10)["p"]
    breaker.failed(0.0, probe=False)
    assert breaker.admit(10.0).gate is Gate.PROBE
    breaker.succeeded()
    assert breaker.admit(10.0).gate is Gate.CALL
    assert not breaker.is_open(10.0)


def test_an_abandoned_probe_lets_the_next_caller_probe() -> None:
    breaker = _breaker(threshold=1, cooldown=10)["p"]
    breaker.failed(0.0, probe=False)
    assert breaker.admit(10.0).gate is Gate.PROBE
    breaker.abandoned(probe=True)
    assert breaker.admit(11.0).gate is Gate.PROBE


def test_a_late_failure_of_an_earlier_call_extends_the_cool_down() -> None:
    breaker = _breaker(threshold=1, cooldown=10)["p"]
    breaker.failed(0.0, probe=False)
    breaker.failed(5.0, probe=False)
    assert breaker.admit(14.0).retry_at == 15.0


def test_each_provider_has_its_own() -> None:
    board = _breaker(threshold=1)
    board["a"].failed(0.0, probe=False)
    assert board["b"].admit(0.0).gate is Gate.CALL
    assert board["a"] is board["a"]
