"""A content-addressed store of arrays that experiments reuse across cells.

Cells hold results; some experiments also produce intermediates worth keeping, such as trained
network weights, so that a later cell needing the same intermediate (the same networks at new
evaluation settings) skips the expensive part. The sweep runner hands an experiment the store
of its cache (:attr:`statmech_nn.experiment.Experiment.artifacts`); the experiment chooses the
keys, which must hash everything the stored arrays depend on.

Entries are ``.npz`` files (``numpy.savez``, no pickles) in a
:class:`~statmech_nn.keyed_store.KeyedStore`: written atomically, sealed by a digest sidecar; a
truncated or altered entry is reported, deleted and treated as absent, one without its digest
(being sealed by another process, or interrupted) is absent until the next save replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import DataError
from .keyed_store import KeyedStore


class ArtifactStore:
    """Named arrays under SHA-256 keys, in a :class:`KeyedStore` of ``.npz`` files."""

    def __init__(self, root: str | os.PathLike):
        self.entries: KeyedStore[dict[str, np.ndarray]] = KeyedStore(root, ".npz", _read_npz, "artifact")

    @property
    def root(self) -> Path:
        return self.entries.root

    def path(self, key: str) -> Path:
        return self.entries.path(key)

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``key``."""

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)

        self.entries.save(key, write)

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or ``None`` if absent or corrupt (then deleted)."""
        return self.entries.load(key)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path.name} as npz: {str(exc).splitlines()[0]}") from None
