"""Finding, validating and isolating plugins.

A plugin that fails to import or validate is recorded with its error and left
out; the others keep working (unlike tools where one broken plugin crashes
the host). ``strict_plugins`` turns that record into an exception for CI.
Loading only imports each entry point's module, so a plugin must keep heavy
imports (torch) out of it; the core checks nothing heavy itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal

import pluggy
from pydantic import BaseModel, ConfigDict

from aegis_llm import _hookspecs
from aegis_llm._capabilities import HOOK_OF, Capability, ProviderInfo
from aegis_llm._hookspecs import PROJECT
from aegis_llm._settings import AegisSettings, ProviderSettings
from aegis_llm.errors import PluginLoadError

__all__ = ["ENTRY_POINT_GROUP", "PluginHost", "PluginStatus"]

ENTRY_POINT_GROUP = "aegis_llm"
_INFO_HOOK = "aegis_llm_provider_info"
_MARK = f"{PROJECT}_impl"


class PluginStatus(BaseModel):
    """What ``aegis-llm providers`` prints for one plugin."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Literal["loaded", "broken", "disabled"]
    kind: Literal["provider", "extension"] | None = None
    version: str | None = None
    capabilities: tuple[str, ...] = ()
    description: str = ""
    source: str | None = None
    error: str | None = None


class _InvalidPluginError(Exception):
    """Raised inside validation; becomes a ``broken`` record."""


class PluginHost:
    """The pluggy manager plus the record of every plugin it tried to load."""

    def __init__(self, settings: AegisSettings, *, discover: bool = True) -> None:
        self._settings = settings
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(_hookspecs)
        self._statuses: dict[str, PluginStatus] = {}
        self._infos: dict[str, ProviderInfo] = {}
        self._callers: dict[tuple[str, str], Any] = {}
        if discover:
            self.load_entry_points(entry_points(group=ENTRY_POINT_GROUP))

    @property
    def plugin_manager(self) -> pluggy.PluginManager:
        return self._pm

    def load_entry_points(self, eps: Iterable[EntryPoint]) -> None:
        for ep in sorted(eps, key=lambda e: e.name):
            source = f"{ep.value} ({ep.dist.name if ep.dist else 'unknown distribution'})"
            if ep.name in self._settings.disable:
                self._statuses[ep.name] = PluginStatus(
                    name=ep.name,
                    status="disabled",
                    source=source,
                    error="disabled by AEGIS_LLM_DISABLE",
                )
                continue
            try:
                plugin = ep.load()
            except BaseException as exc:  # a plugin's import may raise anything, even SystemExit
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._broken(ep.name, source, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register(plugin, ep.name, source=source)

    def register(self, plugin: object, name: str, *, source: str | None = None) -> PluginStatus:
        """Register and validate one plugin (a module, a class or an instance)."""
        if name in self._statuses and self._statuses[name].status == "loaded":
            return self._broken(
                name, source, f"the name {name!r} is already taken by another plugin"
            )
        try:
            if inspect.isclass(plugin):
                plugin = plugin()
            _check_unmarked_hooks(plugin)
            self._pm.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - isolation: any plugin bug becomes a record
            return self._broken(name, source, f"invalid: {type(exc).__name__}: {exc}")
        try:
            status = self._validate(plugin, name, source)
        except Exception as exc:  # noqa: BLE001 - isolation: any plugin bug becomes a record
            self._pm.unregister(plugin)
            return self._broken(name, source, f"invalid: {exc}")
        self._statuses[name] = status
        return status

    def statuses(self) -> list[PluginStatus]:
        return sorted(self._statuses.values(), key=lambda s: s.name)

    def status(self, name: str) -> PluginStatus | None:
        return self._statuses.get(name)

    def info(self, plugin: str) -> ProviderInfo | None:
        return self._infos.get(plugin)

    def instances(self) -> dict[str, str]:
        """Provider instance name -> plugin name: one per provider plugin, plus configured ones."""
        found = {name: name for name in self._infos}
        for name, table in self._settings.providers.items():
            plugin = table.get("plugin", name)
            if isinstance(plugin, str):
                found[name] = plugin
        return found

    def caller(self, plugin: str, hook: str) -> Any:
        """The hook, restricted to one provider plugin (extensions' wrappers stay in)."""
        key = (plugin, hook)
        found = self._callers.get(key)
        if found is None:
            others = [self._pm.get_plugin(name) for name in self._infos if name != plugin]
            found = self._pm.subset_hook_caller(hook, remove_plugins=[p for p in others if p])
            self._callers[key] = found
        return found

    def _validate(self, plugin: object, name: str, source: str | None) -> PluginStatus:
        callers = self._pm.get_hookcallers(plugin) or []
        for caller in callers:
            if caller.spec is None:
                raise _InvalidPluginError(f"{caller.name} is not an aegis-llm hook (a typo?)")
        hooks = {caller.name for caller in callers}
        if _INFO_HOOK not in hooks:
            return PluginStatus(name=name, status="loaded", kind="extension", source=source)
        info = getattr(plugin, _INFO_HOOK)()
        if not isinstance(info, ProviderInfo):
            raise _InvalidPluginError(
                f"{_INFO_HOOK} returned {type(info).__name__}, not ProviderInfo"
            )
        if info.name != name:
            raise _InvalidPluginError(
                f"entry point {name!r} but the plugin calls itself {info.name!r}"
            )
        if not (
            inspect.isclass(info.settings_class)
            and issubclass(info.settings_class, ProviderSettings)
        ):
            raise _InvalidPluginError("settings_class must subclass aegis_llm.ProviderSettings")
        declared = {Capability(c) for c in info.capabilities}
        missing = [c.value for c in declared if c in HOOK_OF and HOOK_OF[c] not in hooks]
        if missing:
            raise _InvalidPluginError(f"declares {missing} but lacks the hooks for them")
        if Capability.TOOLS in declared and not declared & {Capability.CHAT, Capability.STREAM}:
            raise _InvalidPluginError("declares tools but neither chat nor stream")
        self._infos[name] = info
        self._callers.clear()
        return PluginStatus(
            name=name,
            status="loaded",
            kind="provider",
            version=info.version,
            capabilities=tuple(sorted(c.value for c in info.capabilities)),
            description=info.description,
            source=source,
        )

    def _broken(self, name: str, source: str | None, error: str) -> PluginStatus:
        status = PluginStatus(name=name, status="broken", source=source, error=error)
        key = name if name not in self._statuses else f"{name} [{source}]"
        self._statuses[key] = status
        if self._settings.strict_plugins:
            raise PluginLoadError(
                f"plugin {name!r} failed to load: {error}",
                hint="fix or uninstall it, or disable it with AEGIS_LLM_DISABLE",
            )
        return status


def _check_unmarked_hooks(plugin: object) -> None:
    """A hook function without ``@hookimpl`` would be silently ignored by pluggy."""
    for attr in dir(plugin):
        value = getattr(plugin, attr, None)
        if attr.startswith("aegis_llm_") and callable(value) and not hasattr(value, _MARK):
            raise _InvalidPluginError(f"{attr} is not decorated with @aegis_llm.hookimpl")
