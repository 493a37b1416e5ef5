"""The ``statmech-nn`` command line.

Each command lives in its own module exposing ``register(subparsers)`` (``analyze`` and ``plot``
register their whole group); handlers return an exit status. The options, loading, tables and
output every command shares are in :mod:`statmech_nn.cli.common`, with the ``--json`` rule (stdout
carries only the JSON document; tables and messages go to stderr). Any :class:`~statmech_nn.errors.StatmechError` becomes one line on stderr and exit
status 2 (``STATMECH_NN_DEBUG=1``: after its traceback); usage errors likewise. Ctrl-C exits 130
(SIGTERM, as from a batch system's time limit, 143) with one line saying what is kept: a command
that can resume sets ``on_interrupt`` (``parser.set_defaults(on_interrupt=...)``, e.g. the
sweep's finished cells); for every other command nothing was written, since files are written
whole or not at all.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Sequence

from .. import __version__
from ..errors import StatmechError
from ..interrupts import hold_signals_during_imports
from ..plugin_faults import debugging

PROG = "statmech-nn"
NOTHING_WRITTEN = "no output was written (files are written whole or not at all)"


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2, no usage dump)."""

    def error(self, message: str):  # noqa: D102 - argparse API
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import analyze, bench_cmd, cache_cmd, data_cmd, plot, plugins_cmd, sweep_cmd
    from . import report_cmd, study_cmd

    parser = OneLineParser(prog=PROG, description="Statistical physics of phase transitions in trained neural networks.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=OneLineParser)
    for module in (sweep_cmd, analyze, plot, bench_cmd, data_cmd, cache_cmd, plugins_cmd, study_cmd, report_cmd):
        module.register(sub)
    return parser


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    warnings.showwarning = _one_line_warnings
    args = argparse.Namespace()
    try:
        args = build_parser().parse_args(argv)  # imports every command's module
        args.argv = list(sys.argv[1:] if argv is None else argv)  # for the files' history attribute
        return int(args.handler(args) or 0)
    except StatmechError as exc:
        if debugging():
            traceback.print_exception(exc)
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        how = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"{PROG}: {how}; {getattr(args, 'on_interrupt', NOTHING_WRITTEN)}", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(exc, Terminated) else 130


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch system's time limit, ``kill``), raised where the program is, so that it
    stops as after Ctrl-C -- worker processes stopped, finished work kept, one line -- with the
    shell's status for SIGTERM (143)."""


def _terminate(signum, frame):
    raise Terminated()


def entry() -> None:
    """Console-script entry point. A reader that stops early (``statmech-nn ... --json | head``)
    closes the pipe: that ends the command quietly, with the shell's status for SIGPIPE (141),
    instead of a BrokenPipeError traceback. ``kill -USR1 PID`` makes a running command print the
    stack of every thread to stderr and go on (:mod:`faulthandler`): where a stuck run waits. SIGTERM
    stops it as Ctrl-C does (:class:`Terminated`); both wait for the end of ``import torch``
    (:mod:`statmech_nn.interrupts`), which they could otherwise abort."""
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    signal.signal(signal.SIGTERM, _terminate)
    hold_signals_during_imports()
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        status = 128 + signal.SIGPIPE
    sys.exit(status)
