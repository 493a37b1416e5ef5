"""NetCDF input/output with atomic writes and one-line errors.

``write_netcdf`` (through :func:`write_atomically`, which every stored file uses) writes to a temporary file in the destination directory and renames it into
place (``os.replace`` is atomic on POSIX), so a reader never sees a half-written file and an
interrupted write never destroys an earlier good one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import xarray as xr

from .errors import DataError, StatmechError


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, with a one-line error, if ``path`` cannot be written (before any work)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise StatmechError(f"output path {str(path)!r} is a directory: give a file name such as out.nc")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StatmechError(f"cannot create output directory {str(parent)!r}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise StatmechError(f"output directory {str(parent)!r} is not writable")
    return path


def write_atomically(path: Path, write: Callable[[str], object]) -> Path:
    """``write(tmp)`` fills a temporary file beside ``path``, which is then fsynced and renamed
    onto ``path`` (``os.replace``, atomic on POSIX). On any failure the temporary file is
    removed and ``path`` is left as it was. Returns ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_netcdf(ds: xr.Dataset | xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a Dataset (or a DataTree, one NetCDF group per node) to ``path`` atomically, in
    NETCDF4 format, and return the path."""
    return write_atomically(check_writable(path), lambda tmp: ds.to_netcdf(tmp, format="NETCDF4", engine="netcdf4"))


def read_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Load a NetCDF file fully into memory (the file is closed on return)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file: {str(path)!r}")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()
    except (OSError, ValueError, RuntimeError) as exc:
        raise DataError(f"cannot read {str(path)!r} as NetCDF: {str(exc).splitlines()[0]}") from None
