"""Progress of long work, on a terminal and in batch jobs.

On a terminal: a tqdm bar with an ETA. Without one (a batch job's log, a pipe): one line per
finished cell on stderr, with the work done so far and an ETA, so that a job's log shows where
a sweep stands -- a bar would print nothing readable there. The ETA is the elapsed time times
the remaining over the finished work, in the experiment's cost units
(:meth:`~statmech_nn.experiment.Experiment.cell_cost`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from tqdm.auto import tqdm


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class SweepProgress:
    """Progress of ``n_cells`` cells worth ``total`` cost units. ``enabled``: ``None`` -- a bar
    on a terminal, log lines otherwise; ``True`` -- a bar; ``False`` -- nothing."""

    def __init__(self, total: int, n_cells: int, desc: str, *, enabled: bool | None = None,
                 stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.mode = "off" if enabled is False else "bar" if enabled or self.stream.isatty() else "log"
        self.total, self.n_cells, self.desc = total, n_cells, desc
        self.done_units, self.done_cells = 0, 0
        self.start = time.monotonic()
        self.bar = tqdm(total=total, desc=desc, unit="unit", disable=self.mode != "bar", dynamic_ncols=True,
                        file=self.stream, smoothing=0.1)

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.bar.close()

    def add_cell(self, cost: int) -> None:
        """One more cell to compute (a cached piece turned out corrupt)."""
        self.total += cost
        self.n_cells += 1
        self.bar.total = self.total
        self.bar.refresh()

    def cell(self, cost: int) -> Callable[[int], None]:
        """A callback advancing the bar by units done inside a cell of ``cost`` (never past it)."""
        reported = 0

        def advance(units: int) -> None:
            nonlocal reported
            units = max(0, min(units, cost - reported))
            reported += units
            self.bar.update(units)

        advance.remaining = lambda: cost - reported  # type: ignore[attr-defined]
        return advance

    def cell_done(self, label: str, cost: int, advance: Callable[[int], None] | None = None) -> None:
        """Cell ``label`` is finished (``advance``: its callback from :meth:`cell`, if any)."""
        if advance is not None:
            advance(advance.remaining())  # type: ignore[attr-defined]
        else:
            self.bar.update(cost)
        self.done_units += cost
        self.done_cells += 1
        if self.mode == "log":
            elapsed = time.monotonic() - self.start
            left = elapsed * (self.total - self.done_units) / self.done_units if self.done_units else float("nan")
            percent = 100 * self.done_units / self.total if self.total else 100.0
            print(f"{self.desc}: {self.done_cells}/{self.n_cells} cells ({percent:.0f}%), {label} done; "
                  f"elapsed {_clock(elapsed)}, ETA {_clock(left) if left == left else '?'}",
                  file=self.stream, flush=True)
