"""What the ``statmech-nn`` sub-commands share: their options, loading, tables, file and figure
output, and the rule for ``--json``.

The ``--json`` rule: with ``--json``, standard output carries exactly one JSON document (so that
``statmech-nn ... --json | jq`` works) and everything meant for a person -- tables, "wrote
FILE" -- goes to standard error. Without it, the human text goes to standard output.
:func:`human` gives the stream to print human text on; :func:`emit_json` prints the document.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import xarray as xr

from ..config import parse_assignments
from ..errors import ConfigError
from ..selection import select_values


# -- options ---------------------------------------------------------------------------------
def add_input(p: argparse.ArgumentParser, metavar: str = "FILE.nc", help: str = "dataset (NetCDF) to analyse") -> None:
    """The input file and ``--select DIM=VALUE`` (repeatable)."""
    p.add_argument("file", metavar=metavar, help=help)
    p.add_argument("--select", action="append", default=[], metavar="DIM=VALUE",
                   help="keep one coordinate value of a dim (repeatable), e.g. width=128")


def add_output(p: argparse.ArgumentParser, metavar: str = "OUT.nc",
               help: str = "write the result as NetCDF", required: bool = False) -> None:
    """``-o/--output``."""
    p.add_argument("-o", "--output", metavar=metavar, help=help, required=required)


def add_json(p: argparse.ArgumentParser, what: str = "a JSON summary") -> None:
    """``--json``: stdout carries only ``what``; human text goes to stderr."""
    p.add_argument("--json", action="store_true",
                   help=f"print {what} on stdout (and nothing else there: tables go to stderr)")


def add_figure_args(p: argparse.ArgumentParser) -> None:
    """``-o FIG.png`` (required), ``--dpi`` and ``--json``."""
    add_output(p, "FIG.png", "figure file; the format follows the extension (png, pdf, svg, ...)",
               required=True)
    p.add_argument("--dpi", type=figure_dpi, default=150.0, help=f"resolution of raster formats (at most {MAX_DPI:g})")
    add_json(p, "a JSON summary {figure, panels}")


# -- streams -----------------------------------------------------------------------------------
def human(args: argparse.Namespace) -> TextIO:
    """Where human-readable output goes: stderr under ``--json``, stdout otherwise."""
    return sys.stderr if getattr(args, "json", False) else sys.stdout


def say(args: argparse.Namespace, text: str = "") -> None:
    """Print one piece of human-readable text (see :func:`human`)."""
    print(text, file=human(args))


def emit_json(document: Any) -> None:
    """The one JSON document of ``--json`` on stdout, on one line. NaN and infinities, which are
    not JSON (``jq`` rejects them), become ``null``."""
    print(json.dumps(_finite(document), sort_keys=True, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return _plain(value)


# -- input -------------------------------------------------------------------------------------
def parse_select(items: list[str]) -> dict[str, str]:
    """``["seed=0", "N=128"]`` -> ``{"seed": "0", "N": "128"}``."""
    return parse_assignments(items, "--select", "DIM=VALUE")


def load(args: argparse.Namespace) -> xr.Dataset:
    """``args.file`` (NetCDF, or a Zarr store ``*.zarr``) read fully, with ``--select`` applied
    (:func:`statmech_nn.selection.select_values`)."""
    from ..io import read_dataset

    return select_values(read_dataset(args.file), parse_select(args.select))


def check_output(path: str | None, *inputs: str | None, zarr: bool = True) -> None:
    """Fail before any work if the dataset path ``-o`` has no NetCDF (or, where ``zarr``, Zarr)
    extension, cannot be written, or is one of the ``inputs`` (no-op without ``-o``)."""
    if path is not None:
        from ..io import check_dataset_name, check_writable

        check_dataset_name(path, zarr=zarr)
        check_writable(path, inputs=inputs)


#: the finest ``--dpi``: 1200 dots per inch (line art for print) is a 140 MB raster of a 6 x 4 inch figure
MAX_DPI = 1200.0


def figure_dpi(text: str) -> float:
    """``--dpi``: a number of dots per inch in (0, :data:`MAX_DPI`]."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_DPI:
        raise argparse.ArgumentTypeError(f"{text!r}: expected dots per inch in (0, {MAX_DPI:g}]")
    return value


def check_figure_path(path: str) -> None:
    """The format (from the extension) must be one matplotlib writes; the folder writable."""
    from matplotlib.figure import Figure

    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise ConfigError(f"-o {path!r}: unknown figure format {suffix or '(none)'!r}; expected "
                          "an extension among " + ", ".join(sorted(formats)))
    from ..io import check_writable

    check_writable(path)


# -- tables ------------------------------------------------------------------------------------
def records(ds: xr.Dataset, names: list[str]) -> list[dict[str, Any]]:
    """One dict per point of ``ds[names]`` (coordinates included), NaN as None."""
    present = [n for n in names if n in ds.data_vars]
    if not present:
        return []
    sub = ds[present]
    if not sub.dims:
        rows = [{n: sub[n].item() for n in present}]
    else:
        rows = sub.to_dataframe().reset_index().to_dict("records")
    return [{str(k): _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def print_table(rows: list[dict[str, Any]], file: TextIO | None = None) -> None:
    """Aligned plain-text table of ``rows`` (floats to 4 significant digits)."""
    if not rows:
        return
    keys = list(rows[0])
    cells = [[_fmt(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)), file=file)
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)), file=file)


