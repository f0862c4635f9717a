"""Importing aegis-llm, its testing package and its pytest plugin stays cheap.

The pytest plugin is loaded for every project in an environment where
aegis-llm is installed, and the core never needs Hypothesis: each import runs in
a fresh interpreter that reports what it pulled in.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("hypothesis", "aegis_llm.testing._contract", "aegis_llm.testing.fakes")


@pytest.mark.parametrize(
    "module", ["aegis_llm", "aegis_llm.testing", "aegis_llm.testing.pytest_plugin"]
)
def test_import_pulls_in_nothing_heavy(module: str) -> None:
    probe = f"import sys, {module}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == []


def test_the_core_never_imports_testing() -> None:
    probe = "import sys, aegis_llm\nprint('aegis_llm.testing' in sys.modules)\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_lazy_names_resolve() -> None:
    import aegis_llm.testing as testing

    assert testing.ProviderContract.__name__ == "ProviderContract"
    assert "test_chat_well_formed" in testing.CONTRACT_TESTS
    with pytest.raises(AttributeError):
        _ = testing.NoSuchThing
