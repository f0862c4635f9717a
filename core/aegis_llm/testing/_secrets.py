"""Finding a plugin's secrets where they must never appear.

The suite fills every ``SecretStr`` field of a plugin's settings with a unique
canary, drives the plugin through successes and failures, and then searches
every place a user or a log collector could read for it.
"""

from __future__ import annotations

import secrets
import types
import typing
from collections.abc import Iterable

from pydantic import SecretStr

from aegis_llm import ProviderSettings
from aegis_llm.testing._checks import ContractViolation, error_chain

__all__ = ["make_canary", "search_for_leaks", "secret_fields", "texts_of_error"]


def make_canary() -> str:
    """A value no plugin can produce by chance."""
    return f"aegis-canary-{secrets.token_hex(8)}"


def _holds_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_holds_secret(arg) for arg in typing.get_args(annotation))
    return False


def secret_fields(settings_class: type[ProviderSettings]) -> list[str]:
    """Names of the settings fields typed ``SecretStr`` (or ``SecretStr | None``)."""
    return [
        name
        for name, field in settings_class.model_fields.items()
        if _holds_secret(field.annotation)
    ]


def texts_of_error(error: BaseException) -> list[tuple[str, str]]:
    """Everything an error shows, labelled: message, repr and hint, for it and its causes."""
    found: list[tuple[str, str]] = []
    for depth, link in enumerate(error_chain(error)):
        name = type(link).__name__ if depth == 0 else f"cause {type(link).__name__}"
        found += [(f"{name} message", str(link)), (f"{name} repr", repr(link))]
        hint = getattr(link, "hint", None)
        if hint:
            found.append((f"{name} hint", str(hint)))
    return found


def search_for_leaks(canary: str, places: Iterable[tuple[str, str]]) -> None:
    """Fail naming every place (label, text) where the canary shows."""
    leaks = list(dict.fromkeys(label for label, text in places if canary in text))
    if leaks:
        raise ContractViolation(
            "the secret setting's value appears in: "
            + "; ".join(leaks)
            + " (keep it in a SecretStr and call get_secret_value() only to build headers)"
        )
