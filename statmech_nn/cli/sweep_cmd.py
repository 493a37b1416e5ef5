"""``statmech-nn sweep [CONFIG.toml] -o OUT.nc|OUT.zarr``: run a grid through the cache into one file,
here or on a Dask cluster (``--workers N``, ``--scheduler``, ``--scheduler-file``)."""

from __future__ import annotations

from pathlib import Path

from ..cache import CellCache, default_cache_root
from ..config import SweepConfig, load_config, parse_assignments, parse_value
from ..datasets import data_root
from ..errors import ConfigError, StatmechError
from ..executor import describe_cell
from ..experiment import check_device_option
from ..io import check_dataset_name, check_writable, write_dataset
from ..plugins import get_registry
from ..sweep import describe_plan, plan_sweep, run_sweep
from .common import write_and_say
from .executor_options import add_executor_options, client_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run an experiment over a grid into a NetCDF file",
        description="Run a sweep. Finished cells are cached: an interrupted sweep resumes where it "
                    "stopped, and a larger grid reuses finished cells.")
    p.add_argument("config", nargs="?", help="sweep TOML file (default: the experiment's small default grid)")
    p.add_argument("-o", "--output", help="output file: NetCDF, or Zarr if it ends in .zarr "
                                          "(default: data/results/<experiment>-<hash>.nc)")
    p.add_argument("--experiment", help="experiment plugin (overrides the file; default mnist_dropout)")
    p.add_argument("--grid", action="append", default=[], metavar="DIM=V1,V2,...",
                   help="set a grid dimension, e.g. --grid p_eval=0,0.5,0.9 (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="set an option, e.g. --set training.epochs=5 (repeatable)")
    p.add_argument("--device", help="cpu or cuda (overrides the file)")
    p.add_argument("--cache-dir", help="cell cache directory (default: <data>/cache)")
    p.add_argument("--dry-run", action="store_true",
                   help="list the cells and what is cached (digests checked); compute nothing")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar on a terminal, no per-cell log lines elsewhere")
    add_executor_options(p)
    p.set_defaults(handler=run, on_interrupt="finished cells are kept (run the same command to resume)")


def build_config(args) -> SweepConfig:
    """The sweep file's configuration with the command line's ``--experiment``, ``--device``,
    ``--grid`` and ``--set`` applied over it. The file's own values are validated first
    (:func:`_check_file`), so that an error in the file names the file."""
    config = load_config(args.config) if args.config else SweepConfig()
    grid = {dim: [parse_value(v) for v in values.split(",")]
            for dim, values in parse_assignments(args.grid, "--grid", "DIM=V1,V2,...").items()}
    options: dict[str, dict] = {}
    for dotted, value in parse_assignments(args.set, "--set", "SECTION.KEY=VALUE").items():
        section, dot, key = dotted.partition(".")
        if not dot or not key:
            raise ConfigError(f"--set {dotted}={value}: expected SECTION.KEY=VALUE, e.g. training.epochs=5")
        options.setdefault(section, {})[key] = parse_value(value)
    if args.device is not None:
        check_device_option(get_registry().experiment(args.experiment or config.experiment), args.device)
    if args.config and args.experiment in (None, config.experiment):
        _check_file(args.config, config, grid, options, device=args.device)
    config.experiment = args.experiment or config.experiment
    config.device = args.device or config.device
    config.grid.update(grid)
    for section, values in options.items():
        config.options.setdefault(section, {}).update(values)
    return config


def _check_file(path: str, config: SweepConfig, grid: dict, options: dict[str, dict], *, device: str | None) -> None:
    """Validate the file's experiment, device, options and grid, less what the command line
    replaces (a value being overridden may be the reason for the override); an error is
    prefixed with the file's path."""
    own_options = {section: {k: v for k, v in values.items() if k not in options.get(section, {})}
                   for section, values in config.options.items()}
    try:
        experiment = get_registry().experiment(config.experiment)(own_options, device=device or config.device or "cpu")
        experiment.validate_grid({d: v for d, v in config.grid.items() if d not in grid})
    except StatmechError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def run(args) -> int:
    config = build_config(args)
    experiment = get_registry().experiment(config.experiment)(config.options, device=config.device or "cpu")
    cache = CellCache(default_cache_root(args.cache_dir))
    if args.dry_run:
        _, planned = plan_sweep(experiment, config.grid, cache, verify=True)
        for item in planned:
            print(f"{item.status:<8} {describe_cell(item.cell)}")
        print(f"{describe_plan(planned)} (cache: {cache.root})")
        return 0
    # the default name carries the hash of the validated configuration, which run_sweep records
    # in the file; before any work only the folder is checked (with a stand-in name)
    results = data_root() / "results"
    if args.output:
        check_dataset_name(args.output)
    check_writable(Path(args.output) if args.output else results / f"{experiment.name}.nc", inputs=[args.config])
    with client_from_args(args, cuda=experiment.device.startswith("cuda")) as client:
        ds = run_sweep(experiment, config.grid, cache, progress=False if args.no_progress else None,
                       history="statmech-nn " + " ".join(args.argv), client=client)
    output = Path(args.output) if args.output else (
        results / f"{experiment.name}-{ds.attrs['config_sha256'][:10]}.nc")
    write_and_say(args, ds, output, write_dataset, note=f" (cells cached in {cache.root})")
    return 0
