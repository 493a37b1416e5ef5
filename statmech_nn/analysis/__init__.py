"""Built-in analyzers: power-law exponents, phase classification, finite-size scaling.

Each is a pure function of an ``xarray.Dataset`` returning a new one (never mutating its input),
wrapped by an :class:`Analyzer` class that the built-in plugin registers. The public names are
``__all__``; they are imported on first use (lmfit and emcee only when needed).
"""

from .._lazy import lazy_getattr

_LAZY = {
    "fit_powerlaw": ".powerlaw", "window_scan": ".powerlaw", "scan_windows": ".powerlaw",
    "classify_phases": ".phases", "zero_crossings": ".phases", "PHASES": ".phases",
    "UNCLASSIFIED": ".phases",
    "mean_and_error": ".standard_errors", "moderated_errors": ".moderated_variance",
    "fit_fss": ".fss", "compare_forms": ".fss", "summarize": ".fss", "ScalingForm": ".fss",
    "error_shape": ".fss",
    "Analyzer": ".base",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = sorted(_LAZY)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