def _fmt(value: Any) -> str:
    if value is None:
        return "nan"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- output ------------------------------------------------------------------------------------
def finish(args: argparse.Namespace, result: xr.Dataset, summary: dict[str, Any], source: xr.Dataset) -> int:
    """Write ``-o`` if given (NetCDF, or Zarr for ``*.zarr``; CF attributes and provenance from
    ``source``, the input, by :func:`statmech_nn.schema.cf_output`), print the JSON summary if
    ``--json``; exit status 0."""
    if args.output is not None:
        from ..io import write_dataset
        from ..schema import cf_output

        analyzer = result.attrs.get("analyzer", args.command)
        result = cf_output(result, title=f"statmech_nn {analyzer} analysis of {Path(args.file).name}",
                           history=command_line(args), inputs=[source])
        write_and_say(args, result, args.output, write_dataset)
    if args.json:
        emit_json({**summary, "output": args.output})
    return 0


def write_and_say(args: argparse.Namespace, result: Any, path: str | Path, write, note: str = "") -> None:
    """``write(result, path)``, then "wrote PATH" (:func:`say`), noting that an existing file was
    replaced: a rerun with the same ``-o`` replaces the earlier result, which the user should see."""
    replaced = Path(path).exists()
    write(result, path)
    say(args, f"wrote {path}" + (" (replaced the file that was there)" if replaced else "") + note)


def command_line(args: argparse.Namespace) -> str:
    """The command as typed (for the ``history`` attribute of the files it writes)."""
    from . import PROG

    return " ".join([PROG, *getattr(args, "argv", [])])


def save_figure(fig, args: argparse.Namespace) -> int:
    """Save to ``args.output``; with ``--json`` the document is ``{"figure", "panels"}``."""
    fig.savefig(args.output, dpi=args.dpi)
    say(args, f"wrote {args.output}")
    if args.json:
        emit_json({"figure": args.output, "panels": len([a for a in fig.axes if a.axison])})
    return 0


# -- the power-law fit and phase options (analyze powerlaw|phases, plot loss-vs-n|phase-diagram) --
def add_fit_args(p: argparse.ArgumentParser) -> None:
    """FILE, --select, --var, --size, --window, --method."""
    add_input(p)
    p.add_argument("--var", default="loss", help="variable to fit (default: loss)")
    p.add_argument("--size", default="N", metavar="DIM", help="size dimension (default: N)")
    p.add_argument("--window", metavar="MIN:MAX",
                   help="fit only sizes in [MIN, MAX]; either side may be empty (e.g. 1000:)")
    p.add_argument("--method", choices=("lmfit", "loglinear"), default="lmfit",
                   help="nonlinear lmfit fit (default) or the closed-form log-space fit")


def add_phase_args(p: argparse.ArgumentParser) -> None:
    """Classification thresholds of :func:`statmech_nn.analysis.phases.classify_phases`."""
    p.add_argument("--z", type=float, default=2.0,
                   help="alpha is nonzero when |alpha| > z * stderr (default: 2)")
    p.add_argument("--n-classes", type=int, default=10, help="classes of the task (default: 10)")
    p.add_argument("--loss-tol", type=float, default=0.15,
                   help="amentia: |loss - ln K| <= this at the largest size (default: 0.15 nat)")
    p.add_argument("--accuracy-tol", type=float, default=0.05,
                   help="amentia: |accuracy - 1/K| <= this at the largest size (default: 0.05)")
    p.add_argument("--amentia-alpha-tol", type=float, default=0.02,
                   help="amentia also when |alpha| <= this (default: 0.02; 0: strict)")
    p.add_argument("--control", default="p_eval", metavar="DIM",
                   help="dim along which the boundary (alpha = 0) is sought; 'none' to skip")


def parse_range(text: str, flag: str, example: str) -> tuple[float | None, float | None]:
    """``"MIN:MAX"`` given as ``flag`` -> ``(min, max)``; an empty side is None."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        bounds = tuple(float(s) if s.strip() else None for s in parts)
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: expected MIN:MAX with numbers, e.g. {example} "
                          f"or {example.split(':')[0]}:") from None
    return bounds  # type: ignore[return-value]


def parse_window(text: str) -> tuple[float | None, float | None]:
    """``--window "MIN:MAX"`` (sizes) -> ``(min, max)``; an empty side is None."""
    return parse_range(text, "--window", "1000:60000")


def fit_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`statmech_nn.analysis.fit_powerlaw` from the options."""
    window = None if args.window is None else parse_window(args.window)
    return {"size_dim": args.size, "window": window, "method": args.method}


def phase_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of :func:`statmech_nn.analysis.classify_phases` beyond the fit's."""
    return {"z": args.z, "n_classes": args.n_classes, "loss_tol": args.loss_tol,
            "accuracy_tol": args.accuracy_tol, "amentia_alpha_tol": args.amentia_alpha_tol,
            "control_dim": None if args.control.lower() == "none" else args.control}
