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
