"""torch's OpenMP threads spin briefly when st_cpu loads torch, unless the user chose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aegis_llm_st_cpu._openmp import short_spins_while_torch_loads

SPINS = "GOMP_SPINCOUNT"
CHOICES = (SPINS, "OMP_WAIT_POLICY")

# Records the spin count in force when torch is first imported, then loads a
# model through the registry as the first embed does.
FIRST_LOAD = """
import json, os, sys
from pathlib import Path

seen = {}

class RecordSpins:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and "spins" not in seen:
            seen["spins"] = os.environ.get("GOMP_SPINCOUNT")

sys.meta_path.insert(0, RecordSpins())
from aegis_llm_st_cpu._registry import MODELS, ModelKey

MODELS.get_or_load(ModelKey(Path(sys.argv[1]), False), name="tiny", provider="st_cpu")
print(json.dumps({"at_import": seen.get("spins"), "after": os.environ.get("GOMP_SPINCOUNT")}))
"""


@pytest.fixture
def torch_not_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh process: nothing chosen by the user, torch not imported yet."""
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    for name in CHOICES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("torch_not_loaded")
def test_short_spins_while_torch_loads_then_gone() -> None:
    with short_spins_while_torch_loads():
        assert os.environ[SPINS] == "1000"
    assert SPINS not in os.environ


@pytest.mark.usefixtures("torch_not_loaded")
def test_gone_even_when_the_import_fails() -> None:
    with pytest.raises(ImportError), short_spins_while_torch_loads():
        raise ImportError("no torch")
    assert SPINS not in os.environ


@pytest.mark.usefixtures("torch_not_loaded")
@pytest.mark.parametrize(("name", "value"), [(SPINS, "0"), ("OMP_WAIT_POLICY", "ACTIVE")])
def test_the_users_choice_wins(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with short_spins_while_torch_loads():
        assert os.environ.get(SPINS) == (value if name == SPINS else None)
    assert os.environ[name] == value


def test_nothing_is_set_once_torch_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenMP read its environment when torch loaded it: a variable now would only mislead."""
    import torch  # noqa: F401  # loaded, as it is for an application that uses torch itself

    for name in CHOICES:
        monkeypatch.delenv(name, raising=False)
    with short_spins_while_torch_loads():
        assert SPINS not in os.environ


def test_the_first_model_load_imports_torch_with_short_spins(tiny_model: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in CHOICES}
    done = subprocess.run(
        [sys.executable, "-c", FIRST_LOAD, str(tiny_model)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"at_import": "1000", "after": None}
