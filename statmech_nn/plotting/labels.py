"""Axis labels from CF attributes: the one place that turns metadata into label text.

``axis_label(x)`` is ``"long_name [units]"``; the units are left out when they are ``"1"``
(dimensionless, CF) or empty; without ``long_name`` the variable's name stands in. Labels
longer than :data:`WRAP` characters are wrapped onto several lines, so that a descriptive
``long_name`` never runs off a small figure.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

DIMENSIONLESS = ("", "1")
WRAP = 40


def axis_label(obj: Any, name: str | None = None) -> str:
    """Label of a DataArray / Variable (anything with ``.attrs``) or of an attribute mapping.

    ``name`` overrides the fallback name (default: ``obj.name``, else ``"value"``).
    """
    attrs: Mapping[str, Any] = obj if isinstance(obj, Mapping) else getattr(obj, "attrs", {})
    fallback = name if name is not None else getattr(obj, "name", None)
    text = str(attrs.get("long_name") or fallback or "value")
    units = str(attrs.get("units", "")).strip()
    return textwrap.fill(text if units in DIMENSIONLESS else f"{text} [{units}]", WRAP)


def format_value(value: Any) -> str:
    """A coordinate value as a figure shows it: numbers with ``:g``, anything else as text."""
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return str(value)


def slice_title(data: Any, point: Mapping[str, Any] | None = None) -> str:
    """``"p_train = 0, width = 32, depth = 4"``: the values of ``point`` (first, in its order),
    then of every scalar or size-1 dim coordinate of ``data`` (canonical order): what a figure
    states about the slice it shows. Empty when nothing is fixed."""
    fixed: dict[str, Any] = {}
    coords = getattr(data, "coords", {})
    for name, coord in coords.items():
        if coord.ndim == 0 or (coord.ndim == 1 and coord.size == 1 and coord.dims == (name,)):
            fixed[str(name)] = coord.values.reshape(-1)[0]
    from ..schema import ordered_dims

    point = dict(point or {})
    rest = {d: fixed[d] for d in ordered_dims(fixed) if d not in point}
    return ", ".join(f"{d} = {format_value(v)}" for d, v in {**point, **rest}.items())
