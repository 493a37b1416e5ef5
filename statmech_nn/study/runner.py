"""``run_study``: every grid through the sweep runner and cell cache, then the analyses, then the
report. Resumable at every level: finished cells are in the cache, finished sweeps and analysis
steps are files whose keys are checked (:mod:`.analyses`), so a rerun after an interruption
(even ``kill -9``) redoes nothing finished. The output directory is used only if it is free or
the same study's (:func:`check_directory`): nothing the study does not own is replaced.

Progress: the sweep's progress bar on a terminal; one time-stamped log line per stage on stderr
always (what a batch job's log shows).
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xarray as xr

from ..cache import CellCache
from ..errors import DataError, StatmechError
from ..io import read_netcdf, write_atomically, write_netcdf
from ..digest import sha256_of
from ..sweep import describe_plan, plan_sweep, run_sweep, sweep_config
from .analyses import StudyAnalyses
from .config import Study, resume_conflict
from .layout import StudyLayout


def stderr_log(message: str) -> None:
    """One time-stamped line on stderr, flushed (so batch logs show it at once)."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%H:%M:%S")
    print(f"[study {now}] {message}", file=sys.stderr, flush=True)


def sweep_kwargs(client: Any = None) -> dict[str, Any]:
    """Extra keyword arguments of :func:`statmech_nn.sweep.run_sweep`: the Dask ``client`` of the
    command's executor options when one is given (cells then run as Dask tasks), none for the
    serial run in this process. The one place the study hands its executor to the sweep runner."""
    return {} if client is None else {"client": client}


