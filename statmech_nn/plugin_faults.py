"""One line for a failure inside a plugin's own code: which class, which plugin, what, where.

A plugin's experiment, analyzer or scaling form that raises anything but the toolkit's own
errors (:class:`~statmech_nn.errors.StatmechError`, which already speak to the user) is
reported as ``analyzer 'exact_zscore' (my-plugin 0.1) failed: KeyError: 'T' (at
my_plugin/analyzer.py:42)`` -- the innermost frame of the traceback, where the plugin author
starts looking -- instead of a traceback into the core. With the environment variable
``STATMECH_NN_DEBUG=1`` the command line prints the whole traceback too (:func:`debugging`).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import PluginError, StatmechError

#: set (to anything but "" or "0") to print the traceback of every failure besides its line
DEBUG_ENV = "STATMECH_NN_DEBUG"


def debugging() -> bool:
    """Whether ``STATMECH_NN_DEBUG`` asks for tracebacks."""
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def raised_at(exc: BaseException) -> str:
    """``"DIR/FILE.py:LINE"`` of the innermost frame of ``exc``'s traceback, or ``""``."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    path = Path(frames[-1].filename)
    return f"{path.parent.name}/{path.name}:{frames[-1].lineno}"


def describe_failure(exc: BaseException) -> str:
    """``"KeyError: 'T' (at dir/file.py:42)"``: the exception's type and first line, and where."""
    text = (str(exc).strip().splitlines() or [""])[0]
    where = raised_at(exc)
    return f"{type(exc).__name__}{': ' + text if text else ''}{f' (at {where})' if where else ''}"


@contextmanager
def plugin_call(role: str, cls: type) -> Iterator[None]:
    """Run the body; an exception that is not the toolkit's own becomes a one-line
    :class:`PluginError` naming ``role`` (``"analyzer"``, ``"scaling form"``), the class's
    ``name`` and its distribution, chained to the original (``STATMECH_NN_DEBUG`` shows it)."""
    try:
        yield
    except (StatmechError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of the plugin's own code
        from .schema import distribution_of

        raise PluginError(f"{role} {getattr(cls, 'name', cls.__qualname__)!r} ({distribution_of(cls) or cls.__module__}) "
                          f"failed: {describe_failure(exc)}") from exc
