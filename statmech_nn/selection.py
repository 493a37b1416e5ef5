"""Fix dimensions of a dataset at coordinate values (``--select DIM=VALUE`` and ``select=``).

Numeric coordinates match to within a relative 1e-9 (absolute 1e-12), so that ``0.1`` typed on a
command line finds ``0.1`` stored as float64; other coordinates match by their text. A dimension
or value that is not there is a one-line :class:`~statmech_nn.errors.DataError` naming what is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .errors import DataError


def select_values(ds: xr.Dataset, selection: Mapping[str, Any] | None, *, drop: bool = False) -> xr.Dataset:
    """``ds`` with each ``dim`` of ``selection`` fixed at its value (kept as a scalar coordinate
    unless ``drop``)."""
    for dim, value in dict(selection or {}).items():
        if dim not in ds.dims:
            raise DataError(f"cannot select {dim}={value!r}: the dataset has no dimension {dim!r} "
                            f"(dimensions: {', '.join(map(str, ds.dims))})")
        coord = ds[dim].values
        if np.issubdtype(coord.dtype, np.number):
            try:
                target = float(value)
            except (TypeError, ValueError):
                raise DataError(f"cannot select {dim}={value!r}: expected a number") from None
            hits = np.flatnonzero(np.isclose(coord.astype(float), target, rtol=1e-9, atol=1e-12))
        else:
            hits = np.flatnonzero(coord.astype(str) == str(value))
        if not hits.size:
            raise DataError(f"{dim} has no value {value}: available values are {coord.tolist()}")
        ds = ds.isel({dim: int(hits[0])}, drop=drop)
    return ds
