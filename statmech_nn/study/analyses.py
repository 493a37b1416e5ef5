"""The study's analyses, composed through the analyzer registry by name, each written to its own
NetCDF file (:mod:`.layout`). Steps 1, 2 and 5 and every FSS posterior are skipped on a rerun
when their file holds the same step key; the comparison and robustness tables (3, 4), cheap
summaries of those files, are rebuilt every run.

Steps (``docs/study.md`` gives each default with its reason):

1. ``phases`` on the analysis grid: alpha, phases (amentia included), boundaries per slice of
   the other dims (``p_train``, ``width``, ``depth``);
2. ``powerlaw_scan`` on the same grid: alpha against the fit window;
3. finite-size-scaling comparisons (:mod:`.fss_adapter`) on every slice with a boundary (or the
   slices listed), one for each fit_a variant and error model asked for, on the points of the
   FSS grids inside the control window (their seed errors moderated by default,
   :func:`seed_errors`), with the shape of the seed-to-seed deviations of each size's curve
   (which per-size error terms they call for);
4. the robustness table (:mod:`.tables`): per slice, boundary, alpha range, phases and the preferred form with its
   p_c and exponents (of the first fit_a variant and error model listed);
5. every analyzer named in ``[[analysis.analyzers]]``, run on its grid's sweep.

A step's key is the SHA-256 of what determines it (its inputs' ``config_sha256``, its
options and the code: package version and git commit, and the source file of each analyzer and
scaling form it uses, so an edited plugin form is refitted), stored as the attribute
``study_step_sha256``: a rerun reuses a file whose key
matches and recomputes one whose key differs, so an interrupted study loses at most the step in
progress, and a changed option recomputes only what it affects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..analysis.base import run_analyzer
from ..analysis.fss.compare import describe_preference
from ..analysis.fss.layout import read_posterior, to_inference_tree
from ..errors import ConfigError, DataError
from ..io import read_netcdf, write_netcdf
from .. import __version__
from ..digest import canonical_json, data_sha256, sha256_of, source_sha256
from ..schema import cf_output, git_commit
from ..selection import select_values
from . import fss_adapter
from .config import ERROR_MODELS, Study, study_priors
from .layout import StudyLayout, comparison_name
from .tables import comparison_dataset, robustness_dataset

STEP_KEY = "study_step_sha256"
#: fewer seeds than this behind a comparison's errors draw a warning (:func:`few_seeds_warning`)
FEW_SEEDS = 5

Log = Callable[[str], None]


class StudyAnalyses:
    """Run (or reuse) every analysis step of ``study`` on its ``sweeps``."""

    def __init__(self, study: Study, layout: StudyLayout, sweeps: Mapping[str, xr.Dataset], *,
                 log: Log, history: str, registry=None):
        from ..plugins import get_registry

        self.study, self.layout, self.sweeps = study, layout, dict(sweeps)
        self.log, self.history = log, history
        self.registry = registry or get_registry()
        #: steps skipped or failed in this run, each one line (robustness.nc keeps them for the report)
        self.notes: list[str] = []

    def _not_computed(self, note: str) -> None:
        """Log a step that was skipped or failed, and keep it for the report."""
        self.log(note)
        self.notes.append(note)

    # -- steps -----------------------------------------------------------------------------
    def run(self) -> None:
        phases = self.phases()
        self.window_scan()
        comparisons = self.comparisons(phases)
        self.robustness(phases, comparisons)
        for extra in self.study.extras:
            self.extra(extra.name, extra.grid, extra.options)

    def _output(self, result: xr.Dataset | xr.DataTree, title: str,
                inputs: list[xr.Dataset]) -> xr.Dataset | xr.DataTree:
        """``result`` with the study's configuration (``config_json``, ``config_sha256``) and the
        CF and provenance attributes of :func:`statmech_nn.schema.cf_output` (a tree: on its root)."""
        result = result.copy()
        result.attrs.update(config_json=canonical_json(self.study.resolved()), config_sha256=self.study.sha256,
                            study_step=title)
        return cf_output(result, title=f"statmech_nn study: {title}", history=self.history, inputs=inputs)

    def _step(self, path, key_parts: Any, title: str, compute: Callable[[], xr.Dataset],
              inputs: list[xr.Dataset]) -> xr.Dataset:
        key = step_key(key_parts)
        old = _stored(path, key)
        if old is not None:
            self.log(f"{title}: done before ({path.relative_to(self.layout.root)})")
            return old
        self.log(f"{title}: computing")
        result = self._output(compute(), title, inputs)
        result.attrs[STEP_KEY] = key
        write_netcdf(result, path)
        self.log(f"{title}: wrote {path.relative_to(self.layout.root)}")
        return read_netcdf(path)

    def _fit_options(self) -> dict[str, Any]:
        a = self.study.analysis
        options = {"var": a["observable"], "size_dim": a["size"], "seed_dim": a["seed"]}
        if a["window"]:
            options["window"] = tuple(a["window"])
        return options

    def _analyzer_step(self, path, step: dict[str, Any], title: str, analyzer: str, data: xr.Dataset,
                       options: dict[str, Any]) -> xr.Dataset:
        """The step running the registered ``analyzer`` on ``data``; its key is ``step`` with
        the input's ``config_sha256``, the ``options`` and the analyzer's source file."""
        cls = self.registry.analyzer(analyzer)
        key = {**step, "input": data.attrs.get("config_sha256"), "options": options, "source": source_sha256(cls)}
        return self._step(path, key, title, lambda: run_analyzer(cls, data, **options), [data])

    def phases(self) -> xr.Dataset:
        data = self.sweeps[self.study.analysis_grid]
        chance = {k: self.study.phases[k] or None for k in ("loss_var", "accuracy_var")}  # "": none
        options = {**self._fit_options(), "control_dim": self.study.analysis["control"], **self.study.phases,
                   **chance}
        return self._analyzer_step(self.layout.phases, {"step": "phases"}, "phases", "phases", data, options)

    def window_scan(self) -> xr.Dataset | None:
        data = self.sweeps[self.study.analysis_grid]
        options = {k: v for k, v in self._fit_options().items() if k != "window"}
        options.update(self.study.scan)
        if data.sizes[options["size_dim"]] < options["points"]:
            self._not_computed(f"window scan: skipped ({data.sizes[options['size_dim']]} sizes < {options['points']} "
                               "per window: analysis.scan.points)")
            return None
        return self._analyzer_step(self.layout.scan, {"step": "window_scan"}, "window scan", "powerlaw_scan",
                                   data, options)

    def extra(self, name: str, grid: str, options: dict[str, Any]) -> xr.Dataset:
        return self._analyzer_step(self.layout.extra(name), {"step": "extra", "analyzer": name},
                                   f"analyzer {name}", name, self.sweeps[grid], options)

    # -- finite-size scaling -------------------------------------------------------------------
    def slices(self, phases: xr.Dataset) -> list[dict[str, Any]]:
        """The slices that get a comparison: every point of the boundary's dims with a finite
        boundary (``slices = "boundaries"``), or the listed ones."""
        listed = self.study.fss["slices"]
        if isinstance(listed, list):
            return [dict(s) for s in listed]
        boundary = phases["boundary"]
        found = []
        for idx in np.ndindex(*boundary.shape):
            if np.isfinite(boundary.values[idx]):
                found.append({d: boundary[d].values[i].item() for d, i in zip(boundary.dims, idx)})
        return found

    def comparisons(self, phases: xr.Dataset) -> xr.Dataset | None:
        fss = self.study.fss
        if not fss["enabled"]:
            self._not_computed("finite-size scaling: disabled (analysis.fss.enabled = false)")
            return None
        merged = observable_union([self.sweeps[g] for g in self.study.fss_grids], self.study.analysis["observable"])
        rows = []
        for point in self.slices(phases):
            for fit_a in fss["fit_a"]:
                for model in fss["error_models"]:
                    row = self._compare(merged, phases, point, fit_a, model)
                    if row is not None:
                        rows.append(row)
        if not rows:
            self._not_computed("finite-size scaling: no comparison (no slice with a boundary and enough sizes, "
                               "or every one failed)")
            return None
        ds = self._output(comparison_dataset(rows, fss["forms"]), "finite-size-scaling comparisons",
                          [self.sweeps[g] for g in self.study.fss_grids])
        write_netcdf(ds, self.layout.comparisons)
        return read_netcdf(self.layout.comparisons)

    def _compare(self, merged: xr.Dataset, phases: xr.Dataset, point: dict[str, Any], fit_a: bool,
                 error_model: str):
        a, fss = self.study.analysis, self.study.fss
        control, size, seed, var = a["control"], a["size"], a["seed"], a["observable"]
        name = comparison_name(point, fit_a, error_model)
        size_offsets, size_tilts = ERROR_MODELS[error_model]
        boundary = float("nan")
        if all(d in phases["boundary"].dims for d in point):
            boundary = float(select_values(phases["boundary"].to_dataset(), point, drop=True)["boundary"])
        window = fss["control_window"]
        if isinstance(window, list):
            lo, hi = window
        elif np.isfinite(boundary):
            lo, hi = boundary - window, boundary + window
        else:
            self._not_computed(f"fss {name}: skipped (no measured boundary to centre the control window on)")
            return None
        # the slice's own measurements: a value of the control or size that only another slice's
        # grid holds is all-NaN here and is dropped, so the fit (and its key) does not see it
        data = select_values(merged[[var]], point, drop=True).dropna(control, how="all").dropna(size, how="all")
        data = data.sel({control: (data[control] >= lo) & (data[control] <= hi)})
        if data.sizes[control]:  # the window as used: no unmeasured (e.g. negative) rate
            lo, hi = max(lo, float(data[control].min())), min(hi, float(data[control].max()))
        y = np.log(data[var]) if fss["observable"] == "log" else data[var]
        count = y.count(seed)
        mean = y.mean(seed).where(count >= 2)
        err, trend_weight, error_hints = seed_errors(y, size=size, control=control, seed=seed,
                                                     how=fss["seed_errors"], degree=fss["seed_error_trend"])
        error_method = "per_point" if trend_weight is None else "moderated"
        what = data[var].attrs.get("long_name", var)
        y_name = f"ln_{var}" if fss["observable"] == "log" else var
        points = xr.Dataset({
            y_name: mean.assign_attrs(long_name=f"ln({what})" if fss["observable"] == "log" else what,
                                      units="1" if fss["observable"] == "log" else data[var].attrs.get("units", "1")),
            f"{y_name}_err": err.assign_attrs(long_name=f"standard error over {seed}s ({error_method})", units="1"),
        }, coords={d: data[d] for d in (control, size)})
        sizes_with_points = int((mean.count(control) >= 2).sum())
        if sizes_with_points < fss["min_sizes"]:
            self._not_computed(f"fss {name}: skipped ({sizes_with_points} sizes with >= 2 {control} values in "
                               f"[{lo:g}, {hi:g}]; needs analysis.fss.min_sizes = {fss['min_sizes']})")
            return None
        settings = {**{k: fss[k] for k in ("n_walkers", "n_tau", "max_steps", "seed", "variants", "refit")},
                    "size_offsets": size_offsets, "size_tilts": size_tilts,
                    "priors": study_priors(fss, self.registry)}
        forms = [self.registry.scaling_form(f) for f in fss["forms"]]     # a plugin's form too
        # keyed by the numbers the fit sees, not by the sweeps they come from: a grid added elsewhere
        # leaves this slice's comparison as it is
        key = step_key({"step": "fss", "data": data_sha256(points),
                         "slice": point, "window": [lo, hi], "fit_a": fit_a, "forms": fss["forms"],
                         "form_sources": [source_sha256(f) for f in forms],
                         "observable": [var, fss["observable"]], "settings": settings,
                         "seed_errors": [fss["seed_errors"], fss["seed_error_trend"]]})
        paths = {form: self.layout.posterior(name, form) for form in fss["forms"]}
        posteriors = _reuse(paths, key)
        if posteriors is None:
            self.log(f"fss {name}: comparing {', '.join(fss['forms'])} on {int(mean.count())} points "
                     f"({control} in [{lo:g}, {hi:g}])")
            try:
                ranking = fss_adapter.compare(points, y_name, f"{y_name}_err", size=size, control=control,
                                              forms=forms, fit_a=fit_a, **settings)
            except (ConfigError, DataError) as exc:  # this slice's data: the other slices still count
                self._not_computed(f"fss {name}: failed: {exc}")
                return None
            for form, post in ranking.posteriors.items():
                tree = self._output(to_inference_tree(fss_adapter.with_slice(post, point)),
                                    f"FSS posterior, {form}, {name}", [self.sweeps[g] for g in self.study.fss_grids])
                tree.attrs.update({STEP_KEY: key, "study_comparison": name, "study_slice_json": canonical_json(point),
                                   "study_fit_a": int(fit_a), "study_error_model": error_model,
                                   "study_preferred": ranking.preferred,
                                   "study_delta_score": ranking.delta, "study_delta_se": ranking.delta_se,
                                   "study_control_min": float(lo), "study_control_max": float(hi),
                                   "study_boundary": boundary,
                                   "study_warnings_json": canonical_json(ranking.warnings)})
                write_netcdf(tree, paths[form])
            posteriors = {form: read_posterior(p) for form, p in paths.items()}
            self.log(f"fss {name}: " + describe_preference(ranking.preferred, ranking.delta, ranking.delta_se,
                                                            f"{ranking.delta:.2f} ± {ranking.delta_se:.2f}"))
        else:
            self.log(f"fss {name}: done before")
        shape, hints = fss_adapter.seed_error_shape(y, size=size, control=control, seed=seed,
                                                    size_offsets=size_offsets, size_tilts=size_tilts)
        hints = hints + error_hints + few_seeds_warning(count, seed)
        folder = self.layout.root / "analyses"
        return {"name": name, "point": point, "error_model": error_model, "posteriors": posteriors,
                "error_shape": shape, "hints": hints,
                "seed_errors": error_method, "trend_weight": trend_weight or 0.0,
                "files": {form: path.relative_to(folder).as_posix() for form, path in paths.items()}}

    # -- robustness ------------------------------------------------------------------------------
    def robustness(self, phases: xr.Dataset, comparisons: xr.Dataset | None) -> xr.Dataset:
        fss = self.study.fss
        ds = self._output(robustness_dataset(phases, comparisons, self.study.analysis["control"],
                                             fss["fit_a"][0], fss["error_models"][0]),
                          "robustness across slices", [phases] + ([] if comparisons is None else [comparisons]))
        ds.attrs["study_notes_json"] = canonical_json(self.notes)
        write_netcdf(ds, self.layout.robustness)
        return read_netcdf(self.layout.robustness)


def observable_union(sweeps: list[xr.Dataset], var: str) -> xr.Dataset:
    """The observable ``var`` of ``sweeps`` on the union of their grids (outer join; where two hold
    a point they hold the same cached value). The other variables are left out: a per-network one
    such as the MNIST ``train_loss`` is evaluated with each grid's cells, so two grids that share
    networks can differ in it by float32 rounding, which made the merge fail."""
    return xr.merge([ds[[var]] for ds in sweeps], join="outer", compat="no_conflicts",
                    combine_attrs="drop_conflicts")


def seed_errors(y: xr.DataArray, *, size: str, control: str, seed: str, how: str,
                degree: int) -> tuple[xr.DataArray, float | None, list[str]]:
    """Standard errors of the ``seed`` mean of ``y`` (NaN where fewer than 2 seeds), the share of
    their variance taken from the trend (``None`` for per-point errors) and warnings. ``how``:
    ``"per_point"``, ``std / sqrt(n)`` of each point; ``"moderated"``, each point's variance shrunk
    towards one level per size and a polynomial of ``degree`` along ``control``
    (:func:`~statmech_nn.analysis.moderated_variance.moderated_errors`), falling back to per-point
    errors with a warning where too few points have a spread to estimate that trend."""
    from ..analysis.moderated_variance import replica_errors

    dims = {"replica_dim": seed, "size_dim": size, "control_dim": control}
    try:
        err, moderation = replica_errors(y, **dims, how=how, degree=degree)
    except DataError as exc:
        return replica_errors(y, **dims, how="per_point")[0], None, [f"seed errors per point, not moderated: {exc}"]
    weight = None if moderation is None else moderation.trend_weight(float(y.count(seed).max()) - 1)
    return err, weight, []


def few_seeds_warning(count: xr.DataArray, seed: str) -> list[str]:
    """A warning when the fewest seeds behind a point's error (``count``, where >= 2) is below
    :data:`FEW_SEEDS`: a standard deviation from ``n`` seeds rests on ``n - 1`` degrees of
    freedom (relative spread ~1/sqrt(2 (n - 1)): 50 % for 3 seeds; moderation helps the errors,
    not the means), and the comparison's standard error does not carry that (measured in
    ``docs/reference_study.md``)."""
    n = int(count.where(count >= 2).min())
    if n >= FEW_SEEDS:
        return []
    return [f"the errors rest on {n} {seed}s per point ({n - 1} degrees of freedom): the means of a few "
            f"{seed}s move, which no treatment of the errors undoes, so the comparison scatters by more than its "
            "standard error (e.g. on MNIST, docs/reference_study.md 'More seeds: 9 and 15': 3-seed subsets of 9 "
            "seeds scattered by 1.6-1.9 se with moderated errors, 1.9-3.3 se per point): read a difference of a "
            f"few se as a lean, or add {seed}s"]


def step_key(parts: Any) -> str:
    """SHA-256 of a step's inputs and options and of the code that computes it (package version
    and git commit, where there is one): results of other code are recomputed, not reused."""
    return sha256_of({"step": parts, "code": {"statmech_nn": __version__, "commit": git_commit()}})


def _stored(path, key: str, read: Callable[[Any], xr.Dataset] = read_netcdf) -> xr.Dataset | None:
    """The file at ``path`` (as ``read`` reads it) if it is readable and holds step key ``key``
    (a root attribute), else ``None``."""
    if not path.exists():
        return None
    try:
        ds = read(path)
    except DataError:
        return None
    return ds if ds.attrs.get(STEP_KEY) == key else None


def _reuse(paths: Mapping[str, Any], key: str) -> dict[str, xr.Dataset] | None:
    """The posterior of every file of ``paths`` (``{form: path}``) if all hold step key ``key``,
    else ``None``."""
    found = {form: _stored(path, key, read_posterior) for form, path in paths.items()}
    return None if any(ds is None for ds in found.values()) else found
