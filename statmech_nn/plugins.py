"""The plugin manager and the one typed facade through which core code calls hooks.

:class:`PluginRegistry` loads the built-in plugin (:mod:`statmech_nn.builtin`) and every entry
point of group ``statmech_nn``. Faults of one plugin never take the toolkit down; each is reported
in one warning line naming the plugin, and skipped:

* a plugin that fails to import, or that implements a hook the toolkit does not have (a
  misspelled hook name, found by pluggy's ``check_pending``) or with the wrong signature, is not
  loaded;
* a hook that raises when called (e.g. a lazy import of a missing dependency) contributes
  nothing; the plugin's other hooks still count;
* a hook that returns anything but a list of classes contributes nothing, and a class without a
  ``name`` is skipped (each with its warning);
* two classes of one kind with the same ``name`` make that name ambiguous: looking it up raises
  :class:`~statmech_nn.errors.PluginError` naming both plugins, while every other name of the
  kind keeps working (listing the whole kind, e.g. :meth:`PluginRegistry.experiments`, raises;
  ``statmech-nn plugins`` shows the name under both plugins, marked ambiguous).

Plugins named in the environment variable ``STATMECH_NN_BLOCK_PLUGINS`` (comma-separated) are
not loaded; a name there that is no installed plugin is warned about (a typo would otherwise
block nothing, silently).
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
KIND_HOOKS = tuple(hook for hook, _ in KINDS.values())


@dataclass
class PluginInfo:
    """What the ``plugins`` command shows about one plugin."""

    name: str
    version: str
    origin: str
    registers: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""


@dataclass
class _KindTable:
    """The classes of one kind: usable by name, ambiguous (same name from two plugins), and
    registrations without a name."""

    classes: dict[str, tuple[str, type]] = field(default_factory=dict)
    ambiguous: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _one_line(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
    return (text.splitlines() or [type(exc).__name__])[0]


def _classes_of(returned: Any, hook_name: str) -> list[type]:
    """What a ``register_*`` hook returned, as a list of classes; a :class:`PluginError` for
    anything else (``None`` counts as an empty list)."""
    if returned is None:
        return []
    if not isinstance(returned, (list, tuple)):
        raise PluginError(f"{hook_name} returned {type(returned).__name__}; expected a list of classes")
    for item in returned:
        if not isinstance(item, type):
            raise PluginError(f"{hook_name} returned {item!r}, which is not a class; expected a list of classes")
    return list(returned)


def _implemented_hooks(plugin: Any) -> list[str]:
    """Names of the plugin's attributes marked with :data:`statmech_nn.hookspecs.hookimpl`."""
    marker = f"{hookspecs.PROJECT_NAME}_impl"
    return [attr for attr in dir(plugin) if hasattr(getattr(plugin, attr, None), marker)]


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=3)


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
        self._tables: dict[str, _KindTable] = {}
        blocked = blocked_plugins()
        if load_builtins and BUILTIN_NAME not in blocked:
            from . import builtin

            self.register_plugin(builtin, BUILTIN_NAME, version=_own_version(), origin="statmech_nn.builtin")
        if load_entry_points:
            self._load_entry_points(blocked)

    # -- loading ---------------------------------------------------------------------------
    def _load_entry_points(self, blocked: set[str]) -> None:
        seen = {BUILTIN_NAME}
        for ep in metadata.entry_points(group=hookspecs.PROJECT_NAME):
            seen.add(ep.name)
            if ep.name in blocked or ep.name in self._info:
                continue
            dist = getattr(ep, "dist", None)
            version = dist.version if dist is not None else "unknown"
            origin = f"{dist.name if dist is not None else '?'} ({ep.value})"
            try:
                plugin = ep.load()
                self.register_plugin(plugin, ep.name, version=version, origin=origin)
            except Exception as exc:  # a broken plugin must never take the toolkit down
                message = _one_line(exc)
                _warn(f"statmech_nn plugin {ep.name!r} failed to load and is skipped: {message}")
                self._info[ep.name] = PluginInfo(ep.name, version, origin, error=message)
        unknown = sorted(blocked - seen)
        if unknown:
            _warn(f"{BLOCK_ENV} names no installed plugin: {', '.join(map(repr, unknown))} "
                  f"(installed: {', '.join(sorted(seen))})")

    def register_plugin(self, plugin: Any, name: str, *, version: str = "", origin: str = "") -> None:
        """Register a plugin object (module or instance with hookimpls) under ``name``.

        Raises :class:`PluginError` (and registers nothing) if the name is taken or a hook
        implementation matches no hook specification or has the wrong arguments."""
        if name in self._info:
            raise PluginError(f"a plugin named {name!r} is already registered ({self._info[name].origin})")
        try:
            self._pm.register(plugin, name=name)
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self._pm.get_plugin(name) is not None:
                self._pm.unregister(name=name)
            unknown = [hook for hook in _implemented_hooks(plugin) if hook not in KIND_HOOKS]
            reason = (f"it implements {', '.join(map(repr, unknown))}, which is no hook" if unknown
                      else "; ".join(line.strip() for line in str(exc).split(" in plugin ")[0].splitlines()))
            raise PluginError(f"plugin {name!r} is invalid: {reason} (hooks: {', '.join(KIND_HOOKS)})") from None
        self._info[name] = PluginInfo(name, version or "unknown", origin or repr(plugin))
        self._tables.clear()

    # -- lookup ----------------------------------------------------------------------------
    def _table(self, kind: str) -> _KindTable:
        if kind not in self._tables:
            self._tables[kind] = self._collect(kind)
        return self._tables[kind]

    def _collect(self, kind: str) -> _KindTable:
        hook_name, human = KINDS[kind]
        found: dict[str, list[tuple[str, type]]] = {}
        problems: list[str] = []
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
            try:
                classes = _classes_of(impl.function(), hook_name)
            except Exception as exc:  # e.g. a lazy import of a missing dependency
                message = _one_line(exc)
                _warn(f"statmech_nn plugin {impl.plugin_name!r} failed in {hook_name}, which contributes nothing "
                      f"(its other hooks still count): {message}")
                self._info[impl.plugin_name].error = f"{hook_name}: {message}"
                continue
            for cls in classes:
                name = getattr(cls, "name", None)
                if not isinstance(name, str) or not name:
                    problem = f"plugin {impl.plugin_name!r} registers {human} {cls.__qualname__} without a 'name'"
                    _warn(f"{problem} (a non-empty str class attribute); it is skipped")
                    self._info[impl.plugin_name].error = problem
                    problems.append(problem)
                    continue
                found.setdefault(name, []).append((impl.plugin_name, cls))
        table = _KindTable(problems=problems)
        for name, owners in found.items():
            if len(owners) == 1:
                table.classes[name] = owners[0]
            else:
                plugins = " and ".join(f"plugin {owner!r}" for owner, _ in owners)
                table.ambiguous[name] = f"{human} {name!r} is registered by both {plugins}"
                _warn(f"{table.ambiguous[name]}: that name cannot be used until one is removed or blocked "
                      f"({BLOCK_ENV}); every other {human} works")
        for info in self._info.values():          # a registry re-collects after each plugin added
            info.registers.pop(kind, None)
        for name, owners in found.items():
            label = name if len(owners) == 1 else f"{name} (ambiguous: not usable)"
            for plugin_name, _ in owners:
                self._info[plugin_name].registers.setdefault(kind, []).append(label)
        return table

    def names(self, kind: str) -> list[str]:
        """Names of ``kind`` that can be looked up (ambiguous ones left out)."""
        return sorted(self._table(kind).classes)

    def get(self, kind: str, name: str) -> type:
        """The class registered as ``name`` of ``kind``, or a PluginError listing the choices."""
        table = self._table(kind)
        if name in table.ambiguous:
            raise PluginError(table.ambiguous[name])
        if name not in table.classes:
            human = KINDS[kind][1]
            raise PluginError(f"unknown {human} {name!r}: expected one of {', '.join(self.names(kind)) or '(none)'}")
        return table.classes[name][1]

    def _all(self, kind: str) -> dict[str, type]:
        """Every class of ``kind``; PluginError if any is ambiguous or nameless."""
        table = self._table(kind)
        for message in [*table.ambiguous.values(), *table.problems]:
            raise PluginError(message)
        return {n: c for n, (_, c) in table.classes.items()}

    def experiments(self) -> dict[str, type]:
        return self._all("experiment")

    def experiment(self, name: str) -> type:
        return self.get("experiment", name)

    def analyzers(self) -> dict[str, type]:
        return self._all("analyzer")

    def analyzer(self, name: str) -> type:
        return self.get("analyzer", name)

    def scaling_forms(self) -> dict[str, type]:
        return self._all("scaling_form")

    def scaling_form(self, name: str) -> type:
        return self.get("scaling_form", name)

    def datasets(self) -> dict[str, type]:
        return self._all("dataset")

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
