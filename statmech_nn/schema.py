"""The dataset contract (``docs/data_model.md``): dimension names, order, types and CF metadata.

Experiments emit ``xarray.Dataset`` objects whose dimensions are a subset of :data:`DIMS` in
that order (other experiments may add their own dimensions after them), every coordinate and
variable carries ``long_name`` and ``units``, and global attributes record provenance.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .digest import canonical_json, sha256_of
from .errors import ConfigError, DataError

#: The canonical dimensions of the reference study, in canonical order.
DIMS = ("p_train", "p_eval", "N", "width", "depth", "seed")

#: CF attributes of the canonical coordinates.
COORD_ATTRS: dict[str, dict[str, str]] = {
    "p_train": {"long_name": "training dropout rate", "units": "1"},
    "p_eval": {"long_name": "evaluation dropout (pruning) rate", "units": "1"},
    "N": {"long_name": "number of training samples", "units": "1"},
    "width": {"long_name": "hidden-layer width", "units": "1"},
    "depth": {"long_name": "number of hidden layers", "units": "1"},
    "seed": {"long_name": "independent training run", "units": "1"},
}

#: dtype of each canonical coordinate.
COORD_DTYPES = {"p_train": np.float64, "p_eval": np.float64, "N": np.int64,
                "width": np.int64, "depth": np.int64, "seed": np.int64}


def check_canonical_coordinate(dim: str, value: Any, maximum: int | None = None) -> Any:
    """Validate one value of a canonical dimension; return it with the canonical type.

    Rates ``p_*`` must be numbers in [0, 1); ``N``, ``width``, ``depth`` integers >= 1;
    ``seed`` an integer >= 0; an integer dimension also ``<= maximum`` when one is given (an
    experiment's own limit, e.g. the size of its training set). Raises a one-line
    :class:`ConfigError` otherwise.
    """
    if dim.startswith("p_"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ConfigError(f"{dim} = {value!r}: expected a number in [0, 1)")
        return float(value)
    if dim in ("N", "width", "depth", "seed"):
        low = 0 if dim == "seed" else 1
        if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
                or (maximum is not None and value > maximum)):
            accepted = f"an integer >= {low}" if maximum is None else f"an integer in [{low}, {maximum}]"
            raise ConfigError(f"{dim} = {value!r}: expected {accepted}")
        return int(value)
    return value


def ordered_dims(dims: Any) -> list[str]:
    """Canonical dims first in canonical order, then any others in their given order."""
    dims = list(dims)
    return [d for d in DIMS if d in dims] + [d for d in dims if d not in DIMS]


def netcdf_safe_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes NetCDF can hold: bools become ints, None becomes "", dicts/lists JSON."""
    safe: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, bool):
            safe[key] = int(value)
        elif value is None:
            safe[key] = ""
        elif isinstance(value, (dict, list, tuple)) and not _is_numeric_sequence(value):
            safe[key] = canonical_json(value)
        else:
            safe[key] = value
    return safe


def _is_numeric_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )


def provenance_attrs(*, title: str, source: str, config: Any, history: str, **extra: Any) -> dict[str, Any]:
    """Global attributes of the contract: title, source, date_created, history, config + hash."""
    return netcdf_safe_attrs({
        "title": title,
        "source": source,
        "date_created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "history": history,
        "config_json": canonical_json(config),
        "config_sha256": sha256_of(config),
        "Conventions": "CF-1.10",
        **extra,
    })


def set_coord_attrs(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with canonical coordinate dtypes and CF attributes filled in."""
    ds = ds.copy()
    for name, attrs in COORD_ATTRS.items():
        if name in ds.coords:
            ds[name] = ds[name].astype(COORD_DTYPES[name])
            ds[name].attrs.update(attrs)
    return ds


def validate_dataset(ds: xr.Dataset, required_vars: tuple[str, ...] = ()) -> None:
    """Raise :class:`DataError` unless ``ds`` satisfies the dataset contract.

    Checks: required variables exist; every canonical dim is a coordinate of the right kind
    (rates in [0, 1), integer sizes); every variable and coordinate has ``long_name`` and
    ``units``.
    """
    for var in required_vars:
        if var not in ds.data_vars:
            raise DataError(f"dataset has no variable {var!r}: it has {', '.join(map(str, ds.data_vars)) or '(none)'}")
    for dim in ds.dims:
        if dim in COORD_DTYPES:
            if dim not in ds.coords:
                raise DataError(f"dimension {dim!r} has no coordinate")
            values = ds[dim].values
            if COORD_DTYPES[dim] is np.float64:
                if not np.all((values >= 0) & (values < 1)):
                    raise DataError(f"coordinate {dim} has values outside [0, 1): {values}")
            elif not np.issubdtype(values.dtype, np.integer):
                raise DataError(f"coordinate {dim} must be integer, got dtype {values.dtype}")
    for name, var in list(ds.data_vars.items()) + list(ds.coords.items()):
        for key in ("long_name", "units"):
            if key not in var.attrs:
                raise DataError(f"variable {name!r} lacks the CF attribute {key!r}")
