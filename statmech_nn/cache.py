"""Content-addressed cache of finished sweep cells.

A cell's key is the SHA-256 of everything that determines its numbers: the experiment's
:meth:`~statmech_nn.experiment.Experiment.result_identity` (name, version, options, device)
and the cell's coordinates. Layout of a cache directory:

* ``CACHEDIR.TAG``: the tag of the Cache Directory Tagging standard (https://bford.info/cachedir/;
  backup tools skip the directory), by which a directory is recognised as a cache. Commands that
  inspect or change a cache (:func:`existing_cache`) refuse any other directory, so that a
  mistyped ``--cache-dir`` never has a user's files deleted as corrupt cells; a sweep writes into
  a cache, or a new or empty directory, which it tags before computing its first cell. A cache
  from before the tag (:data:`OLD_CACHE_MARKERS`, no tag) is recognised and tagged;
* ``<key[:2]>/<key>.nc`` + ``<key>.sha256``: the cells, a
  :class:`~statmech_nn.keyed_store.KeyedStore` (atomic writes, digest sidecars; a missing,
  truncated or altered entry is reported, deleted and recomputed -- never trusted; while an
  entry is written its writer holds ``<key[:2]>/.<key>.writing``, so ``verify`` leaves it alone);
* ``points.sqlite``: the point index (:mod:`statmech_nn.point_index`), naming the cell that
  holds each finished grid point, so that a grid planned into different cells (an extended
  grid) still finds the points computed before; derived data, so a corrupt one is moved aside
  and started anew, and a sweep indexes again each cell it finds under its key
  (:meth:`CellCache.reindex`);
* ``leases/``: which process is computing which cell right now (:mod:`statmech_nn.lease`);
* ``artifacts/``: what experiments keep to reuse across cells, such as trained weights
  (:mod:`statmech_nn.artifacts`).

A cell is written in the order data file, point index, digest sidecar: the sidecar marks the
entry complete and an index row counts only once its cell is complete, so a crash at any moment
leaves either a complete, indexed entry or one that is recomputed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from .artifacts import ArtifactStore
from .datasets import data_root
from .digest import sha256_of
from .errors import ConfigError, StatmechError, StorageError
from .experiment import Cell
from .io import read_netcdf, write_atomically
from .keyed_store import KeyedStore
from .lease import lease_path
from .point_index import PointIndex

#: The Cache Directory Tagging standard: a file of this name beginning with this line marks a cache.
TAG_NAME = "CACHEDIR.TAG"
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
_TAG_TEXT = (f"{TAG_SIGNATURE}\n"
             "# This file is a cache directory tag created by statmech_nn (its cell cache).\n"
             "# For information about cache directory tags, see: https://bford.info/cachedir/\n")
_OPTION = "--cache-dir (or STATMECH_NN_DATA)"


def cell_key(identity: dict[str, Any], cell: Cell) -> str:
    """SHA-256 key of a cell under an experiment identity."""
    return sha256_of({"identity": identity, "cell": {dim: list(v) for dim, v in cell.items()}})


def point_key(identity: dict[str, Any], point: dict[str, Any]) -> str:
    """SHA-256 key of one grid point under an experiment identity."""
    return sha256_of({"identity": identity, "point": point})


def default_cache_root(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``<data root>/cache`` (:func:`statmech_nn.datasets.data_root`)."""
    return Path(explicit) if explicit else data_root() / "cache"


def existing_cache(root: str | os.PathLike) -> CellCache:
    """The cache at ``root``, which must be a cache directory (one-line error otherwise,
    :meth:`CellCache.check_recognised`): for commands that inspect or change a cache, where a
    mistyped path must neither read as an empty cache nor lose its files as corrupt cells."""
    cache = CellCache(root)
    cache.check_recognised(new_ok=False)
    return cache


def _tagged(root: Path) -> bool:
    """Whether ``root`` holds a cache directory tag (a ``CACHEDIR.TAG`` beginning with the signature)."""
    try:
        with open(root / TAG_NAME, "rb") as fh:
            return fh.read(len(TAG_SIGNATURE)) == TAG_SIGNATURE.encode()
    except OSError:
        return False


