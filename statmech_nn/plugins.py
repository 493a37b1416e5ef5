"""The plugin manager and the one typed facade through which core code calls hooks.

:class:`PluginRegistry` loads the built-in plugin (:mod:`statmech_nn.builtin`) and every entry
point of group ``statmech_nn``. A plugin that fails to import is reported with a warning
naming it and its error, and skipped; the rest keeps working. Plugins named in the
environment variable ``STATMECH_NN_BLOCK_PLUGINS`` (comma-separated) are not loaded. Two
classes of one kind with the same ``name`` raise :class:`~statmech_nn.errors.PluginError`
naming both plugins.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError

BLOCK_ENV = "STATMECH_NN_BLOCK_PLUGINS"
BUILTIN_NAME = "builtin"

#: kind -> (hook name, human name of one item)
KINDS = {
    "experiment": ("register_experiments", "experiment"),
    "analyzer": ("register_analyzers", "analyzer"),
    "scaling_form": ("register_scaling_forms", "scaling form"),
    "dataset": ("register_datasets", "dataset"),
}


@dataclass
class PluginInfo:
    """What the ``plugins`` command shows about one plugin."""

    name: str
    version: str
    origin: str
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""


def blocked_plugins() -> set[str]:
    """Plugin names listed in ``STATMECH_NN_BLOCK_PLUGINS``."""
    return {n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip()}


class PluginRegistry:
    """Plugins and the named classes they register.

    ``load_entry_points=False`` gives a registry with only the built-ins (tests, or a clean
    environment); :meth:`register_plugin` adds a plugin object at run time.
    """

    def __init__(self, *, load_entry_points: bool = True, load_builtins: bool = True):
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._tables: dict[str, dict[str, tuple[str, type]]] = {}
        blocked = blocked_plugins()
        if load_builtins and BUILTIN_NAME not in blocked:
            from . import builtin

            self.register_plugin(builtin, BUILTIN_NAME, version=_own_version(), origin="statmech_nn.builtin")
        if load_entry_points:
            self._load_entry_points(blocked)

    # -- loading ---------------------------------------------------------------------------
    def _load_entry_points(self, blocked: set[str]) -> None:
        for ep in metadata.entry_points(group=hookspecs.PROJECT_NAME):
            if ep.name in blocked or ep.name in self._info:
                continue
            dist = getattr(ep, "dist", None)
            version = dist.version if dist is not None else "unknown"
            origin = f"{dist.name if dist is not None else '?'} ({ep.value})"
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must never take the toolkit down
                message = f"{type(exc).__name__}: {exc}".splitlines()[0]
                warnings.warn(f"statmech_nn plugin {ep.name!r} failed to load and is skipped: {message}",
                              RuntimeWarning, stacklevel=2)
                self._info[ep.name] = PluginInfo(ep.name, version, origin, error=message)
                continue
            self.register_plugin(plugin, ep.name, version=version, origin=origin)

    def register_plugin(self, plugin: Any, name: str, *, version: str = "", origin: str = "") -> None:
        """Register a plugin object (module or instance with hookimpls) under ``name``."""
        if name in self._info:
            raise PluginError(f"a plugin named {name!r} is already registered ({self._info[name].origin})")
        self._pm.register(plugin, name=name)
        self._info[name] = PluginInfo(name, version or "unknown", origin or repr(plugin))
        self._tables.clear()

    # -- lookup ----------------------------------------------------------------------------
    def _table(self, kind: str) -> dict[str, tuple[str, type]]:
        if kind not in self._tables:
            self._tables[kind] = self._collect(kind)
        return self._tables[kind]

    def _collect(self, kind: str) -> dict[str, tuple[str, type]]:
        hook_name, human = KINDS[kind]
        table: dict[str, tuple[str, type]] = {}
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
            for cls in impl.function() or []:
                name = getattr(cls, "name", None)
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin {impl.plugin_name!r} registers {human} {cls!r} without a 'name'")
                if name in table:
                    raise PluginError(
                        f"{human} {name!r} is registered by both plugin {table[name][0]!r} and plugin {impl.plugin_name!r}"
                    )
                table[name] = (impl.plugin_name, cls)
        for plugin_name, _ in table.values():
            self._info[plugin_name].registers[kind] = []
        for name, (plugin_name, _) in table.items():
            self._info[plugin_name].registers[kind].append(name)
        return table

    def names(self, kind: str) -> list[str]:
        return sorted(self._table(kind))

    def get(self, kind: str, name: str) -> type:
        """The class registered as ``name`` of ``kind``, or a PluginError listing the choices."""
        table = self._table(kind)
        if name not in table:
            human = KINDS[kind][1]
            raise PluginError(f"unknown {human} {name!r}: expected one of {', '.join(sorted(table)) or '(none)'}")
        return table[name][1]

    def experiments(self) -> dict[str, type]:
        return {n: c for n, (_, c) in self._table("experiment").items()}

    def experiment(self, name: str) -> type:
        return self.get("experiment", name)

    def analyzers(self) -> dict[str, type]:
        return {n: c for n, (_, c) in self._table("analyzer").items()}

    def analyzer(self, name: str) -> type:
        return self.get("analyzer", name)

    def scaling_forms(self) -> dict[str, type]:
        return {n: c for n, (_, c) in self._table("scaling_form").items()}

    def scaling_form(self, name: str) -> type:
        return self.get("scaling_form", name)

    def datasets(self) -> dict[str, type]:
        return {n: c for n, (_, c) in self._table("dataset").items()}

    def dataset(self, name: str) -> type:
        return self.get("dataset", name)

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or failed, with what it registers."""
        for kind in KINDS:
            self._table(kind)
        return sorted(self._info.values(), key=lambda p: (p.name != BUILTIN_NAME, p.name))


def _own_version() -> str:
    from . import __version__

    return __version__


_REGISTRY: PluginRegistry | None = None


def get_registry() -> PluginRegistry:
    """The process-wide registry (built-ins + installed entry points), created on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = PluginRegistry()
    return _REGISTRY
