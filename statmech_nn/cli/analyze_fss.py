"""``statmech-nn analyze fss FILE.nc --var Y --err YERR --size L --control p --form NAME``.

Fits a finite-size-scaling form (``--form``) or compares forms (``--compare A,B``) and prints a
table; with ``--json`` stdout is one JSON object (the table goes to stderr) (:func:`~statmech_nn.analysis.fss.summarize`;
for ``--compare``: ``{"preferred": NAME, "forms": {NAME: {...}}, ...}``). ``-o OUT.nc`` writes
the posterior (for ``--compare``: one NetCDF group per form, named after it, and the comparison
in the root's attribute ``comparison_json``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from typing import Any

from ..analysis._options import ERROR_METHODS
from ..errors import ConfigError
from ..plugin_faults import plugin_call
from .common import (add_input, add_json, add_output, check_output, command_line, emit_json, parse_select, say,
                     write_and_say)


def register(subparsers) -> None:
    p = subparsers.add_parser("fss", help="finite-size-scaling collapse: posterior of p_c and exponents")
    add_input(p, "FILE.nc", "NetCDF dataset")
    p.add_argument("--var", action="append", required=True, metavar="Y",
                   help="observable (repeat for a joint fit sharing p_c and exponents)")
    p.add_argument("--err", action="append", metavar="YERR", help="standard error of each --var, in order")
    p.add_argument("--average", metavar="DIM", help="instead of --err: average over DIM, error = std/sqrt(n)")
    p.add_argument("--average-errors", choices=ERROR_METHODS, default="per_point",
                   help="with --average: each point's own std/sqrt(n), or the variances moderated towards one level "
                        "per size (docs/fss.md, 'Errors from a few seeds'; the study's default)")
    p.add_argument("--size", required=True, metavar="L", help="size dimension or coordinate")
    p.add_argument("--control", required=True, metavar="p", help="control-parameter dimension or coordinate")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--form", metavar="NAME", help="scaling form (e.g. second_order, bkt)")
    group.add_argument("--compare", metavar="NAME1,NAME2", help="compare these forms on the same data")
    p.add_argument("--fit-a", action="store_true", help="fit the y-exponent a in y = L^-a f(x)")
    p.add_argument("--corrections", action=argparse.BooleanOptionalAction, default=None,
                   help="with / without each built-in form's leading correction to scaling, an unknown function "
                        "times L_min/L (BKT: 1/ln(L/L0)); default: --form without, --compare fits both and keeps "
                        "each form's better-scoring variant")
    p.add_argument("--refit", action="store_true",
                   help="score sizes whose PSIS estimate is unreliable (Pareto k > 0.7) by refitting without them")
    p.add_argument("--size-offsets", action="store_true",
                   help="one unknown offset per size, integrated out: for points of a size that share their samples "
                        "or networks (errors correlated along the control axis)")
    p.add_argument("--size-tilts", action="store_true",
                   help="one unknown slope per size across its control window, integrated out: the next term of "
                        "such a correlated error (usually with --size-offsets)")
    p.add_argument("--fixed-errors", action="store_true", help="trust the errors as given (no error-scale hyperparameter)")
    p.add_argument("--prior", action="append", default=[], metavar="[FORM:]NAME=LO,HI", help="prior box of a parameter")
    p.add_argument("--min-overlap", type=float, default=0.25, help="least overlap of scaled curves (default 0.25)")
    p.add_argument("--error-floor", type=float, help="absolute error floor (default 1e-3 of the data range)")
    p.add_argument("--n-samples", type=int, help="samples behind each probability: binomial error floor")
    p.add_argument("--walkers", type=int, default=32, help="emcee walkers (default 32)")
    p.add_argument("--n-tau", type=float, default=50.0, help="chain length in autocorrelation times (default 50)")
    p.add_argument("--max-steps", type=int, default=20000, help="cap on emcee steps (default 20000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--processes", type=int, default=0, metavar="N",
                   help="with --compare: fit the forms in N processes side by side (default 0: one per core, at most "
                        "one per fit); the numbers do not depend on N")
    add_output(p, help="write the posterior to this NetCDF file")
    add_json(p, "one JSON object")
    p.set_defaults(handler=run)


def parse_priors(items: list[str], forms: list) -> dict[str, dict[str, tuple[float, float]]]:
    """``--prior [FORM:]NAME=LO,HI`` items -> ``{form name: {name: (lo, hi)}}`` over the fitted
    ``forms`` (:func:`~statmech_nn.analysis.fss.priors.prior_boxes`)."""
    from ..analysis.fss.priors import prior_boxes

    entries = []
    for item in items:
        head, sep, box = item.partition("=")
        try:
            lo, hi = (float(v) for v in box.split(","))
        except ValueError:
            raise ConfigError(f"--prior {item!r}: expected [FORM:]NAME=LO,HI with two numbers") from None
        if not sep:
            raise ConfigError(f"--prior {item!r}: expected [FORM:]NAME=LO,HI")
        entries.append((f"--prior {item!r}", head, (lo, hi)))
    return prior_boxes(entries, forms)


def _table(summary: dict[str, Any]) -> str:
    options = "".join(f" ({k})" for k, v in summary.get("form_options", {}).items() if v is True)
    lines = [f"form {summary['form']}{options}: score ({summary['score_name']}) {summary['score']:.2f}, "
             f"overlap {summary['overlap']:.2f}, {summary['convergence']['n_steps']} steps "
             f"= {summary['convergence']['n_tau']:.0f} tau, acceptance {summary['convergence']['acceptance']:.2f}"]
    for name, row in {**summary["params"], **summary["hyperparams"]}.items():
        lines.append(f"  {name:>12s} = {row['median']:.6g}  68% [{row['lo']:.6g}, {row['hi']:.6g}]"
                     f"  95% [{row['lo95']:.6g}, {row['hi95']:.6g}]")
    return "\n".join(lines)


def run(args) -> int:
    """Run the fit or comparison. Ctrl-C stops it with nothing written: an FSS posterior has no
    partial result worth keeping (the output file is written only once everything is done)."""
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("statmech-nn: interrupted; nothing was written (analyze fss keeps no partial results: "
              "run the command again to start over)", file=sys.stderr)
        return 130


def _make_form(cls, corrections: bool | None):
    """The form object; ``corrections`` None keeps the form's default, and ``False`` is the
    default of a form that has no correction (``--no-corrections`` over a comparison with one)."""
    if corrections is not None and "corrections" in inspect.signature(cls).parameters:
        return cls(corrections=corrections)
    if corrections:
        raise ConfigError(f"--corrections: scaling form {cls.name!r} has no correction to switch on")
    with plugin_call("scaling form", cls):
        return cls()


def _write(args, tree, title: str, source) -> None:
    """``-o``: the tree with CF attributes and provenance (:func:`statmech_nn.schema.cf_output`)."""
    from ..io import write_netcdf
    from ..schema import cf_output

    write_and_say(args, cf_output(tree, title=title, history=command_line(args), inputs=[source]), args.output,
                  write_netcdf)


def _run(args) -> int:
    import xarray as xr

    from ..analysis.fss import compare_forms, fit_fss, summarize
    from ..analysis.fss.compare import describe_preference
    from ..analysis.fss.layout import to_inference_tree
    from ..io import read_dataset
    from ..plugins import get_registry

    registry = get_registry()
    names = [f.strip() for f in (args.compare or args.form).split(",") if f.strip()]
    forms = [_make_form(registry.scaling_form(name), args.corrections) for name in names]  # names -> objects, once
    if args.compare and len(forms) < 2:
        raise ConfigError(f"--compare {args.compare!r}: expected at least two form names separated by commas")
    check_output(args.output, args.file, zarr=False)
    priors = parse_priors(args.prior, forms)
    data = read_dataset(args.file)
    options = dict(var=args.var, err=args.err, average=args.average, average_errors=args.average_errors,
                   size_dim=args.size, control_dim=args.control,
                   select=parse_select(args.select), fit_a=args.fit_a, fit_err_scale=not args.fixed_errors,
                   min_overlap=args.min_overlap, error_floor=args.error_floor, n_samples=args.n_samples,
                   n_walkers=args.walkers, n_tau=args.n_tau, max_steps=args.max_steps, seed=args.seed,
                   refit=args.refit, size_offsets=args.size_offsets,
                   size_tilts=args.size_tilts)
    if args.compare:
        comparison = compare_forms(data, forms=forms, priors=priors, variants=args.corrections is None,
                                   processes=args.processes, **options)
        summary = comparison.summary()
        for name in names:
            say(args, _table(summary["forms"][name]))
        for name, scores in summary["variants"].items():
            if len(scores) > 1:
                say(args, f"{name} variants, score: " + ", ".join(f"{v} {x:.2f}" for v, x in scores.items())
                    + f" -> {max(scores, key=scores.get)}")
        difference = f"{summary['delta_score']:.2f} +- {summary['delta_se']:.2f} nats"
        say(args, "outcome: " + describe_preference(summary["preferred"], summary["delta_score"], summary["delta_se"],
                                                    difference))
        if args.output:
            root = xr.DataTree(xr.Dataset(attrs={"comparison_json": json.dumps(
                {k: v for k, v in summary.items() if k != "forms"}, sort_keys=True)}))
            for name, posterior in comparison.results.items():
                root[name] = to_inference_tree(posterior)
            _write(args, root, f"finite-size-scaling comparison ({', '.join(names)}) of {args.file}", data)
    else:
        posterior = fit_fss(data, form=forms[0], priors=priors[names[0]], **options)
        summary = summarize(posterior)
        say(args, _table(summary))
        if args.output:
            _write(args, to_inference_tree(posterior), f"finite-size-scaling posterior ({names[0]}) of {args.file}", data)
    if args.json:
        emit_json(summary)
    return 0
