"""Dataset input/output with atomic writes and one-line errors.

Every stored file goes through :func:`write_atomically`: the writer fills a temporary file (or
directory, for Zarr) with a unique name beside the destination, which is fsynced and renamed
into place (``os.replace`` is atomic on POSIX), then the directory is fsynced. A reader never
sees a half-written file, an interrupted write never destroys an earlier good one, two
processes writing the same destination never share a temporary file, and a failed write leaves
no temporary file behind. The temporary file is created with mode 0666 filtered by the umask,
as any new file is, so collaborators on a shared machine can read outputs when the umask lets
them (``tempfile.mkstemp`` would make every output 0600).

Failures become one line: a full filesystem is "no space left on device: PATH" whatever
library was writing (netCDF reports only "HDF error"), any other OS error names the path and
the reason.

Output format follows the name: ``*.zarr`` is a Zarr store (a directory), anything else NetCDF-4.
Every array of a NetCDF file is stored with HDF5's Fletcher-32 checksum (:func:`with_checksums`),
so a damaged file fails to read, with one line, instead of giving altered numbers.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import xarray as xr

from .errors import ConfigError, DataError, StatmechError, StorageError

#: A write that failed while its filesystem had less than this free is reported as a full disk.
FULL_DISK_MARGIN = 1 << 20


def check_writable(path: str | os.PathLike, *, inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """Fail early, with a one-line error, if ``path`` cannot be written (before any work): a
    ``.zarr`` name without zarr >= 3 installed, a directory, an unwritable place; or if it is one
    of the command's ``inputs`` (writing would replace what is being read)."""
    path = Path(path)
    if _is_zarr(path):
        _require_zarr(path)
    for given in inputs:
        if given is not None and path.exists() and Path(given).exists() and os.path.samefile(path, given):
            raise StatmechError(f"output path {str(path)!r} is the input {str(given)!r}: writing would replace it; "
                                "give another output name")
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir() and not _is_zarr(path):
        raise StatmechError(f"output path {str(path)!r} is a directory: give a file name such as out.nc")
    if path.is_dir() and not any((path / marker).exists() for marker in ZARR_MARKERS):
        raise StatmechError(f"output path {str(path)!r} is a directory that holds no Zarr store: writing would "
                            "replace it and everything in it; give another name or delete it")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StatmechError(f"cannot create output directory {str(parent)!r}: {exc.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise StatmechError(f"output directory {str(parent)!r} is not writable")
    probe = parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.probe"
    try:                                    # root passes os.access everywhere; /proc still refuses files
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as exc:
        raise StatmechError(f"cannot write {str(path)!r}: its directory refuses new files ({exc.strerror})") from None
    return path


def storage_error(exc: BaseException, path: Path, *, probe: Path | None = None) -> StorageError | None:
    """The one-line error for a failed write of ``path``, or ``None`` if ``exc`` is not about
    storage. A full filesystem is recognised by its errno, or, for libraries that hide it
    (netCDF/HDF5 with its own negative codes, SQLite), by the filesystem of ``probe`` (default:
    ``path``'s directory) having less than :data:`FULL_DISK_MARGIN` free when the write failed;
    an operating-system error with another errno is itself the reason (``/proc`` has no free
    space and refuses files for another one)."""
    code = getattr(exc, "errno", None)
    os_reason = isinstance(exc, OSError) and isinstance(code, int) and code > 0
    if code in (errno.ENOSPC, errno.EDQUOT) or (not os_reason and _nearly_full(probe or path.parent)):
        return StorageError(f"no space left on device: {path}")
    if isinstance(exc, OSError):
        return StorageError(f"cannot write {path}: {exc.strerror or exc}")
    return None


def _nearly_full(directory: Path) -> bool:
    try:
        fs = os.statvfs(directory)
    except OSError:
        return False
    free_blocks = fs.f_bfree if os.geteuid() == 0 else fs.f_bavail
    return free_blocks * fs.f_frsize < FULL_DISK_MARGIN


def write_atomically(path: str | os.PathLike, write: Callable[[str], object], *, directory: bool = False) -> Path:
    """``write(tmp)`` fills a new temporary file (``directory=True``: an empty directory) beside
    ``path``, which is then fsynced and renamed onto ``path``. On any failure the temporary is
    removed, ``path`` is left as it was, and storage failures are raised as one-line
    :class:`StatmechError` (:func:`storage_error`). Returns ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        if directory:
            os.mkdir(tmp, 0o777)
        else:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        write(str(tmp))
        _fsync_tree(tmp)
        _replace(tmp, path)
        _fsync(path.parent)
    except BaseException as exc:
        error = storage_error(exc, path) if isinstance(exc, Exception) and not isinstance(exc, StatmechError) else None
        _remove(tmp)
        if error is not None:
            raise error from None
        raise
    return path


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file, or a directory's entries) to disk; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    if path.is_dir():
        for sub, _, files in os.walk(path):
            for name in files:
                _fsync(Path(sub) / name)
    _fsync(path)


def _replace(tmp: Path, path: Path) -> None:
    """Rename ``tmp`` onto ``path``; an existing directory ``path`` is moved aside first and
    deleted after (a rename cannot replace a non-empty directory)."""
    if not (tmp.is_dir() and path.is_dir()):
        os.replace(tmp, path)
        return
    old = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.old")
    os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


#: files at the top of a Zarr store (format 3; format 2): an existing directory without one is
#: the user's, never replaced by a store
ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray")


#: the extensions of a NetCDF output's name (anything else but ``.zarr`` is refused for a dataset)
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf", ".cdf")


def check_dataset_name(path: str | os.PathLike, *, zarr: bool = True) -> None:
    """A one-line :class:`ConfigError` unless ``path`` names a dataset file: a NetCDF extension
    (:data:`NETCDF_SUFFIXES`) or, where ``zarr``, a ``.zarr`` store. ``-o out.txt`` or ``out.csv``
    would otherwise get NetCDF bytes under a name that promises something else."""
    accepted = NETCDF_SUFFIXES + ((".zarr",) if zarr else ())
    suffix = Path(path).suffix
    if suffix not in accepted:
        kinds = "NetCDF" + (" or a Zarr store" if zarr else "")
        raise ConfigError(f"output {str(path)!r}: expected a name ending in {', '.join(accepted)} ({kinds}), "
                          f"not {suffix or '(no extension)'!r}")


def _is_zarr(path: Path) -> bool:
    return path.suffix == ".zarr"


def _require_zarr(path: Path) -> None:
    """A one-line error unless zarr >= 3 (the format-3 stores :func:`write_zarr` writes) is installed."""
    try:
        import zarr
    except ImportError:
        zarr = None
    if zarr is None or int(zarr.__version__.split(".")[0]) < 3:
        found = f"zarr {zarr.__version__} is installed" if zarr else "zarr is not installed"
        raise StatmechError(f"writing {str(path)!r} as Zarr needs zarr >= 3 ({found}): "
                            "pip install 'statmech-nn[zarr]', or give a .nc name")


def write_dataset(ds: xr.Dataset | xr.DataTree, path: str | os.PathLike) -> Path:
    """Write ``ds`` to ``path`` atomically: a Zarr store if the name ends in ``.zarr``
    (:func:`write_zarr`), NetCDF-4 otherwise (:func:`write_netcdf`). Returns the path."""
    return (write_zarr if _is_zarr(Path(path)) else write_netcdf)(ds, path)


def with_checksums(ds: xr.Dataset | xr.DataTree, store: str = "netcdf") -> xr.Dataset | xr.DataTree:
    """A shallow copy of ``ds`` whose arrays carry a checksum per chunk, verified by the library
    as it reads each chunk, so that a flipped bit fails the read instead of giving other numbers.

    ``store="netcdf"``: chunked storage with HDF5's Fletcher-32 filter (a failed check reads as
    "HDF error"). ``store="zarr"``: the Zarr 3 codec chain ``zstd`` then ``crc32c`` (a failed
    check is "Stored and computed checksum do not match"). Scalars and strings are left as they
    are (HDF5 filters need chunked, fixed-size data)."""
    if store == "netcdf":
        checked = {"fletcher32": True, "contiguous": False}
    else:
        from zarr.codecs import Crc32cCodec, ZstdCodec

        checked = {"compressors": (ZstdCodec(), Crc32cCodec())}
    copy = ds.copy()
    for node in copy.subtree if isinstance(copy, xr.DataTree) else (copy,):
        for var in node.variables.values():
            if var.ndim and var.dtype != object:
                var.encoding = {**var.encoding, **checked}
    return copy


def write_netcdf(ds: xr.Dataset | xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a Dataset (or a DataTree, one NetCDF group per node) to ``path`` atomically, in
    NETCDF4 format, its arrays checksummed (:func:`with_checksums`), and return the path."""
    path = check_writable(path)
    checked = with_checksums(ds)
    return write_atomically(path, lambda tmp: checked.to_netcdf(tmp, format="NETCDF4", engine="netcdf4"))


