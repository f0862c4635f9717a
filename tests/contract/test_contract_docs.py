"""The plugin authors' guide lists every contract test with the line pytest shows on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegis_llm.testing import CONTRACT_TESTS, ContractTest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugin-authors.md"


@pytest.mark.parametrize("test", list(CONTRACT_TESTS.values()), ids=list(CONTRACT_TESTS))
def test_the_guide_lists_each_contract_test(test: ContractTest) -> None:
    row = next(
        (line for line in GUIDE.read_text().splitlines() if line.startswith(f"| `{test.name}` |")),
        None,
    )
    assert row is not None, f"{test.name} is missing from the table in {GUIDE.name}"
    assert row.rstrip().endswith(f"| {test.troubleshooting} |"), row


def test_the_guide_lists_no_test_that_does_not_exist() -> None:
    listed = {
        line.split("`")[1] for line in GUIDE.read_text().splitlines() if line.startswith("| `test_")
    }
    assert listed == set(CONTRACT_TESTS)
