"""Where a command's cells run: ``--workers N`` | ``--scheduler ADDRESS`` | ``--scheduler-file
FILE`` (none: here, serially). Shared by every command that runs sweeps::

    add_executor_options(parser)              # in register()
    with client_from_args(args, cuda=device == "cuda") as client:   # in the handler
        run_sweep(..., client=client)         # client is None for a serial run
"""

from __future__ import annotations

import argparse
from contextlib import AbstractContextManager
from typing import Any

from ..cluster import dask_client


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Add the three mutually exclusive Dask options to ``parser``."""
    group = parser.add_argument_group("distributed execution (Dask; see docs/scaling.md)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--workers", type=_worker_count, metavar="N",
                        help="compute cells on a local Dask cluster of N worker processes (0: here, serially; "
                             "overrides a study file's [executor])")
    choice.add_argument("--scheduler", metavar="ADDRESS",
                        help="compute cells on the existing Dask cluster at ADDRESS (tcp://host:8786)")
    choice.add_argument("--scheduler-file", metavar="FILE",
                        help="compute cells on the existing Dask cluster described by FILE (dask scheduler --scheduler-file)")


def _worker_count(text: str) -> int:
    """``--workers``: an integer >= 0 (argparse turns the ValueError into a one-line usage error)."""
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 0 (0: here, serially)")
    return count


def client_from_args(args: argparse.Namespace, *, cuda: bool = False) -> AbstractContextManager[Any]:
    """A context manager giving the ``distributed.Client`` the options ask for, or ``None``
    (:func:`statmech_nn.cluster.dask_client`); ``cuda``: the cells need GPUs."""
    return dask_client(workers=args.workers, scheduler=args.scheduler, scheduler_file=args.scheduler_file, cuda=cuda)
