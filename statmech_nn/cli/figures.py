"""What every ``statmech-nn plot`` sub-command shares: the output options, the early check of
the figure path, and saving with an optional JSON summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ConfigError
from ..io import check_writable


def add_figure_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FIG.png",
                   help="figure file; the format follows the extension (png, pdf, svg, ...)")
    p.add_argument("--dpi", type=float, default=150.0, help="resolution of raster formats")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")


def check_figure_path(path: str) -> None:
    """The format (from the extension) must be one matplotlib writes; the folder writable."""
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise ConfigError(f"-o {path!r}: unknown figure format {suffix or '(none)'!r}; expected "
                          "an extension among " + ", ".join(sorted(formats)))
    check_writable(path)


def save_figure(fig, args: argparse.Namespace) -> int:
    """Save to ``args.output``; with ``--json`` end with ``{"figure", "panels"}``."""
    fig.savefig(args.output, dpi=args.dpi)
    print(f"wrote {args.output}")
    if args.json:
        print(json.dumps({"figure": args.output, "panels": len([a for a in fig.axes if a.axison])}))
    return 0
