"""The dataset contract (``docs/data_model.md``): dimension names, order, types and CF metadata.

Experiments emit ``xarray.Dataset`` objects whose dimensions are a subset of :data:`DIMS` in
that order (other experiments may add their own dimensions after them), every coordinate and
variable carries ``long_name`` and ``units``, and global attributes record provenance.
"""

from __future__ import annotations

import datetime as _dt
import functools
import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
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


CONVENTIONS = "CF-1.10"
#: third-party packages whose versions every output records (read from installed metadata)
PROVENANCE_PACKAGES = ("numpy", "scipy", "xarray", "netCDF4", "lmfit", "emcee", "pluggy")


def software_versions() -> str:
    """``"statmech-nn 0.1.0; numpy 2.1.3; ..."``: the versions behind a result (none imported)."""
    parts = []
    for package in ("statmech-nn", *PROVENANCE_PACKAGES):
        try:
            parts.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return "; ".join(parts)


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())      # scans every installed package: once


def distribution_of(cls: type) -> str:
    """``"NAME VERSION"`` of the installed distribution providing the module that defines ``cls``
    (e.g. ``"statmech-nn-mnist-dropout 0.1.0"``), or ``""`` for a class of no installed package
    (a script's, a test's)."""
    for dist in _distributions().get(cls.__module__.split(".")[0], []):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return ""


@functools.cache
def git_commit() -> str:
    """Commit of the git checkout the package runs from (``+dirty`` with uncommitted changes),
    or ``""`` for an installed copy or without git: results then carry the version alone."""
    package = Path(__file__).resolve().parent
    try:
        top = subprocess.run(["git", "-C", str(package), "rev-parse", "--show-toplevel", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True).stdout.split()
        if len(top) != 2 or Path(top[0]).resolve() != package.parent:
            return ""  # a copy installed inside some other repository
        dirty = subprocess.run(["git", "-C", str(package), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return top[1] + ("+dirty" if dirty else "")


def _software_attrs() -> dict[str, str]:
    commit = git_commit()
    return {"software_versions": software_versions(), **({"git_commit": commit} if commit else {})}


def provenance_attrs(*, title: str, source: str, config: Any, history: str, **extra: Any) -> dict[str, Any]:
    """Global attributes of the contract: title, source, date_created, history, config + hash,
    Conventions, software versions and the git commit where there is one."""
    return netcdf_safe_attrs({
        "title": title,
        "source": source,
        "date_created": _now(),
        "history": history,
        "config_json": canonical_json(config),
        "config_sha256": sha256_of(config),
        "Conventions": CONVENTIONS,
        **_software_attrs(),
        **extra,
    })


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def without_coordinate_fill(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` whose coordinates will be written without ``_FillValue`` (CF 2.5.1: a coordinate
    variable must not have one; xarray gives every float variable ``_FillValue = NaN`` by
    default). A shallow copy: the data are shared."""
    ds = ds.copy()
    for name in ds.coords:
        ds[name].encoding["_FillValue"] = None
    return ds


def cf_output(result: xr.Dataset | xr.DataTree, *, title: str, history: str,
              inputs: Sequence[xr.Dataset] = (), source: str = "") -> xr.Dataset | xr.DataTree:
    """An analysis result made ready to hand to a collaborator (passes ``compliance-checker
    --test cf:1.10``): the CF global attributes ``Conventions``, ``title``, ``history`` (each
    input's history, then ``date: history``), ``source``, ``date_created``; provenance -- each
    input's ``config_sha256`` (``input_config_sha256``, comma-separated), software versions, git
    commit; attributes NetCDF can hold; no ``_FillValue`` on coordinates (every node of a
    DataTree). The result's own attributes win over none of these but are kept otherwise.

    The one place outputs get their CF and provenance attributes: the sweep writes its own
    (:func:`provenance_attrs`); every analysis output, whichever command or study writes it,
    goes through here.
    """
    hashes = [str(d.attrs["config_sha256"]) for d in inputs if "config_sha256" in d.attrs]
    earlier = [str(d.attrs["history"]) for d in inputs if d.attrs.get("history")]
    from . import __version__

    attrs = {**result.attrs, "Conventions": CONVENTIONS, "title": title,
             "history": "\n".join([*earlier, f"{_now()}: {history}"]),
             "source": source or f"statmech_nn {__version__}", "date_created": _now(),
             **_software_attrs(), **({"input_config_sha256": ",".join(hashes)} if hashes else {})}
    if isinstance(result, xr.DataTree):
        tree = result.map_over_datasets(without_coordinate_fill)
        tree.attrs = netcdf_safe_attrs(attrs)
        return tree
    out = without_coordinate_fill(result)
    out.attrs = netcdf_safe_attrs(attrs)
    return out


def set_coord_attrs(ds: xr.Dataset) -> xr.Dataset:
    """Return ``ds`` with canonical coordinate dtypes and CF attributes filled in, and every
    coordinate set to be written without ``_FillValue`` (:func:`without_coordinate_fill`)."""
    ds = ds.copy()
    for name, attrs in COORD_ATTRS.items():
        if name in ds.coords:
            ds[name] = ds[name].astype(COORD_DTYPES[name])
            ds[name].attrs.update(attrs)
    return without_coordinate_fill(ds)


def data_variable(ds: xr.Dataset, var: str) -> xr.DataArray:
    """``ds[var]``, or a one-line :class:`DataError` naming the variables ``ds`` has."""
    if var not in ds.data_vars:
        raise DataError(f"dataset has no variable {var!r}: it has {', '.join(map(str, ds.data_vars)) or '(none)'}")
    return ds[var]


def axis_values(values: Any, name: str, role: str, *, positive: bool = False, distinct: bool = True) -> np.ndarray:
    """The values of the coordinate ``name`` that an analysis uses as its ``role`` axis (``"size"``,
    ``"control"``), as a flat float array, checked where the data enter: integers or floats (not
    text, booleans or dates), all finite (and ``> 0`` with ``positive``), and with ``distinct``
    (the coordinate of a dimension: a grid) no value twice. Raises a one-line :class:`DataError`
    naming the coordinate and the offending dtype or value otherwise."""
    values = np.asarray(values)
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        shown = ", ".join(map(str, values.ravel()[:5].tolist()))
        raise DataError(f"{role} coordinate {name!r} has dtype {values.dtype} ({shown}): expected numbers "
                        "(integers or floats)")
    values = values.astype(float).ravel()
    bad = ~np.isfinite(values) | ((values <= 0) if positive else False)
    if bad.any():
        raise DataError(f"{role} coordinate {name!r} holds {values[bad][0]:g} ({int(bad.sum())} of {values.size} "
                        f"values): expected finite numbers{' > 0' if positive else ''}")
    if distinct:
        unique, counts = np.unique(values, return_counts=True)
        if (counts > 1).any():
            k = int(np.argmax(counts > 1))
            raise DataError(f"{role} dimension {name!r} repeats the value {unique[k]:g} ({counts[k]} times among "
                            f"{values.size}): expected each value once (merge or drop the repeated {name})")
    return values


def validate_dataset(ds: xr.Dataset, required_vars: tuple[str, ...] = ()) -> None:
    """Raise :class:`DataError` unless ``ds`` satisfies the dataset contract.

    Checks: required variables exist; every canonical dim is a coordinate of the right kind
    (rates in [0, 1), integer sizes); every variable and coordinate has ``long_name`` and
    ``units``.
    """
    for var in required_vars:
        data_variable(ds, var)
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