def write_zarr(ds: xr.Dataset | xr.DataTree, path: str | os.PathLike) -> Path:
    """Write a Dataset (or a DataTree) to the Zarr store ``path`` atomically (a whole new
    store renamed into place), its arrays checksummed (:func:`with_checksums`), and return the path.

    The store is Zarr format 3 and has no consolidated metadata: consolidated metadata is not
    part of the Zarr 3 specification (zarr warns on every write), and a local store opens
    quickly without it. Every chunk is written, all-NaN ones too (zarr skips them by default
    and reads a missing chunk as NaN), so that a chunk lost in a copy is detected on reading
    (:func:`read_dataset`)."""
    path = check_writable(path)
    checked = with_checksums(ds, "zarr")
    return write_atomically(path, lambda tmp: checked.to_zarr(tmp, mode="w", consolidated=False, zarr_format=3,
                                                              write_empty_chunks=True), directory=True)


def read_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Load a NetCDF file or a Zarr store (``*.zarr``) fully into memory. A store is read
    from its per-array metadata (``consolidated=False``), which every store has, so that
    stores written without consolidated metadata (:func:`write_zarr`) open without a warning."""
    path = Path(path)
    if not _is_zarr(path):
        return read_netcdf(path)
    if not path.exists():
        raise DataError(f"no such file: {str(path)!r}")
    try:
        _check_chunks_present(path)
        with xr.open_zarr(path, consolidated=False) as ds:
            return ds.load()
    except DataError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        if "checksum" in first:
            first = "the store is damaged (a chunk's checksum does not match its data)"
        elif "decompression" in first.lower():
            first = f"the store is damaged ({first})"
        raise DataError(f"cannot read {str(path)!r} as Zarr: {first}") from None


def _check_chunks_present(path: Path) -> None:
    """A :class:`DataError` when a store written by :func:`write_zarr` (its arrays end their
    codec chain in CRC32C) lacks a chunk: zarr would read the lost chunk as NaN, which in a
    sweep means "not measured". Stores from other writers may leave empty chunks out."""
    import zarr
    from zarr.codecs import Crc32cCodec

    arrays = [(name, node) for name, node in zarr.open_group(path, mode="r").members(max_depth=None)
              if isinstance(node, zarr.Array)]
    if not any(node.metadata.zarr_format == 3 and isinstance(node.metadata.codecs[-1], Crc32cCodec)
               for _, node in arrays):
        return
    for name, node in arrays:
        if node.nchunks_initialized < node.nchunks:
            raise DataError(f"cannot read {str(path)!r} as Zarr: the store is damaged (array {name!r} has "
                            f"{node.nchunks_initialized} of its {node.nchunks} chunks)")


def read_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Load a NetCDF file fully into memory (the file is closed on return)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file: {str(path)!r}")
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            return ds.load()
    except (OSError, ValueError, RuntimeError) as exc:
        raise DataError(netcdf_read_error(path, exc)) from None


def netcdf_read_error(path: Path, exc: BaseException) -> str:
    """The one line for a NetCDF file that could not be read: netCDF says only "HDF error" for a
    failed checksum or a damaged HDF5 structure, so that case says what it means."""
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    damaged = " (the file is damaged: a checksum or structure check of its HDF5 data failed)" if "HDF error" in first else ""
    return f"cannot read {str(path)!r} as NetCDF: {first}{damaged}"
