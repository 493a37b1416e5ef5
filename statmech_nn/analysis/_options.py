"""Analyzer options are the keyword arguments of the pure functions the analyzer wraps: an
unknown name is a one-line :class:`~statmech_nn.errors.ConfigError` listing the accepted ones."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ConfigError

ERROR_METHODS = ("per_point", "moderated")
"""How a replica mean's standard error is estimated (:func:`~.moderated_variance.replica_errors`):
each point's own ``s / sqrt(R)``, or the variance moderated towards a trend. Kept here, free of
scipy, so that option parsing (study files, the CLI) can name the choices cheaply."""


def option_names(*funcs: Callable[..., Any]) -> list[str]:
    """Keyword parameters of ``funcs`` (in order, without duplicates), less ``data``."""
    names: list[str] = []
    for func in funcs:
        for p in inspect.signature(func).parameters.values():
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "data" \
                    and p.name not in names:
                names.append(p.name)
    return names


def check_option_names(analyzer: str, options: Mapping[str, Any], *funcs: Callable[..., Any]) -> None:
    """Raise ConfigError if ``options`` has a key that no function of ``funcs`` accepts."""
    accepted = option_names(*funcs)
    for key in options:
        if key not in accepted:
            raise ConfigError(f"unknown option {key!r} for analyzer {analyzer!r}: expected one of "
                              + ", ".join(accepted))
