"""statmech_nn: a plugin-based statistical-physics toolkit for phase transitions in trained
neural networks.

Experiments (plugins) emit ``xarray`` datasets over a grid; analyzers (power-law exponents,
phase classification, finite-size scaling with emcee posteriors) consume them. Importing this
package never imports torch.
"""

__version__ = "0.1.0"

from .errors import ConfigError, DataError, PluginError, StatmechError  # noqa: E402
from .plugins import PluginRegistry, get_registry  # noqa: E402

__all__ = [
    "__version__",
    "ConfigError",
    "DataError",
    "PluginError",
    "PluginRegistry",
    "StatmechError",
    "get_registry",
]
