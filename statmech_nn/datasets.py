"""External datasets that plugins can fetch and verify (``statmech-nn data fetch NAME``).

A :class:`DataSource` is registered by the ``register_datasets`` hook. The root directory is,
in order: an explicit argument, the environment variable ``STATMECH_NN_DATA``, or ``data/``
beside the package (the repository's ``data/`` folder in a checkout).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

DATA_ENV = "STATMECH_NN_DATA"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """Directory where datasets are cached and results are written by default."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return Path(__file__).resolve().parent.parent / "data"


class DataSource:
    """Subclasses set ``name``/``summary`` and implement :meth:`fetch`."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""

    def fetch(self, root: Path) -> Path:
        """Make the dataset present and verified under ``root``; return its directory."""
        raise NotImplementedError
