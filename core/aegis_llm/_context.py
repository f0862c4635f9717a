"""What a provider hook receives besides the request: who it is, its settings, its resources."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Protocol, TypeVar, cast, runtime_checkable

from aegis_llm._settings import AegisSettings, ProviderSettings

__all__ = ["ProviderContext"]

_T = TypeVar("_T")
_S = TypeVar("_S", bound=ProviderSettings)


@runtime_checkable
class _AsyncClosable(Protocol):
    async def aclose(self) -> None: ...


class ProviderContext:
    """One provider instance inside one client.

    ``resource`` gives plugins a place for state that must live exactly as
    long as the client (a connection pool): it is built on first use and
    closed when the client closes, so module-level globals are not needed.
    """

    def __init__(
        self,
        *,
        name: str,
        plugin: str,
        settings: ProviderSettings,
        core: AegisSettings,
    ) -> None:
        self.name = name
        self.plugin = plugin
        self.settings = settings
        self.core = core
        self._resources: dict[str, object] = {}
        self._closers = AsyncExitStack()

    def settings_as(self, kind: type[_S]) -> _S:
        """The settings, typed as the plugin's own class (checked, not cast blindly)."""
        if not isinstance(self.settings, kind):
            raise TypeError(f"{self.name}: settings are {type(self.settings).__name__}")
        return self.settings

    def resource(self, key: str, factory: Callable[[], _T]) -> _T:
        """The resource ``key``, built by ``factory`` on first use."""
        try:
            return cast(_T, self._resources[key])
        except KeyError:
            value = factory()
            self._resources[key] = value
            if isinstance(value, _AsyncClosable):
                self._closers.push_async_callback(value.aclose)
            return value

    async def aclose(self) -> None:
        """Close every resource (connection pools) in reverse order of creation."""
        self._resources.clear()
        await self._closers.aclose()

    def __repr__(self) -> str:
        return f"ProviderContext(name={self.name!r}, plugin={self.plugin!r})"