def check_directory(study: Study, out: Path, registry=None) -> None:
    """Raise a one-line StatmechError naming ``out`` unless ``study`` may be run into it without
    replacing anything it does not own: ``out`` is absent, holds nothing (but hidden entries, such
    as a temporary a killed write left, and the study's own file), or is the directory of the same study -- its
    ``study.toml`` has the same text, or is a study that ``study`` may resume
    (:func:`~.config.resume_conflict`: the same experiment, options and grids). A non-empty
    directory without a ``study.toml``, an unreadable one, or another study's is refused."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise StatmechError(f"output {str(out)!r} is a file: give a directory for the study")
    layout = StudyLayout(out)
    own = Path(study.path).resolve() if Path(study.path).is_file() else None   # `study DIR/s.toml -o DIR`
    try:
        entries = [entry.name for entry in out.iterdir() if not entry.name.startswith(".") and entry.resolve() != own]
        old_text = layout.study_file.read_bytes() if layout.study_file.is_file() else None
    except OSError as exc:
        raise StatmechError(f"cannot read the output directory {str(out)!r}: {exc.strerror or exc}") from None
    if not entries or old_text == study.text.encode("utf-8"):
        return
    refuse = "give another -o, or delete it"
    if old_text is None:
        raise StatmechError(f"output directory {str(out)!r} is not empty and is not a study directory (it has no "
                            f"study.toml): {refuse}")
    try:
        conflict = resume_conflict(layout.study_file, study, registry)
    except StatmechError as exc:
        raise StatmechError(f"output directory {str(out)!r} holds a study.toml that is not a study file "
                            f"({exc}): {refuse}") from None
    if conflict:
        raise StatmechError(f"output directory {str(out)!r} holds another study (its study.toml has {conflict}): "
                            f"{refuse}")


def prepare_directory(study: Study, out: Path, registry=None) -> StudyLayout:
    """Create ``out`` once :func:`check_directory` allows it, and keep the study file in it
    (a rerun of the same study resumes); a directory that cannot be created is a one-line
    StatmechError naming it."""
    check_directory(study, out, registry)
    layout = StudyLayout(Path(out))
    try:
        layout.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StatmechError(f"cannot create the study directory {str(out)!r}: {exc.strerror or exc}: "
                            "give another -o") from None
    write_atomically(layout.study_file, lambda tmp: Path(tmp).write_text(study.text, encoding="utf-8"))
    return layout


def run_sweeps(study: Study, layout: StudyLayout, cache: CellCache, *, progress: bool | None,
               history: str, log: Callable[[str], None], registry=None, client: Any = None) -> dict[str, xr.Dataset]:
    """Each grid into ``sweeps/<grid>.nc`` (reused when its configuration hash matches)."""
    experiment = study.experiment(registry)
    sweeps = {}
    for name, grid in study.grids.items():
        path = layout.sweep(name)
        old = _finished_sweep(experiment, grid, path)
        if old is not None:
            log(f"sweep {name}: done before ({path.relative_to(layout.root)})")
            sweeps[name] = old
            continue
        _, planned = plan_sweep(experiment, grid, cache)
        log(f"sweep {name}: {describe_plan(planned)}")
        ds = run_sweep(experiment, grid, cache, progress=progress, history=history, **sweep_kwargs(client))
        write_netcdf(ds, path)
        log(f"sweep {name}: wrote {path.relative_to(layout.root)}")
        sweeps[name] = read_netcdf(path)
    return sweeps


def _finished_sweep(experiment, grid, path: Path) -> xr.Dataset | None:
    """The sweep file ``path`` if it holds exactly ``grid`` of ``experiment`` (its
    ``config_sha256`` is this configuration's), else None (absent, damaged or another grid)."""
    if not path.exists():
        return None
    try:
        old = read_netcdf(path)
    except DataError:
        return None
    expected = sha256_of(sweep_config(experiment, experiment.validate_grid(grid)))
    return old if old.attrs.get("config_sha256") == expected else None


def plan_study(study: Study, out: str | Path, cache: CellCache, *, registry=None) -> list[str]:
    """What :func:`run_study` would do, as lines for a person, computing and writing nothing
    (``study --dry-run``): whether ``out`` is new or resumed (refused as the run would be), then
    per grid whether its sweep file is done, else its cells against the cache (digests checked),
    then the analyses, which always run (each reuses its earlier result where its key matches)."""
    out = Path(out)
    check_directory(study, out, registry)
    experiment = study.experiment(registry)
    lines = [f"directory {out}: " + ("resumes the study there" if out.exists() and any(out.iterdir()) else "new")]
    to_compute = 0
    for name, grid in study.grids.items():
        if _finished_sweep(experiment, grid, StudyLayout(out).sweep(name)) is not None:
            lines.append(f"sweep {name}: done before")
            continue
        _, planned = plan_sweep(experiment, grid, cache, verify=True)
        to_compute += sum(p.todo is not None for p in planned)
        lines.append(f"sweep {name}: {describe_plan(planned)}")
    listed = study.fss["slices"]
    fss = ("FSS comparisons at the boundaries the sweeps show" if listed == "boundaries"
           else f"FSS comparisons on {len(listed)} listed slice(s)")
    steps = ["phases", "window scan", *([fss] if study.fss["enabled"] else []), "robustness table",
             *(f"analyzer {e.name}" for e in study.extras)]
    lines.append(f"then: {', '.join(steps)}, report ({to_compute} cells to compute; cache: {cache.root})")
    return lines


def run_study(study: Study, out: str | Path, cache: CellCache, *, progress: bool | None = None,
              history: str = "", log: Callable[[str], None] = stderr_log, registry=None,
              client: Any = None) -> StudyLayout:
    """Run the whole study into ``out`` and write its report; returns the layout. ``client``: a
    Dask client for the sweeps' cells (None: here, serially)."""
    from .report import build_report

    layout = prepare_directory(study, Path(out), registry)
    log(f"study {study.title or study.path}: {len(study.grids)} grid(s), experiment "
        f"{study.experiment_name} on {study.device}")
    sweeps = run_sweeps(study, layout, cache, progress=progress, history=history, log=log, registry=registry,
                        client=client)
    StudyAnalyses(study, layout, sweeps, log=log, history=history, registry=registry).run()
    build_report(layout.root, registry=registry)
    log(f"report: {layout.report}")
    return layout
