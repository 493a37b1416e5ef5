"""statmech_nn: a plugin-based statistical-physics toolkit for phase transitions in trained
neural networks.

Experiments (plugins) emit ``xarray`` datasets over a grid; analyzers (power-law exponents,
phase classification, finite-size scaling with emcee posteriors) consume them. The public API is
``__all__`` below (the layers and their rules: ``docs/architecture.md``)::

    import statmech_nn as smn

    sweep = smn.read_netcdf("sweep.nc")
    alpha = smn.fit_powerlaw(sweep, "loss", size_dim="N")
    phases = smn.classify_phases(sweep, "loss", control_dim="p_eval")

Names are imported on first use, so importing this package is light and never imports torch.
"""

__version__ = "0.1.0"

from ._lazy import lazy_getattr  # noqa: E402
from .errors import ConfigError, DataError, PluginError, StatmechError  # noqa: E402
from .hookspecs import hookimpl  # noqa: E402
from .plugins import PluginRegistry, get_registry  # noqa: E402

_LAZY = {
    "Experiment": ".experiment", "Option": ".options",
    "SweepConfig": ".config", "load_config": ".config",
    "run_sweep": ".sweep", "plan_sweep": ".sweep", "CellCache": ".cache",
    "read_netcdf": ".io", "write_netcdf": ".io",
    "fit_powerlaw": ".analysis.powerlaw", "window_scan": ".analysis.powerlaw",
    "classify_phases": ".analysis.phases",
    "fit_fss": ".analysis.fss", "compare_forms": ".analysis.fss", "summarize": ".analysis.fss",
    "synthetic_dataset": ".synthetic",
}
__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "__version__",
    # errors a user can act on (one line each)
    "StatmechError", "ConfigError", "DataError", "PluginError",
    # plugins
    "PluginRegistry", "get_registry", "hookimpl",
    # experiments and sweeps
    "Experiment", "Option", "SweepConfig", "load_config", "run_sweep", "plan_sweep", "CellCache",
    # files
    "read_netcdf", "write_netcdf",
    # analyses
    "fit_powerlaw", "window_scan", "classify_phases", "fit_fss", "compare_forms", "summarize",
    # data with known truth
    "synthetic_dataset",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
