"""Base class of analyzers, registered by the ``register_analyzers`` hook.

An analyzer is a thin class around a pure function: ``Analyzer.run(data, **options)`` takes an
``xarray.Dataset`` (or ``DataArray``) and returns a *new* ``xarray.Dataset`` (never mutating its
input), with the options it used recorded in ``attrs``. Bad input raises
:class:`statmech_nn.errors.DataError` / :class:`~statmech_nn.errors.ConfigError` with a one-line
message.
"""

from __future__ import annotations

from typing import Any, ClassVar

import xarray as xr


class Analyzer:
    """Subclasses set ``name`` and ``summary`` and implement :meth:`run`."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""

    def run(self, data: xr.Dataset | xr.DataArray, **options: Any) -> xr.Dataset:
        raise NotImplementedError