def _write_tag(root: Path) -> None:
    """Write ``root``'s cache directory tag (atomically; raises StorageError if it cannot)."""
    write_atomically(root / TAG_NAME, lambda tmp: Path(tmp).write_text(_TAG_TEXT))


#: what a cache from before the tag holds, any of which marks it: the point index (SQLite, or the
#: per-file folder it replaced), the leases of a sweep stopped before its first cell, the
#: artifacts that ``cache clear`` keeps
OLD_CACHE_MARKERS = ("points.sqlite", "points", "leases", "artifacts")


def _recognised(root: Path) -> bool:
    """Whether the directory ``root`` is a cache: it is tagged, or it holds one of
    :data:`OLD_CACHE_MARKERS` (a cache from before the tag), which is tagged now where the
    directory can be written (a read-only one stays recognised by what it holds)."""
    if _tagged(root):
        return True
    if not any((root / marker).exists() for marker in OLD_CACHE_MARKERS):
        return False
    with contextlib.suppress(StatmechError):
        _write_tag(root)
    return True


def _holds_nothing(root: Path) -> bool:
    """Whether the directory ``root`` is empty but for the temporary of a tag being written
    (another sweep starting on the same new cache at this moment) and a filesystem's
    ``lost+found`` (a dedicated mount)."""
    return all(entry.name.startswith(f".{TAG_NAME}.") or entry.name == "lost+found" for entry in root.iterdir())


@dataclass(frozen=True)
class Damage:
    """A corrupt or incomplete entry found by :meth:`CellCache.verify`."""

    kind: str      # "cell", "artifact" or "point index"
    path: Path
    problem: str
    moved_to: Path | None = None  # where it was moved aside (None: deleted)


def _files_and_bytes(files: Iterable[Path]) -> tuple[int, int]:
    sizes = [f.stat().st_size for f in files if f.is_file()]
    return len(sizes), sum(sizes)


