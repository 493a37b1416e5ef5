"""Base class of analyzers, registered by the ``register_analyzers`` hook, and what an analyzer
hands to a report.

An analyzer is a thin class around a pure function: ``Analyzer.run(data, **options)`` takes an
``xarray.Dataset`` (or ``DataArray``) and returns a *new* ``xarray.Dataset`` (never mutating its
input), with the options it used recorded in ``attrs``. Bad input raises
:class:`statmech_nn.errors.DataError` / :class:`~statmech_nn.errors.ConfigError` with a one-line
message.

``Analyzer.present(result, data)`` turns that stored result (as read back from its NetCDF file)
into a :class:`Presentation`: tables (every number of which goes to a study's ``summary.json``),
matplotlib figures and warnings, shown by ``statmech-nn study`` / ``statmech-nn report`` in the
report page. It must compute nothing expensive: the report is rebuilt from the files alone.
The default presents the result's scalar-per-point variables as one table (at most
:data:`MAX_DEFAULT_ROWS` rows) and its ``warnings_json`` attribute, if any; a third-party
analyzer overrides it to show its own tables and figures.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from ..errors import PluginError
from ..plugin_faults import plugin_call

#: most rows of the default table (a larger result is summarised by its file, not a table)
MAX_DEFAULT_ROWS = 60


@dataclass
class Table:
    """A table for the report: ``rows`` hold numbers (float, int) or short strings.

    ``key`` names it in ``summary.json`` (unique within one analysis); ``caption`` says what the
    numbers are (with units).
    """

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": list(self.columns),
                "rows": [[json_number(v) for v in row] for row in self.rows], "caption": self.caption}


@dataclass
class FigureItem:
    """A figure for the report: a ``matplotlib.figure.Figure`` and a caption stating its slice."""

    key: str
    caption: str
    figure: Any


@dataclass
class Presentation:
    """What an analyzer shows in a report."""

    tables: list[Table] = field(default_factory=list)
    figures: list[FigureItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def json_number(value: Any) -> Any:
    """A table cell as JSON: numpy scalars to Python, non-finite floats to None, text as is."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.str_):
        return str(value)
    return value


def default_presentation(result: xr.Dataset, title: str) -> Presentation:
    """One table of the numeric variables of ``result`` that share its first variable's dims
    (one row per point of those dims), plus the warnings recorded in ``warnings_json``."""
    numeric = [n for n, v in result.data_vars.items() if np.issubdtype(v.dtype, np.number)]
    tables = []
    if numeric:
        dims = result[numeric[0]].dims
        names = [n for n in numeric if result[n].dims == dims]
        frame = result[names].to_dataframe().reset_index() if dims else None
        if frame is None:
            tables.append(Table("values", title, names, [[result[n].item() for n in names]]))
        elif len(frame) <= MAX_DEFAULT_ROWS:
            tables.append(Table("values", title, [str(c) for c in frame.columns],
                                frame.to_numpy().tolist()))
    warnings = json.loads(result.attrs.get("warnings_json", "[]")) if "warnings_json" in result.attrs else []
    return Presentation(tables=tables, warnings=[str(w) for w in warnings])


class Analyzer:
    """Subclasses set ``name`` and ``summary`` and implement :meth:`run` (and may override
    :meth:`present`)."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""

    def run(self, data: xr.Dataset | xr.DataArray, **options: Any) -> xr.Dataset:
        raise NotImplementedError

    def present(self, result: xr.Dataset, data: xr.Dataset | None = None) -> Presentation:
        """Tables, figures and warnings of a stored ``result`` (``data``: the analysed input)."""
        return default_presentation(result, f"{self.name}: {self.summary}".rstrip(": "))


def run_analyzer(cls: type[Analyzer], data: xr.Dataset, **options: Any) -> xr.Dataset | xr.DataTree:
    """``cls().run(data, **options)`` held to the contract (module docstring), each breach one
    line naming the analyzer and its plugin (:func:`statmech_nn.plugin_faults.plugin_call`): an
    exception of its own code, a result that is not an ``xarray.Dataset`` (or ``DataTree``), or
    an input it changed (checked against a deep copy taken before)."""
    before = data.copy(deep=True)
    with plugin_call("analyzer", cls):
        result = cls().run(data, **options)
    name = getattr(cls, "name", cls.__qualname__)
    if not isinstance(result, (xr.Dataset, xr.DataTree)):
        raise PluginError(f"analyzer {name!r}: run returned {type(result).__name__}, expected an xarray.Dataset")
    if not data.identical(before):
        raise PluginError(f"analyzer {name!r}: run changed its input dataset (values or attributes); it must "
                          "return a new dataset and leave its input as it was")
    return result
