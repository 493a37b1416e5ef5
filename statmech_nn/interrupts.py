"""Ctrl-C held back while a native extension initialises, so that it cannot abort the process.

Python raises a signal's exception (``KeyboardInterrupt`` for SIGINT, the command line's
``Terminated`` for SIGTERM) in whatever Python code the main thread runs next. During
``import torch`` that code is at times called from torch's C++ through pybind11, which cannot
pass the exception on: the process aborts ("terminate called after throwing an instance of
'pybind11::error_already_set' what(): KeyboardInterrupt", SIGABRT) instead of stopping with the
command's one line, exit status 130. Measured with ``scripts/interrupt_import_torch.py`` on a
2-core VM with other work running (torch 2.x, Python 3.11): 3 of 200 SIGINTs sent at random
times during ``import torch`` aborted it, 0 of 300 with the hold below. A sweep imports torch in
its first seconds, where a user's Ctrl-C often lands.

:func:`signals_held` runs a block with the Python handlers of SIGINT and SIGTERM replaced by
ones that only note the signal; after the block each noted signal's own handler is called, so
its exception is raised there, in plain Python. :func:`hold_signals_during_imports` installs an
import hook that does so around the import of each module named in :data:`HELD_IMPORTS`
(wherever it is imported, by the core or by a plugin). The command line installs it
(:func:`statmech_nn.cli.entry`); a library user's process is left as it is.
"""

from __future__ import annotations

import importlib.abc
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

#: Top-level modules whose import runs Python from C++ that cannot pass an exception on.
HELD_IMPORTS = ("torch",)

#: The signals whose Python handlers wait for the end of a held block.
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def signals_held() -> Iterator[None]:
    """Run the block with :data:`HELD_SIGNALS` noted, not handled; afterwards call each noted
    signal's handler once, in the order the signals came (the first that raises ends it).

    Only the main thread receives Python signal handlers, so elsewhere this does nothing; a
    signal whose disposition is not a Python function (ignored, or the system default) is left
    alone. Nested blocks hand their noted signals to the enclosing one.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame) -> None:
        noted.append(signum)

    handlers = {}
    for signum in HELD_SIGNALS:
        handler = signal.getsignal(signum)
        if callable(handler):
            handlers[signum] = handler
            signal.signal(signum, note)
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(noted):
            handlers[signum](signum, None)


class _HoldingFinder(importlib.abc.MetaPathFinder):
    """Finds the modules in ``names`` with the finders after it and wraps their loading in
    :func:`signals_held`; every other module is left to those finders."""

    def __init__(self, names: Iterable[str]):
        self.names = frozenset(names)

    def find_spec(self, fullname, path, target=None):
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if finder is self or find is None else find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _HoldingLoader(spec.loader)
        return spec


class _HoldingLoader(importlib.abc.Loader):
    """``loader`` with its module's creation and execution under :func:`signals_held`; the
    module keeps ``loader`` itself (``__loader__``, ``__spec__.loader``) once executed."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        with signals_held():
            return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        with signals_held():
            try:
                self.loader.exec_module(module)
            finally:
                module.__loader__ = module.__spec__.loader = self.loader

    def __getattr__(self, name: str):
        return getattr(self.loader, name)


def hold_signals_during_imports(names: Iterable[str] = HELD_IMPORTS) -> importlib.abc.MetaPathFinder:
    """Hold :data:`HELD_SIGNALS` (:func:`signals_held`) during the import of each top-level
    module in ``names`` that is not imported yet; returns the hook (first in
    ``sys.meta_path``), which ``sys.meta_path.remove`` takes out again."""
    finder = _HoldingFinder(names)
    sys.meta_path.insert(0, finder)
    return finder