class CellCache:
    """Finished cells under ``root``; see the module docstring for the layout."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.cells: KeyedStore[xr.Dataset] = KeyedStore(self.root, ".nc", read_netcdf, "cache entry")
        self.index = PointIndex(self.root)

    @property
    def artifacts(self) -> ArtifactStore:
        """The store beside the cells for what experiments reuse across cells
        (:class:`~statmech_nn.artifacts.ArtifactStore`, ``<root>/artifacts``)."""
        return ArtifactStore(self.root / "artifacts")

    def check_recognised(self, *, new_ok: bool) -> None:
        """Raise a one-line :class:`ConfigError` naming ``root`` and the option unless it is a
        cache directory (tagged, or of the older layout, which gets its tag) or, with
        ``new_ok`` (a sweep), a directory that does not exist yet or is empty."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise ConfigError(f"cache directory {str(root)!r} is a file, not a directory: give {_OPTION} a directory")
        if not root.exists():
            if new_ok:
                return
            raise ConfigError(f"cache directory {str(root)!r} does not exist (nothing has been cached there): "
                              f"check {_OPTION}")
        if (new_ok and _holds_nothing(root)) or _recognised(root):
            return
        accepted = "a cache directory, or a new or empty one" if new_ok else "a cache directory"
        raise ConfigError(f"{str(root)!r} is not a statmech_nn cache directory (it has no {TAG_NAME}"
                          f"{' and is not empty' if new_ok else ''}): give {_OPTION} {accepted}")

    def check_writable(self) -> None:
        """Raise a one-line :class:`StorageError` naming ``root`` and the option unless cells can
        be written there: ``root``, or where it does not exist yet its nearest existing parent,
        must be a writable directory. Creates nothing (a dry run asks this too)."""
        existing = next(p for p in (self.root.absolute(), *self.root.absolute().parents) if p.exists())
        if not existing.is_dir():
            raise self._unwritable(f"{existing} is a file")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise self._unwritable(f"{existing} is not writable")

    def create(self) -> None:
        """Create ``root`` and write its tag (afresh: a real write proves the directory writable),
        before the first cell is computed; a one-line :class:`StorageError` if it cannot be."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _write_tag(self.root)
        except OSError as exc:
            raise self._unwritable(exc.strerror or str(exc)) from None
        except StorageError as exc:
            raise self._unwritable(str(exc)) from None

    def _unwritable(self, reason: str) -> StorageError:
        return StorageError(f"cache directory {str(self.root)!r} cannot be written ({reason}): "
                            f"give {_OPTION} a writable directory")

    def path(self, key: str) -> Path:
        return self.cells.path(key)

    def contains(self, key: str) -> bool:
        """Cheap presence test (no digest check)."""
        return self.cells.contains(key)

    def load(self, key: str) -> xr.Dataset | None:
        """The cached cell, or ``None`` if absent or corrupt (a corrupt entry is deleted)."""
        return self.cells.load(key)

    def _has(self, key: str, *, verify: bool) -> bool:
        """Whether cell ``key`` is there (``verify=True``: and passes its digest check)."""
        return self.cells.problem(key) is None if verify else self.cells.contains(key)

    def sources(self, point_keys: Sequence[str], *, verify: bool = False) -> dict[str, str]:
        """``{point key: key of the cell holding it}`` for the points whose cell is there
        (``verify=True``: and passes its digest check, re-hashing each cell once)."""
        found = self.index.lookup(point_keys)
        good = {cell for cell in set(found.values()) if self._has(cell, verify=verify)}
        return {p: cell for p, cell in found.items() if cell in good}

    def reindex(self, key: str, point_keys: Sequence[str], *, verify: bool = False) -> bool:
        """Whether cell ``key`` is there (``verify=True``: and passes its digest check); if so,
        its points are recorded in the index again -- for a cell whose rows went with a corrupt
        index (:mod:`statmech_nn.point_index`), so that it is found by its points again."""
        if not self._has(key, verify=verify):
            return False
        self.index.record(key, point_keys)
        return True

    def store(self, key: str, ds: xr.Dataset, point_keys: Sequence[str] = ()) -> Path:
        """Write a cell (data file, point index, digest sidecar; see the module docstring)."""
        return self.cells.save(key, lambda tmp: ds.to_netcdf(tmp, format="NETCDF4", engine="netcdf4"),
                               before_sealing=lambda: self.index.record(key, point_keys))

    def usage(self) -> dict[str, tuple[int, int]]:
        """``(files, bytes)`` of the cells (with their digests), the point index (with corrupt
        copies set aside) and the artifacts."""
        return {"cells": _files_and_bytes(self.cells.files()),
                "points": _files_and_bytes([*self.index.files(), *self.index.legacy.rglob("*")]),
                "artifacts": _files_and_bytes(self.artifacts.root.rglob("*"))}

    def verify(self) -> list[Damage]:
        """Check the point index (a corrupt one is moved aside, and a new one started) and
        re-hash every cell and artifact; delete each corrupt or incomplete one (and its index
        rows) and return what was found. Cells another process is computing right now (their
        lease is held) and entries another process is writing (their write lease is held,
        :meth:`KeyedStore.discard_if_damaged`) are left alone."""
        damage = []
        moved = self.index.set_aside_if_damaged()
        if moved is not None:
            damage.append(Damage("point index", self.index.path, *moved))
        busy = {p.name for p in (self.root / "leases").glob("*")}
        for kind, store in (("cell", self.cells), ("artifact", self.artifacts.entries)):
            for key in list(store.keys()):
                problem = None if key in busy else store.discard_if_damaged(key)
                if problem is not None:
                    damage.append(Damage(kind, store.path(key), problem))
        self.index.forget(d.path.stem for d in damage if d.kind == "cell")
        return damage

    def clear_cells(self) -> None:
        """Delete every cell and the point index (artifacts and the tag stay)."""
        for key in list(self.cells.keys()):
            self.cells.drop(key)
        for shard in self.root.glob("??"):
            if shard.is_dir() and not any(shard.iterdir()):
                shard.rmdir()
        self.index.clear()

    def clear_artifacts(self) -> None:
        """Delete the artifacts (cells stay; what they held is recomputed when next needed)."""
        shutil.rmtree(self.artifacts.root, ignore_errors=True)

    def lease(self, key: str) -> Path:
        """Where the lease of cell ``key`` lives (:mod:`statmech_nn.lease`)."""
        return lease_path(self.root, key)
