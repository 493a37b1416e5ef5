"""Where a study directory keeps each file (one place, used by the runner and the report)::

    DIR/study.toml                       the study file as given (the report reads it back)
    DIR/sweeps/<grid>.nc                 one sweep per grid
    DIR/analyses/phases.nc               exponents, phases, boundaries (analyzer 'phases')
    DIR/analyses/window_scan.nc          alpha vs fit window (analyzer 'powerlaw_scan')
    DIR/analyses/fss/<comparison>__<form>.nc   one posterior per form and comparison
    DIR/analyses/fss_comparisons.nc      preferred form, score difference, estimates
    DIR/analyses/robustness.nc           boundary, alpha range, preferred form per slice
    DIR/analyses/extra/<analyzer>.nc     analyzers named in [[analysis.analyzers]]
    DIR/summary.json                     every number the report shows
    DIR/report.html                      the report
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StudyLayout:
    root: Path

    @property
    def study_file(self) -> Path:
        return self.root / "study.toml"

    def sweep(self, grid: str) -> Path:
        return self.root / "sweeps" / f"{grid}.nc"

    @property
    def phases(self) -> Path:
        return self.root / "analyses" / "phases.nc"

    @property
    def scan(self) -> Path:
        return self.root / "analyses" / "window_scan.nc"

    def posterior(self, comparison: str, form: str) -> Path:
        return self.root / "analyses" / "fss" / f"{comparison}__{form}.nc"

    @property
    def comparisons(self) -> Path:
        return self.root / "analyses" / "fss_comparisons.nc"

    @property
    def robustness(self) -> Path:
        return self.root / "analyses" / "robustness.nc"

    def extra(self, analyzer: str) -> Path:
        return self.root / "analyses" / "extra" / f"{analyzer}.nc"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def report(self) -> Path:
        return self.root / "report.html"
