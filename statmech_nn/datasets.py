"""External datasets that plugins can fetch and verify (``statmech-nn data fetch NAME``).

A :class:`DataSource` is registered by the ``register_datasets`` hook. The root directory is
:func:`data_root`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

DATA_ENV = "STATMECH_NN_DATA"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """The folder of downloaded datasets, the cell cache and default results, in order: an
    explicit argument, the environment variable ``STATMECH_NN_DATA``, the checkout's ``data/``
    when the package runs from a source checkout (an editable install: its parent folder holds
    ``pyproject.toml``), else the user's data folder, ``$XDG_DATA_HOME/statmech_nn``
    (``~/.local/share/statmech_nn``; ``%LOCALAPPDATA%\\statmech_nn`` on Windows) -- never the
    installed package's own folder."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "data"
    user = os.environ.get("XDG_DATA_HOME") or os.environ.get("LOCALAPPDATA") or Path.home() / ".local" / "share"
    return Path(user) / "statmech_nn"


class DataSource:
    """Subclasses set ``name``/``summary`` and implement :meth:`fetch`."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""

    def fetch(self, root: Path) -> Path:
        """Make the dataset present and verified under ``root``; return its directory."""
        raise NotImplementedError
