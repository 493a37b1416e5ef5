"""Where a study directory keeps each file (one place, used by the runner and the report)::

    DIR/study.toml                       the study file as given (the report reads it back)
    DIR/sweeps/<grid>.nc                 one sweep per grid
    DIR/analyses/phases.nc               exponents, phases, boundaries (analyzer 'phases')
    DIR/analyses/window_scan.nc          alpha vs fit window (analyzer 'powerlaw_scan')
    DIR/analyses/fss/<comparison>__<form>.nc   one posterior per form and comparison (the
                                         comparison named by :func:`slice_part`)
    DIR/analyses/fss_comparisons.nc      preferred form, score difference, estimates
    DIR/analyses/robustness.nc           boundary, alpha range, preferred form per slice
    DIR/analyses/extra/<analyzer>.nc     analyzers named in [[analysis.analyzers]]
    DIR/summary.json                     every number the report shows
    DIR/report.html                      the report
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..digest import sha256_of
from ..errors import ConfigError

#: a name the user gives that becomes a file name in the study directory as it is (a grid's
#: ``sweeps/<grid>.nc``, an analyzer's ``analyses/extra/<name>.nc``, a scaling form's posterior)
FILE_NAME = re.compile(r"[A-Za-z0-9_-]+")
FILE_NAME_ACCEPTED = "a non-empty name of letters, digits, '_' and '-'"
PLAIN_DIM = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
NUMBER_TEXT = re.compile(r"[0-9.e-]+|-?inf|nan")
UNSAFE = re.compile(r"[^A-Za-z0-9._=-]")
MAX_PART = 100
DIGEST_CHARS = 10
#: the file-name part of the empty slice (every point of the FSS grids, when no dim is left to fix)
WHOLE_GRID = "all"


def check_file_name(where: str, name: str) -> str:
    """``name`` if it can be used as a file name in the study directory as it is (:data:`FILE_NAME`:
    no ``/``, ``.``, space or other character a path could misread, not empty); else a one-line
    ConfigError naming ``where`` (e.g. ``grids``), the name and what is accepted."""
    if not FILE_NAME.fullmatch(name):
        raise ConfigError(f"{where}: name {name!r} cannot name a file of the study directory: expected "
                          f"{FILE_NAME_ACCEPTED}")
    return name


def _number_text(value: numbers.Real) -> str:
    """The shortest text that gives ``value`` back: ``32`` for 32 and 32.0 (one slice, as
    :func:`statmech_nn.selection.select_values` matches them), ``0.1000001`` (not ``0.1``)."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    x = float(value)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def slice_part(point: Mapping[str, Any]) -> str:
    """A slice as a file-name part, e.g. ``p_train=0_width=32_depth=4``: only ``[A-Za-z0-9._=-]``,
    readable, and different for different slices.

    The plain text ``dim=value`` joined by ``_`` is used as it is when it cannot be misread:
    every value a number (written exactly, :func:`_number_text`, so 0.1 and 0.1000001 differ),
    every dim name words joined by single underscores (so the ``_`` between entries is
    unambiguous), at most ``MAX_PART`` characters. Otherwise (a text value, which may hold
    ``/``, spaces, ``_`` or ``=``; an odd dim name; a long slice) the text with every other
    character (and a leading ``.``) replaced by ``-`` and cut to ``MAX_PART`` is followed by ``__`` and the first
    ``DIGEST_CHARS`` hex digits of the SHA-256 of the slice (each value tagged number or text),
    which keeps two such slices apart; a plain part never holds ``__``, so it never equals one.
    The empty slice (a study whose dims are all size, control or seed) is :data:`WHOLE_GRID`,
    which holds no ``=``, so no other slice's part equals it either."""
    if not point:
        return WHOLE_GRID
    entries = [(str(d), _number_text(v) if isinstance(v, numbers.Real) else None, v) for d, v in point.items()]
    text = "_".join(f"{d}={str(v) if shown is None else shown}" for d, shown, v in entries)
    plain = all(PLAIN_DIM.fullmatch(d) and shown is not None and NUMBER_TEXT.fullmatch(shown)
                for d, shown, _ in entries)
    if plain and len(text) <= MAX_PART:
        return text
    digest = sha256_of([[d, "number", shown] if shown is not None else [d, "text", str(v)] for d, shown, v in entries])
    safe = UNSAFE.sub("-", text)[:MAX_PART]
    return f"{'-' + safe[1:] if safe.startswith('.') else safe}__{digest[:DIGEST_CHARS]}"


def comparison_name(point: Mapping[str, Any], fit_a: bool, error_model: str) -> str:
    """A comparison's name (and its posterior files' stem): :func:`slice_part` of its slice, then
    ``__fit_a`` with a fitted y-exponent and ``__MODEL`` under an error model other than
    ``independent`` (the default comparison keeps the slice's name alone)."""
    return (slice_part(point) + ("__fit_a" if fit_a else "")
            + ("" if error_model == "independent" else f"__{error_model}"))


def slice_label(point: Mapping[str, Any]) -> str:
    """A slice for people, ``p_train = 0, width = 32``: numbers as ``:g``, other values as they
    are; the empty slice is ``"all points"``."""
    if not point:
        return "all points"
    return ", ".join(f"{d} = {v:g}" if isinstance(v, numbers.Real) else f"{d} = {v}" for d, v in point.items())


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
