"""Content-addressed cache of finished sweep cells.

A cell's key is the SHA-256 of everything that determines its numbers: the experiment's
:meth:`~statmech_nn.experiment.Experiment.result_identity` (name, version, options, device)
and the cell's coordinates. Each entry is ``<root>/<key[:2]>/<key>.nc`` plus a sidecar
``<key>.sha256`` holding the digest of the ``.nc`` file; both are written atomically, the sidecar
last. An entry whose file is missing, truncated or altered fails the digest check and is
reported, deleted and recomputed -- never trusted.

A point index (``<root>/points/<key[:2]>/<key>``, keyed like cells but by one grid point)
names the cell file holding each finished point, so that a grid planned into different cells
(an extended grid) still finds the points computed before.

``<root>/artifacts`` holds what experiments keep to reuse across cells, such as trained weights
(:mod:`statmech_nn.artifacts`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from .artifacts import ArtifactStore
from .datasets import data_root
from .digest import read_verified, write_digest
from .experiment import Cell
from .io import read_netcdf, write_netcdf
from .schema import sha256_of


def cell_key(identity: dict[str, Any], cell: Cell) -> str:
    """SHA-256 key of a cell under an experiment identity."""
    return sha256_of({"identity": identity, "cell": {dim: list(v) for dim, v in cell.items()}})


def point_key(identity: dict[str, Any], point: dict[str, Any]) -> str:
    """SHA-256 key of one grid point under an experiment identity."""
    return sha256_of({"identity": identity, "point": point})


def default_cache_root(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``<data root>/cache`` (:func:`statmech_nn.datasets.data_root`)."""
    return Path(explicit) if explicit else data_root() / "cache"


def _files_and_bytes(root: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    return len(sizes), sum(sizes)


class CellCache:
    """Finished cells under ``root``; see the module docstring for the layout."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    @property
    def artifacts(self) -> ArtifactStore:
        """The store beside the cells for what experiments reuse across cells
        (:class:`~statmech_nn.artifacts.ArtifactStore`, ``<root>/artifacts``)."""
        return ArtifactStore(self.root / "artifacts")

    def usage(self) -> dict[str, tuple[int, int]]:
        """``(files, bytes)`` of the cells (with their digests), the point index and the artifacts."""
        everything = _files_and_bytes(self.root)
        points = _files_and_bytes(self.root / "points")
        artifacts = _files_and_bytes(self.artifacts.root)
        cells = (everything[0] - points[0] - artifacts[0], everything[1] - points[1] - artifacts[1])
        return {"cells": cells, "points": points, "artifacts": artifacts}

    def clear_artifacts(self) -> None:
        """Delete the artifacts (cells stay; what they held is recomputed when next needed)."""
        shutil.rmtree(self.artifacts.root, ignore_errors=True)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.nc"

    def _sidecar(self, key: str) -> Path:
        return self.path(key).with_suffix(".sha256")

    def contains(self, key: str) -> bool:
        """Cheap presence test (no digest check): used by ``--dry-run``."""
        return self.path(key).exists() and self._sidecar(key).exists()

    def load(self, key: str) -> xr.Dataset | None:
        """The cached cell, or ``None`` if absent or corrupt (a corrupt entry is deleted)."""
        return read_verified(self.path(key), self._sidecar(key), read_netcdf, "cache entry")

    def _pointer(self, pkey: str) -> Path:
        return self.root / "points" / pkey[:2] / pkey

    def source_of(self, pkey: str) -> str | None:
        """Key of the cell file that holds the point ``pkey``, if that file is there."""
        pointer = self._pointer(pkey)
        if not pointer.exists():
            return None
        key = pointer.read_text().strip()
        return key if self.contains(key) else None

    def _index_points(self, key: str, pkeys: list[str]) -> None:
        """Record that cell ``key`` holds the points ``pkeys`` (atomic per pointer)."""
        for pkey in pkeys:
            pointer = self._pointer(pkey)
            pointer.parent.mkdir(parents=True, exist_ok=True)
            tmp = pointer.with_suffix(".tmp")
            tmp.write_text(key + "\n")
            os.replace(tmp, pointer)

    def store(self, key: str, ds: xr.Dataset, point_keys: Sequence[str] = ()) -> xr.Dataset:
        """Write a cell atomically, index its points, and return it as read back from disk (so
        that results are byte-identical whether a cell was just computed or loaded).

        Order: data file, point pointers, digest sidecar. The sidecar marks the entry complete,
        and pointers count only once their cell is complete, so a crash at any moment leaves
        either a complete, indexed entry or one that is recomputed.
        """
        path = write_netcdf(ds, self.path(key))
        self._index_points(key, list(point_keys))
        write_digest(path, self._sidecar(key))
        return read_netcdf(path)
