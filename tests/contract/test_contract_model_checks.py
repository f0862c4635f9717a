"""The checks behind the pull / load contract tests catch what they claim to."""

from __future__ import annotations

import pytest

from aegis_llm import ModelInfo, PullProgress
from aegis_llm.testing._checks import ContractViolation, check_loaded, check_pull

DONE = PullProgress(status="success")


@pytest.mark.parametrize(
    ("progress", "says"),
    [
        ([], "no PullProgress"),
        ([PullProgress(status="pulling manifest")], "ended with status 'pulling manifest'"),
        (
            [PullProgress(status="pulling ab", total_bytes=10, completed_bytes=11), DONE],
            "11 of 10 bytes",
        ),
    ],
)
def test_a_pull_that_does_not_finish_sensibly_is_a_violation(
    progress: list[PullProgress], says: str
) -> None:
    with pytest.raises(ContractViolation, match=says):
        check_pull(progress, "m")


@pytest.mark.parametrize("last", ["success", "completed", "already_downloaded", "SUCCESS"])
def test_a_pull_ending_in_a_final_state_passes(last: str) -> None:
    check_pull([PullProgress(status="pulling manifest"), PullProgress(status=last)], "m")


def test_a_loaded_model_must_name_this_instance() -> None:
    check_loaded(ModelInfo(id="m", provider="contract_x"), "contract_x", "m")
    with pytest.raises(ContractViolation, match=r"use ctx\.name"):
        check_loaded(ModelInfo(id="m", provider="lmstudio"), "contract_x", "m")
