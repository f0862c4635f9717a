"""Model aliases: one logical name for the same model under each provider's own id.

LM Studio calls a model ``llama-3.2-3b-instruct`` where Ollama says
``llama3.2:3b``; failing over between them only makes sense if the caller can
name the model once. An alias is also the user's statement that two ids are
the same weights, which is what the embedding-space guard relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["AliasMap", "AliasTable"]

AliasMap = Mapping[str, Mapping[str, str]]
"""``{logical name: {provider instance: that provider's model id}}``."""


class AliasTable:
    """Resolves a logical model name per provider instance; unknown names pass through."""

    __slots__ = ("_table",)

    def __init__(self, *layers: AliasMap) -> None:
        """Merge ``layers`` in order: a later layer wins per (alias, instance) pair.

        The client passes the settings' aliases first and the ones given in
        code last, so code can add one provider's id without repeating the rest.
        """
        table: dict[str, dict[str, str]] = {}
        for layer in layers:
            for alias, ids in layer.items():
                table.setdefault(alias, {}).update(ids)
        self._table = table

    def resolve(self, model: str, instance: str) -> str:
        ids = self._table.get(model)
        if ids is None:
            return model
        return ids.get(instance, model)

    def unmapped(self, model: str, instances: Iterable[str]) -> list[str]:
        """The ``instances`` for which ``model`` names no id (all of them if not an alias)."""
        ids = self._table.get(model, {})
        return [name for name in instances if name not in ids]

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {alias: dict(ids) for alias, ids in self._table.items()}

    def __repr__(self) -> str:
        return f"AliasTable({self._table!r})"
