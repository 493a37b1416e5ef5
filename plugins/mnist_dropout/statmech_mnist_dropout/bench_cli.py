"""Command-line face of :mod:`.bench` for ``statmech-nn bench`` (imports no torch until run).

The core CLI wires it as::

    p = subparsers.add_parser("bench", help=HELP)
    add_arguments(p)
    p.set_defaults(handler=run)
"""

from __future__ import annotations

import argparse

from statmech_nn.errors import ConfigError

HELP = "time the naive trainer against the batched MNIST trainer (samples/s, FLOP/s, memory)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--steps", type=int, default=200, help="optimiser steps per network (default 200)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory subprocess (64 networks at N = 60,000)")


def run(args: argparse.Namespace) -> int:
    if args.device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {args.device!r}: expected one of 'cpu', 'cuda'")
    if args.steps < 1:
        raise ConfigError(f"--steps {args.steps}: expected an integer >= 1")
    from .bench import main

    return main(device=args.device, steps=args.steps, as_json=args.json, memory=not args.no_memory)
