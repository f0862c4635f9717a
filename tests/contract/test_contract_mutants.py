"""The suite's power: every deliberately broken plugin variant makes it fail.

One pytest run (a subprocess, so the mutants' leaked connections and generators
cannot disturb this session) executes the example plugin's own contract class
unchanged, which must pass entirely, and one subclass per mutant that swaps in
the broken plugin, where each contract test listed in ``CAUGHT_BY`` must fail.
Mutants run only the tests expected to catch them, so the whole check takes
seconds; the unchanged run proves those same tests pass on a correct plugin.
"""

from __future__ import annotations

import contract_mutants
import pytest
from contract_runs import Run, run_module

MODULE = """
from hypothesis import Phase, settings

from aegis_llm.testing import CONTRACT_DEFAULTS, CONTRACT_PROFILE

# Registered before the contract module loads, as the guide shows: a caught mutant
# needs no minimal example, and shrinking one costs seconds.
settings.register_profile(
    CONTRACT_PROFILE, CONTRACT_DEFAULTS, phases=[Phase.explicit, Phase.generate]
)

import contract_mutants
from test_echo_contract import TestEchoContract


def _contract_for(mutant):
    return type(
        f"Test{mutant.__name__}",
        (TestEchoContract,),
        {
            "load_plugin": classmethod(lambda cls: mutant()),
            # A mutant may declare more than the example (tools): its tests must run.
            "capabilities": mutant().aegis_llm_provider_info().capabilities,
        },
    )


for _mutant in (*contract_mutants.CAUGHT_BY, *contract_mutants.BASELINES):
    globals()[f"Test{_mutant.__name__}"] = _contract_for(_mutant)
"""


def _selection() -> str:
    """A -k expression: the unchanged class entirely, each mutant's expected catchers only."""
    parts = ["TestEchoContract"]
    for baseline, tests in contract_mutants.BASELINES.items():
        parts.append(f"(Test{baseline.__name__} and ({' or '.join(tests)}))")
    for mutant, tests in contract_mutants.CAUGHT_BY.items():
        parts.append(f"(Test{mutant.__name__} and ({' or '.join(tests)}))")
    return " or ".join(parts)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_module(tmp_path_factory.mktemp("mutants"), MODULE, "-k", _selection())


def test_the_unchanged_plugin_passes(run: Run) -> None:
    unchanged = run.outcomes("TestEchoContract")
    assert not unchanged.get("failed"), unchanged.get("failed")
    assert len(unchanged["passed"]) >= 30


@pytest.mark.parametrize(
    ("baseline", "tests"),
    [(b.__name__, tests) for b, tests in contract_mutants.BASELINES.items()],
    ids=[b.__name__ for b in contract_mutants.BASELINES],
)
def test_each_baseline_passes_what_its_mutants_fail(
    run: Run, baseline: str, tests: tuple[str, ...]
) -> None:
    outcomes = run.outcomes(f"Test{baseline}")
    assert outcomes == {"passed": set(tests)}, outcomes


@pytest.mark.parametrize(
    ("mutant", "catchers"),
    [(m.__name__, tests) for m, tests in contract_mutants.CAUGHT_BY.items()],
    ids=[m.__name__ for m in contract_mutants.CAUGHT_BY],
)
def test_each_mutant_is_caught(run: Run, mutant: str, catchers: tuple[str, ...]) -> None:
    failed = run.outcomes(f"Test{mutant}").get("failed", set())
    assert set(catchers) <= failed, f"{mutant} slipped past {set(catchers) - failed}"
