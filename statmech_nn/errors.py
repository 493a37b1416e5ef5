"""Errors a user can act on.

Every exception derived from :class:`StatmechError` is shown by the command line as one line
(``statmech-nn: error: <message>``) with exit status 2 and no traceback. Messages name the bad
value and what would be accepted.
"""


class StatmechError(Exception):
    """Base class of all user-facing errors (bad input, bad files, bad plugins)."""


class ConfigError(StatmechError, ValueError):
    """A configuration value, option or grid is invalid."""


class DataError(StatmechError, ValueError):
    """A dataset or file does not satisfy the contract (missing variable, corrupt file, ...)."""


class PluginError(StatmechError):
    """A plugin is unknown, duplicated, or broken."""


class CellError(StatmechError):
    """A cell of a sweep failed (its computation raised, or its worker died); the message names
    the cell's coordinates. Finished cells are cached, so a rerun computes only the rest."""


class StorageError(StatmechError):
    """A file could not be written: the disk is full, or the path is not writable. A sweep
    stops at once (every other cell would fail the same way); finished cells stay cached."""
