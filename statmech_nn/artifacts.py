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
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .digest import digest_problem, write_digest


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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        write_digest(path, self._sidecar(key))

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or ``None`` if absent or corrupt (then deleted)."""
        path, sidecar = self.path(key), self._sidecar(key)
        if not path.exists() and not sidecar.exists():
            return None
        problem = digest_problem(path, sidecar)
        if problem is None:
            try:
                with np.load(path, allow_pickle=False) as stored:
                    return {name: stored[name] for name in stored.files}
            except (OSError, ValueError) as exc:
                problem = str(exc).splitlines()[0]
        warnings.warn(f"artifact {path.name} is corrupt ({problem}); recomputing it", RuntimeWarning, stacklevel=2)
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        return None
