"""Lazy public names (PEP 562): a package lists its public API in ``__all__`` and imports each
name's module only when the name is first used, so ``import statmech_nn`` stays light (no
lmfit, emcee or matplotlib until an analysis is asked for; never torch)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``name`` from the module ``where[name]`` (relative
    to ``package``); other names raise AttributeError as usual."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name], package), name)

    return __getattr__
