"""Content-addressed cache of finished sweep cells.

A cell's key is the SHA-256 of everything that determines its numbers: the experiment's
:meth:`~statmech_nn.experiment.Experiment.result_identity` (name, version, options, device)
and the cell's coordinates. Layout of a cache directory:

* ``<key[:2]>/<key>.nc`` + ``<key>.sha256``: the cells, a
  :class:`~statmech_nn.keyed_store.KeyedStore` (atomic writes, digest sidecars; a missing,
  truncated or altered entry is reported, deleted and recomputed -- never trusted; while an
  entry is written its writer holds ``<key[:2]>/.<key>.writing``, so ``verify`` leaves it alone);
* ``points.sqlite``: the point index (:mod:`statmech_nn.point_index`), naming the cell that
  holds each finished grid point, so that a grid planned into different cells (an extended
  grid) still finds the points computed before;
* ``leases/``: which process is computing which cell right now (:mod:`statmech_nn.lease`);
* ``artifacts/``: what experiments keep to reuse across cells, such as trained weights
  (:mod:`statmech_nn.artifacts`).

A cell is written in the order data file, point index, digest sidecar: the sidecar marks the
entry complete and an index row counts only once its cell is complete, so a crash at any moment
leaves either a complete, indexed entry or one that is recomputed.
"""

from __future__ import annotations

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
from .errors import StatmechError
from .experiment import Cell
from .io import read_netcdf
from .keyed_store import KeyedStore
from .lease import lease_path
from .point_index import PointIndex


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
    """The cache at ``root``, which must be a directory (one-line error otherwise): for
    commands that inspect a cache, where a mistyped path must not read as an empty cache."""
    root = Path(root)
    if root.is_file():
        raise StatmechError(f"cache directory {str(root)!r} is a file, not a cache directory")
    if not root.is_dir():
        raise StatmechError(f"cache directory {str(root)!r} does not exist (nothing has been cached there)")
    return CellCache(root)


@dataclass(frozen=True)
class Damage:
    """A corrupt or incomplete entry found by :meth:`CellCache.verify`."""

    kind: str      # "cell" or "artifact"
    path: Path
    problem: str


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

    def path(self, key: str) -> Path:
        return self.cells.path(key)

    def contains(self, key: str) -> bool:
        """Cheap presence test (no digest check)."""
        return self.cells.contains(key)

    def load(self, key: str) -> xr.Dataset | None:
        """The cached cell, or ``None`` if absent or corrupt (a corrupt entry is deleted)."""
        return self.cells.load(key)

    def sources(self, point_keys: Sequence[str], *, verify: bool = False) -> dict[str, str]:
        """``{point key: key of the cell holding it}`` for the points whose cell is there
        (``verify=True``: and passes its digest check, re-hashing each cell once)."""
        found = self.index.lookup(point_keys)
        good = {cell for cell in set(found.values())
                if (self.cells.problem(cell) is None if verify else self.cells.contains(cell))}
        return {p: cell for p, cell in found.items() if cell in good}

    def store(self, key: str, ds: xr.Dataset, point_keys: Sequence[str] = ()) -> Path:
        """Write a cell (data file, point index, digest sidecar; see the module docstring)."""
        return self.cells.save(key, lambda tmp: ds.to_netcdf(tmp, format="NETCDF4", engine="netcdf4"),
                               before_sealing=lambda: self.index.record(key, point_keys))

    def usage(self) -> dict[str, tuple[int, int]]:
        """``(files, bytes)`` of the cells (with their digests), the point index and the artifacts."""
        return {"cells": _files_and_bytes(self.cells.files()),
                "points": _files_and_bytes([self.index.path, *self.index.legacy.rglob("*")]),
                "artifacts": _files_and_bytes(self.artifacts.root.rglob("*"))}

    def verify(self) -> list[Damage]:
        """Re-hash every cell and artifact; delete each corrupt or incomplete one (and its
        index rows) and return what was found. Cells another process is computing right now
        (their lease is held) and entries another process is writing (their write lease is
        held, :meth:`KeyedStore.discard_if_damaged`) are left alone."""
        damage = []
        busy = {p.name for p in (self.root / "leases").glob("*")}
        for kind, store in (("cell", self.cells), ("artifact", self.artifacts.entries)):
            for key in list(store.keys()):
                problem = None if key in busy else store.discard_if_damaged(key)
                if problem is not None:
                    damage.append(Damage(kind, store.path(key), problem))
        self.index.forget(d.path.stem for d in damage if d.kind == "cell")
        return damage

    def clear_cells(self) -> None:
        """Delete every cell and the point index (artifacts stay)."""
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
