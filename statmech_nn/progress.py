"""Progress bars for long work: tqdm with an ETA on a terminal, silent otherwise."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def progress_bar(total: int, desc: str, *, enabled: bool | None = None) -> tqdm:
    """A tqdm bar; ``enabled=None`` shows it only when stderr is a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit="unit", disable=not enabled, dynamic_ncols=True,
                file=sys.stderr, smoothing=0.1)
