"""Contract tests for the optional model-management hooks: pull, load_model, unload_model.

Kept beside the main contract (whose class inherits these) so each file stays
readable; the tests are registered, switched by capability and listed in the
guide like every other. They use the model the harness serves (``chat_model``,
else ``embed_model``) and ``missing_model``: a plugin's fake server needs
nothing beyond what its other contract tests already need.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar, TypeVar

from aegis_llm import Capability, Provider, PullProgress
from aegis_llm.errors import ModelNotFound
from aegis_llm.testing._checks import ContractViolation, check_loaded, check_pull, require
from aegis_llm.testing._harness import ContractHarness
from aegis_llm.testing._registry import contract_test

__all__ = ["ModelManagementContract"]

_T = TypeVar("_T")


class ModelManagementContract:
    """The pull / load / unload part of ``ProviderContract`` (subclass that, not this)."""

    missing_model: ClassVar[str]

    @contract_test(
        "Yield PullProgress(status=..., total_bytes=..., completed_bytes=...) for each "
        "step the server reports and end with the server's final state (Ollama: 'success').",
        requires=Capability.PULL,
    )
    def test_pull_ends_in_success(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        model = harness.served_model()
        check_pull(harness.call(_pull, harness.provider(), model), model)

    @contract_test(
        "Map a pull the registry cannot find (an error status, or an error line after "
        "'pulling manifest') to ModelNotFound, never a ProviderError to retry.",
        requires=Capability.PULL,
    )
    def test_pull_unknown_model_raises_model_not_found(
        self, aegis_contract: ContractHarness
    ) -> None:
        _expect_missing(aegis_contract, "pull", _pull, self.missing_model)

    @contract_test(
        "Return ModelInfo(id=<the id that is loaded>, provider=ctx.name) from load_model "
        "once the server says the model is loaded.",
        requires=Capability.LOAD,
    )
    def test_load_returns_model_info(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        model = harness.served_model()
        check_loaded(harness.call(harness.provider().load_model, model), harness.instance, model)

    @contract_test(
        "Return None from unload_model once the server unloaded the model (every instance "
        "of it); load it first if the server refuses to unload what is not loaded.",
        requires=Capability.UNLOAD,
    )
    def test_unload_returns_none(self, aegis_contract: ContractHarness) -> None:
        harness = aegis_contract
        provider = harness.provider()
        model = harness.served_model()
        if Capability.LOAD in harness.info.capabilities:
            harness.call(provider.load_model, model)
        harness.call(provider.unload_model, model)

    @contract_test(
        "Map the server's answer to loading an unknown model to ModelNotFound with a hint "
        "(which models there are), not InvalidRequest or ProviderError.",
        requires=Capability.LOAD,
    )
    def test_load_unknown_model_raises_model_not_found(
        self, aegis_contract: ContractHarness
    ) -> None:
        _expect_missing(aegis_contract, "load_model", _load, self.missing_model)

    @contract_test(
        "Map unloading a model the server does not know to ModelNotFound; look the model "
        "up first if the server's unload call takes an instance id.",
        requires=Capability.UNLOAD,
    )
    def test_unload_unknown_model_raises_model_not_found(
        self, aegis_contract: ContractHarness
    ) -> None:
        _expect_missing(aegis_contract, "unload_model", _unload, self.missing_model)


async def _pull(provider: Provider, model: str) -> list[PullProgress]:
    return [step async for step in provider.pull(model)]


async def _load(provider: Provider, model: str) -> object:
    return await provider.load_model(model)


async def _unload(provider: Provider, model: str) -> None:
    await provider.unload_model(model)


def _expect_missing(
    harness: ContractHarness,
    hook: str,
    operation: Callable[[Provider, str], Awaitable[_T]],
    missing: str,
) -> None:
    """``operation`` on ``missing`` must raise ModelNotFound naming this instance."""

    async def outcome() -> BaseException | None:
        try:
            await operation(harness.provider(), missing)
        except Exception as exc:  # noqa: BLE001 - the check reports any class
            return exc
        return None

    error = harness.call(outcome)
    if error is None:
        raise ContractViolation(f"{hook}({missing!r}) succeeded, but the server lacks the model")
    require(
        isinstance(error, ModelNotFound),
        f"{hook}({missing!r}) raised {type(error).__name__}: {error}; expected ModelNotFound",
    )
    require(
        getattr(error, "provider", None) == harness.instance,
        f"the ModelNotFound from {hook} names provider={getattr(error, 'provider', None)!r}, "
        f"not this instance {harness.instance!r}",
    )
