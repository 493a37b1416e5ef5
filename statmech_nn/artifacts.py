"""A content-addressed store of arrays that experiments reuse across cells.

Cells hold results; some experiments also produce intermediates worth keeping, such as trained
network weights, so that a later cell needing the same intermediate (the same networks at new
evaluation settings) skips the expensive part. The sweep runner hands an experiment the store
of its cache (:attr:`statmech_nn.experiment.Experiment.artifacts`); the experiment chooses the
keys, which must hash everything the stored arrays depend on.

Layout: ``<root>/<key[:2]>/<key>.npz`` (``numpy.savez``, no pickles) plus a ``.sha256`` sidecar
(:mod:`statmech_nn.digest`); both written atomically, the sidecar last. A missing, truncated or
altered entry is reported, deleted and treated as absent -- never trusted.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .digest import read_verified, write_digest
from .errors import DataError
from .io import write_atomically


class ArtifactStore:
    """Named arrays under SHA-256 keys; see the module docstring for the layout."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def _sidecar(self, key: str) -> Path:
        return self.path(key).with_suffix(".sha256")

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``key`` (data file atomically, then its digest)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

        write_digest(write_atomically(path, write), self._sidecar(key))

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or ``None`` if absent or corrupt (then deleted)."""
        return read_verified(self.path(key), self._sidecar(key), _read_npz, "artifact")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path.name} as npz: {str(exc).splitlines()[0]}") from None
