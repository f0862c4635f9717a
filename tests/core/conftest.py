import pytest


@pytest.fixture(autouse=True)
def _in_empty_dir(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No aegis-llm.toml or pyproject.toml of the checkout is picked up by accident."""
    monkeypatch.chdir(tmp_path)
