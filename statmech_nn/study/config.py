"""Study files (TOML): one question, its grids, and the analysis plan (``docs/study.md``).

Layout::

    title = "..."                    # optional: shown on the report
    question = "..."                 # optional: the question the study asks
    experiment = "mnist_dropout"     # as in a sweep file
    device = "cpu"

    [training]                       # experiment option sections, exactly as in a sweep file
    epochs = 10

    [executor]                       # where cells run: here (default) or on Dask (workers = N,
                                     # scheduler = "tcp://...", scheduler_file = "...")

    [grids.phase_diagram]            # one or more named grids; the first is complete, a later
    p_train = [0.0, 0.5]             # grid takes every key it omits from the first
    ...
    [grids.boundary]
    p_eval = [0.3, 0.35, 0.4]

    [analysis]                       # observable, dims, fit window
    [analysis.phases]                # classification thresholds
    [analysis.scan]                  # the alpha window scan
    [analysis.fss]                   # finite-size-scaling comparisons at the boundaries
    [[analysis.analyzers]]           # more analyzers from the registry, by name

Every table is validated with :func:`statmech_nn.options.resolve_options` (the validator of the
experiments' option sections): an unknown key or a bad value is a one-line
:class:`~statmech_nn.errors.ConfigError` naming the file, the key and what is accepted. Grid
values are checked by the experiment itself; names that become file names (grids, analyzers,
scaling forms) by :func:`.layout.check_file_name`; the analysis dims, the observable and the
options of named analyzers against what the experiment and the registry declare -- all before
anything runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..analysis._options import ERROR_METHODS, option_names
from ..config import DEFAULT_EXPERIMENT, read_toml
from ..errors import ConfigError, PluginError, StatmechError
from ..options import Option, non_negative, positive, resolve_options
from ..digest import sha256_of
from .layout import check_file_name

RESERVED = ("title", "question", "experiment", "device", "executor", "grids", "analysis")


#: the study's FSS error models: name -> (size_offsets, size_tilts) of
#: :func:`~statmech_nn.analysis.fss.compare_forms`, and how the report names them
ERROR_MODELS = {"independent": (False, False), "offsets": (True, False), "tilts": (False, True),
                "offsets_tilts": (True, True)}
ERROR_MODEL_LABELS = {"independent": "independent errors", "offsets": "size offsets", "tilts": "size tilts",
                      "offsets_tilts": "size offsets and tilts"}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_window(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_is_number(b) and b > 0 for b in v) and v[0] < v[1]


def _is_name_list(v: Any) -> bool:
    return isinstance(v, list) and len(v) >= 1 and all(isinstance(s, str) and s for s in v) \
        and len(set(v)) == len(v)


def _is_bool_list(v: Any) -> bool:
    return isinstance(v, list) and 1 <= len(v) <= 2 and all(isinstance(b, bool) for b in v) \
        and len(set(v)) == len(v)


def _is_slices(v: Any) -> bool:
    if isinstance(v, str):
        return v == "boundaries"
    return isinstance(v, list) and len(v) >= 1 and all(isinstance(s, dict) for s in v)


def _is_prior_table(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(box, list) and len(box) == 2 and all(_is_number(b) for b in box)
                                       and box[0] < box[1] for box in v.values())


def _is_control_window(v: Any) -> bool:
    return (_is_number(v) and v > 0) or (isinstance(v, list) and len(v) == 2
                                         and all(_is_number(b) for b in v) and v[0] < v[1])


EXECUTOR = (
    Option("workers", 0, "a local Dask cluster of this many worker processes (0, the default: cells run "
           "here, one after another)", (int,), check=non_negative, accepted="an integer >= 0"),
    Option("scheduler", "", "address of an existing Dask scheduler (tcp://host:8786)", (str,)),
    Option("scheduler_file", "", "scheduler file of an existing Dask cluster", (str,)),
)
#: the dims' roles in a study (``rows`` may be ``""``: a phase diagram of one row)
ROLES = ("size", "control", "rows", "seed")
ANALYSIS = (
    Option("observable", "loss", "variable whose power law in the size defines the phases", (str,)),
    Option("size", "N", "size dimension (the power law is in it)", (str,)),
    Option("control", "p_eval", "dimension along which the boundary (alpha = 0) is sought", (str,)),
    Option("rows", "p_train", "second axis of the phase diagram (\"\": none, a profile of alpha along the control)",
           (str,)),
    Option("facets", ["width", "depth"], "dims faceted over (robustness); those absent are ignored",
           (list,), check=lambda v: all(isinstance(s, str) for s in v) and len(set(v)) == len(v),
           accepted="a list of distinct dimension names"),
    Option("seed", "seed", "dimension of independent runs (averaged; its spread gives the errors)", (str,)),
    Option("window", None, "fit window [N_min, N_max] of the power law (default: every size)",
           (list,), check=_is_window, accepted="[min, max] with 0 < min < max"),
    Option("grid", "", "grid whose sweep the phases and the scan analyse (default: the first)", (str,)),
)
PHASES = (
    Option("z", 2.0, "alpha is nonzero when |alpha| > z stderr", (float,), check=positive,
           accepted="a number > 0"),
    Option("n_classes", 10, "classes of the task (chance loss ln K, accuracy 1/K)", (int,),
           check=lambda v: v >= 2, accepted="an integer >= 2"),
    Option("loss_tol", 0.15, "amentia: |loss - ln K| <= this at the largest size", (float,),
           check=positive, accepted="a number > 0"),
    Option("accuracy_tol", 0.05, "amentia: |accuracy - 1/K| <= this at the largest size",
           (float,), check=lambda v: 0 < v < 1, accepted="a number in (0, 1) (accuracies are fractions)"),
    Option("amentia_alpha_tol", 0.02, "amentia also when |alpha| <= this", (float,),
           check=non_negative, accepted="a number >= 0"),
    Option("loss_var", "loss", "the task's loss variable, at chance (ln K) in amentia; \"\" for none", (str,)),
    Option("accuracy_var", "accuracy", "the task's accuracy variable, at chance (1/K) in amentia; \"\" for none "
           "(both \"\": no amentia, for an experiment that is no learning task)", (str,)),
)
SCAN = (
    Option("mode", "sliding", "windows of consecutive sizes ('sliding') or from the smallest "
           "('growing')", (str,), choices=("sliding", "growing")),
    Option("points", 3, "sizes per window", (int,), check=lambda v: v >= 3,
           accepted="an integer >= 3"),
)
FSS = (
    Option("enabled", True, "run the finite-size-scaling comparisons", (bool,)),
    Option("slices", "boundaries", "'boundaries' (every slice of the other dims with a measured "
           "boundary) or a list of tables {dim = value, ...}", (str, list), check=_is_slices,
           accepted="'boundaries' or a list of tables such as [{p_train = 0.0, width = 32, depth = 1}]"),
    Option("forms", ["second_order", "bkt"], "scaling forms compared (registered names)",
           (list,), check=lambda v: _is_name_list(v) and len(v) >= 2,
           accepted="a list of at least two distinct form names"),
    Option("observable", "log", "'log': ln of the observable (seed mean and standard error of "
           "ln y); 'raw': the observable itself", (str,), choices=("log", "raw")),
    Option("control_window", 0.3, "a half-width around the measured boundary, or [min, max]",
           (float, list), check=_is_control_window, accepted="a number > 0 or [min, max]"),
    Option("fit_a", [False], "without and/or with a fitted y-exponent a", (list,),
           check=_is_bool_list, accepted="[false], [true] or [false, true]"),
    Option("grids", [], "grids whose points enter the fits (default: every grid)", (list,),
           check=lambda v: all(isinstance(s, str) for s in v), accepted="a list of grid names"),
    Option("min_sizes", 3, "least sizes a slice needs for a comparison", (int,),
           check=lambda v: v >= 3, accepted="an integer >= 3"),
    Option("n_walkers", 32, "emcee walkers (at least twice the parameters of each form)", (int,),
           check=lambda v: v >= 8 and v % 2 == 0, accepted="an even integer >= 8"),
    Option("n_tau", 50.0, "chain length in integrated autocorrelation times", (float,),
           check=positive, accepted="a number > 0"),
    Option("max_steps", 20000, "most emcee steps (run in chunks of 500)", (int,), check=lambda v: v >= 500,
           accepted="an integer >= 500"),
    Option("seed", 0, "seed of the sampler", (int,), check=non_negative, accepted="an integer >= 0"),
    Option("variants", True, "fit each form without and with its correction to scaling and keep the "
           "better-scoring variant (false: the plain forms only, half the fits)", (bool,)),
    Option("error_models", ["independent"], "the error models each comparison is made under (one comparison per "
           "model): 'independent' points, one unknown shift per size ('offsets': the losses of one network at "
           "every p_eval are correlated), one slope per size ('tilts'), or both ('offsets_tilts'; docs/fss.md, "
           "'Size offsets and tilts')", (list,), check=lambda v: _is_name_list(v) and set(v) <= set(ERROR_MODELS),
           accepted="a list of distinct names from " + ", ".join(ERROR_MODELS)),
    Option("seed_errors", "moderated", "'moderated': each point's seed variance shrunk towards a trend by empirical "
           "Bayes (a few seeds estimate a spread poorly; docs/fss.md); 'per_point': each point's own standard error",
           (str,), choices=ERROR_METHODS),
    Option("seed_error_trend", 0, "with moderated errors, the trend's polynomial degree along the control axis "
           "beside one level per size", (int,), check=non_negative, accepted="an integer >= 0"),
    Option("refit", False, "score sizes whose held-out estimate is unreliable (Pareto k > 0.7) exactly, by "
           "refitting without them (one more fit per such size; docs/fss.md)", (bool,)),
    Option("priors", {}, "prior boxes replacing the forms' defaults: \"[FORM:]NAME\" = [lo, hi], without FORM "
           "for every form with the parameter (the rules of analyze fss --prior; docs/study.md)", (dict,),
           check=_is_prior_table, accepted='a table of "[FORM:]NAME" = [lo, hi] with lo < hi, '
                                           'e.g. {nu = [0.3, 5.0], "bkt:sigma" = [0.2, 2.0]}'),
)
ANALYSIS_SPEC = {"analysis": ANALYSIS, "analysis.phases": PHASES, "analysis.scan": SCAN,
                 "analysis.fss": FSS}
EXTRA = (
    Option("name", None, "registered analyzer name (required)", (str,), check=bool, accepted="a non-empty name"),
    Option("grid", "", "grid whose sweep it analyses (default: the first)", (str,)),
    Option("options", {}, "keyword options of the analyzer's run()", (dict,)),
)


@dataclass
class ExtraAnalysis:
    """A registered analyzer named in the study file, with its options."""

    name: str
    grid: str
    options: dict[str, Any]


@dataclass
class Study:
    """A parsed, validated study (the experiment is instantiated by :meth:`experiment`)."""

    path: str
    text: str
    title: str
    question: str
    experiment_name: str
    device: str
    executor: dict[str, Any]
    options: dict[str, dict[str, Any]]
    grids: dict[str, dict[str, tuple]]
    analysis: dict[str, Any]
    phases: dict[str, Any]
    scan: dict[str, Any]
    fss: dict[str, Any]
    extras: list[ExtraAnalysis] = field(default_factory=list)

    def resolved(self) -> dict[str, Any]:
        """Everything that determines the results (hashed as ``config_sha256``)."""
        return {"experiment": self.experiment_name, "device": self.device, "options": self.options,
                "grids": {n: {d: list(v) for d, v in g.items()} for n, g in self.grids.items()},
                "analysis": self.analysis, "phases": self.phases, "scan": self.scan, "fss": self.fss,
                "analyzers": [{"name": e.name, "grid": e.grid, "options": e.options} for e in self.extras]}

    @property
    def sha256(self) -> str:
        return sha256_of(self.resolved())

    def executor_choice(self) -> dict[str, Any]:
        """The keyword of :func:`statmech_nn.cluster.dask_client` the file asks for (empty: serial)."""
        return {k: v for k, v in self.executor.items() if v}

    @property
    def analysis_grid(self) -> str:
        return self.analysis["grid"] or next(iter(self.grids))

    @property
    def fss_grids(self) -> list[str]:
        return list(self.fss["grids"]) or list(self.grids)

    def experiment(self, registry=None):
        from ..plugins import get_registry

        cls = (registry or get_registry()).experiment(self.experiment_name)
        return cls(self.options, device=self.device)


def load_study(path: str | Path, *, device: str | None = None, registry=None) -> Study:
    """Read, parse and validate a study file (``device`` overrides the file's)."""
    path = Path(path)
    raw, text = read_toml(path, "study file")
    if device is not None:
        _check_device_override(raw, device, registry)
    try:
        return parse_study(raw, text=text, path=str(path), device=device, registry=registry)
    except StatmechError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _check_device_override(raw: Mapping[str, Any], device: str, registry) -> None:
    """``--device`` checked against the file's experiment first, so that its error names the
    option rather than the study file (a file naming no known experiment is left to
    :func:`parse_study`, which reports it with the file's path)."""
    from ..experiment import check_device_option
    from ..plugins import get_registry

    try:
        experiment_cls = (registry or get_registry()).experiment(str(raw.get("experiment", DEFAULT_EXPERIMENT)))
    except PluginError:
        return
    check_device_option(experiment_cls, device)


def _string(raw: Mapping[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{key} = {value!r}: expected a string")
    return value


def parse_study(raw: Mapping[str, Any], *, text: str = "", path: str = "study",
                device: str | None = None, registry=None) -> Study:
    """Validate a parsed TOML document (see the module docstring); one-line errors."""
    from ..plugins import get_registry

    registry = registry or get_registry()
    for key, value in raw.items():
        if key not in RESERVED and not isinstance(value, dict):
            raise ConfigError(f"unknown key {key!r}: expected one of {', '.join(RESERVED)} or an "
                              "option section of the experiment (a table such as [training])")
    options = {k: v for k, v in raw.items() if k not in RESERVED}
    experiment_name = _string(raw, "experiment", DEFAULT_EXPERIMENT)
    device = device or _string(raw, "device", "cpu")
    executor = resolve_options({"executor": EXECUTOR}, {"executor": _table(raw, "executor")})["executor"]
    chosen = [k for k in ("workers", "scheduler", "scheduler_file") if executor[k]]
    if len(chosen) > 1:
        raise ConfigError(f"executor: {' and '.join(chosen)} exclude each other: give one")
    experiment = registry.experiment(experiment_name)(options, device=device)

    grids_raw = _table(raw, "grids")
    if not grids_raw:
        raise ConfigError("no grid: give at least one table [grids.NAME] with the grid keys of "
                          f"experiment {experiment_name!r} ({', '.join(experiment.dims)})")
    grids: dict[str, dict[str, tuple]] = {}
    first: dict[str, Any] = {}
    for name, grid in grids_raw.items():
        check_file_name("grids", name)
        if not isinstance(grid, dict):
            raise ConfigError(f"grids.{name} = {grid!r}: expected a table of grid keys")
        merged = {**first, **grid}
        try:
            grids[name] = experiment.validate_grid(merged)
        except ConfigError as exc:
            raise ConfigError(f"[grids.{name}] {exc}") from None
        if not first:
            first = dict(grid)

    analysis_raw = dict(_table(raw, "analysis"))
    sections = {"analysis." + k: analysis_raw.pop(k) for k in ("phases", "scan", "fss") if k in analysis_raw}
    extras_raw = analysis_raw.pop("analyzers", [])
    for old in ("size_offsets", "size_tilts"):
        if old in sections.get("analysis.fss", {}):
            raise ConfigError(f"analysis.fss.{old}: replaced by error_models, the list of error models to compare "
                              "under (e.g. error_models = [\"independent\", \"offsets_tilts\"])")
    resolved = resolve_options(ANALYSIS_SPEC, {"analysis": analysis_raw, **sections})
    analysis, fss = resolved["analysis"], resolved["analysis.fss"]
    dims = set(experiment.dims)
    for key in ROLES:
        if analysis[key] not in dims and not (key == "rows" and analysis[key] == ""):
            none = ', or "" for none' if key == "rows" else ""
            raise ConfigError(f"analysis.{key} = {analysis[key]!r}: expected a dimension of experiment "
                              f"{experiment_name!r} ({', '.join(experiment.dims)}{none})")
    check_distinct_roles(analysis)
    variables = declared_variables(experiment)
    if variables and analysis["observable"] not in variables:
        raise ConfigError(f"analysis.observable = {analysis['observable']!r}: expected a variable of experiment "
                          f"{experiment_name!r} ({', '.join(variables)})")
    phases = resolved["analysis.phases"]
    indicators = [v for v in (phases["loss_var"], phases["accuracy_var"]) if v]
    if variables and indicators and not set(indicators) & set(variables):
        raise ConfigError(f"analysis.phases: experiment {experiment_name!r} writes neither loss_var = "
                          f"{phases['loss_var']!r} nor accuracy_var = {phases['accuracy_var']!r} (it writes "
                          f"{', '.join(variables)}): name its loss or accuracy, or set both to \"\" (no amentia)")
    if "facets" in analysis_raw:  # given: a typo is an error; the default drops dims the experiment lacks
        unknown = [d for d in analysis["facets"] if d not in dims]
        if unknown:
            raise ConfigError(f"analysis.facets: {unknown[0]!r} is not a dimension of experiment {experiment_name!r} "
                              f"({', '.join(experiment.dims)})")
    analysis["facets"] = [d for d in analysis["facets"] if d in dims]
    for key, names in (("analysis.grid", [analysis["grid"]] if analysis["grid"] else []),
                       ("analysis.fss.grids", fss["grids"])):
        for name in names:
            if name not in grids:
                raise ConfigError(f"{key}: unknown grid {name!r}: expected one of {', '.join(grids)}")
    if phases["accuracy_var"] and analysis["observable"] == phases["accuracy_var"]:
        raise ConfigError(f"analysis.observable = {analysis['observable']!r} is the accuracy (accuracy_var): the "
                          "phases read alpha < 0 as learning, which needs an observable that falls as the network "
                          "learns, such as the loss")
    analysis_grid = grids[analysis["grid"] or next(iter(grids))]
    check_dims_placed(analysis, analysis_grid)
    if analysis["window"]:
        sizes = analysis_grid[analysis["size"]]
        lo, hi = analysis["window"]
        inside = [n for n in sizes if lo <= n <= hi]
        if len(inside) < 3:
            raise ConfigError(f"analysis.window = [{lo:g}, {hi:g}] holds {len(inside)} of the analysis grid's "
                              f"{analysis['size']} values ({', '.join(f'{n:g}' for n in sizes)}): a power-law fit "
                              "with a goodness of fit needs 3")
    check_walkers(fss, [registry.scaling_form(form)() for form in fss["forms"]])
    study_priors(fss, registry)                    # names checked now; each box's range by the fit
    for form in fss["forms"]:
        check_file_name("analysis.fss.forms", form)
    if isinstance(fss["slices"], list):
        fss_grids = [grids[g] for g in fss["grids"] or grids]
        fss["slices"] = [complete_slice(i, item, experiment.dims, analysis, analysis_grid, fss_grids)
                         for i, item in enumerate(fss["slices"])]

    if not isinstance(extras_raw, list):
        raise ConfigError(f"analysis.analyzers = {extras_raw!r}: expected an array of tables "
                          "[[analysis.analyzers]] with name = ... and options = {...}")
    extras = []
    for i, item in enumerate(extras_raw):
        if not isinstance(item, dict):
            raise ConfigError(f"analysis.analyzers[{i}] = {item!r}: expected a table with name = ...")
        spec = resolve_options({f"analysis.analyzers[{i}]": EXTRA}, {f"analysis.analyzers[{i}]": item})
        entry = spec[f"analysis.analyzers[{i}]"]
        if "name" not in item:
            raise ConfigError(f"analysis.analyzers[{i}] has no name: expected name = one of "
                              + ", ".join(registry.names("analyzer")))
        analyzer = registry.analyzer(entry["name"])
        check_file_name(f"analysis.analyzers[{i}].name", entry["name"])
        check_analyzer_options(f"analysis.analyzers[{i}].options", entry["name"], analyzer, entry["options"],
                               experiment.dims, variables)
        if entry["grid"] and entry["grid"] not in grids:
            raise ConfigError(f"analysis.analyzers[{i}].grid: unknown grid {entry['grid']!r}: expected "
                              f"one of {', '.join(grids)}")
        extras.append(ExtraAnalysis(entry["name"], entry["grid"] or next(iter(grids)), dict(entry["options"])))
    if len({e.name for e in extras}) != len(extras):
        raise ConfigError("analysis.analyzers names an analyzer twice: expected each at most once")

    return Study(path=path, text=text, title=_string(raw, "title", ""), question=_string(raw, "question", ""),
                 experiment_name=experiment_name, device=device, executor=executor, options=experiment.options,
                 grids=grids, analysis=analysis, phases=resolved["analysis.phases"],
                 scan=resolved["analysis.scan"], fss=fss, extras=extras)


def check_distinct_roles(analysis: Mapping[str, Any]) -> None:
    """Raise ConfigError unless ``analysis`` gives the size, control, rows and seed roles
    different dims (``rows`` may be ``""``, none): the power law runs along the size, the boundary
    is sought along the control, the phase diagram spans control x rows, and the seed dim is
    averaged away, so one dim in two roles leaves the analyses nothing to work on (found after the
    sweeps otherwise, in the analyzers' own terms, or not at all: a phase diagram over N)."""
    seen: dict[str, str] = {}
    for key in ROLES:
        dim = analysis[key]
        if dim in seen:
            raise ConfigError(f"analysis.{key} = {dim!r} is also analysis.{seen[dim]}: expected a different "
                              "dimension for each of size, control, rows and seed")
        if dim:
            seen[dim] = key


def check_dims_placed(analysis: Mapping[str, Any], analysis_grid: Mapping[str, tuple]) -> None:
    """Raise ConfigError when the analysis grid has several values of a dim in no role (not the
    size, control, rows or seed, nor a facet): the phases would vary over it, and the report's
    figures -- one panel per facet value, rows along ``rows``, colours along the control -- have
    no place for it (found only when the report is drawn otherwise; with ``rows = ""`` this is
    what an experiment's second control dim left unnamed runs into)."""
    placed = {analysis[key] for key in ROLES} | set(analysis["facets"])
    for dim, values in analysis_grid.items():
        if dim not in placed and len(values) > 1:
            raise ConfigError(f"the analysis grid has {len(values)} values of {dim} ({', '.join(map(str, values))}), "
                              f"which is none of analysis.size, control, rows, seed and facets (rows = "
                              f"{analysis['rows']!r}): name it as analysis.rows or a facet, or give it one value")


def declared_variables(experiment: Any) -> tuple[str, ...]:
    """The data variables ``experiment`` declares it writes (its ``variables`` attribute), or ``()``
    where it declares none: then a variable name can be checked only once a sweep exists."""
    return tuple(getattr(experiment, "variables", None) or ())


def analyzer_option_names(cls: type) -> list[str] | None:
    """The option names the analyzer class ``cls`` accepts, or None where they are known only when
    it runs. An analyzer whose ``run(data, **options)`` passes its options on to functions names
    them in ``option_functions`` (their keyword parameters are its options, as
    :func:`~statmech_nn.analysis._options.check_option_names` checks them); otherwise they are the
    keyword parameters of its ``run()`` less ``data``, unknown if ``run()`` takes ``**options``."""
    functions = getattr(cls, "option_functions", None)
    if functions:
        return option_names(*functions)
    run = cls().run
    if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(run).parameters.values()):
        return None
    return option_names(run)


def check_analyzer_options(where: str, name: str, cls: type, options: Mapping[str, Any], dims: tuple[str, ...],
                           variables: tuple[str, ...]) -> None:
    """Raise ConfigError for an option of analyzer ``name`` (class ``cls``) that is wrong before
    anything runs: a name it does not accept (:func:`analyzer_option_names`), a ``*_dim`` value
    that is not one of the experiment's ``dims`` (the options naming dims end so,
    ``docs/writing_plugins.md``), a ``var`` that is not one of its declared ``variables``."""
    accepted = analyzer_option_names(cls)
    unknown = [key for key in options if accepted is not None and key not in accepted]
    if unknown:
        raise ConfigError(f"{where}: unknown option {unknown[0]!r} for analyzer {name!r}: expected one of "
                          + (", ".join(accepted) or "(none)"))
    for key, value in options.items():
        if key.endswith("_dim") and isinstance(value, str) and value not in dims:
            raise ConfigError(f"{where}.{key} = {value!r}: expected a dimension of the experiment ({', '.join(dims)})")
        names = value if isinstance(value, list) else [value]          # a list: a joint fit (fss)
        if key == "var" and variables and not set(names) <= set(variables):
            raise ConfigError(f"{where}.var = {value!r}: expected a variable of the experiment, or a list of them "
                              f"({', '.join(variables)})")


def resume_conflict(old_path: str | Path, new: Study, registry=None) -> str:
    """Why ``new`` may not run into the directory whose study file is ``old_path`` ('' when it may).

    It may when it is the same study, perhaps edited: the same experiment with the same options
    (what every number measures) and every grid of the old one (whose sweep would otherwise stay
    in the directory, explained by no study file). Grid values, new grids, the analysis, the title
    and the executor may change: every file whose key changes is recomputed (``docs/study.md``).
    An old file that this version no longer accepts is compared as written (its options without
    the defaults filled in), so that a directory of an earlier version is never stranded."""
    try:
        old = load_study(old_path, registry=registry)
        experiment, options, grids = old.experiment_name, old.options, list(old.grids)
    except StatmechError:
        raw, _ = read_toml(old_path, "study file")
        if not isinstance(raw.get("grids"), dict):
            raise ConfigError(f"{old_path}: no [grids] table") from None
        experiment = raw.get("experiment", DEFAULT_EXPERIMENT)
        options = {k: v for k, v in raw.items() if k not in RESERVED and isinstance(v, dict)}
        grids = list(raw.get("grids", {}))
    if experiment != new.experiment_name:
        return f"experiment {experiment!r}, not {new.experiment_name!r}"
    for section, values in options.items():
        for key, value in values.items():
            other = new.options.get(section, {}).get(key)
            if other != value:
                return f"option {section}.{key} = {value!r}, not {other!r}"
    missing = [name for name in grids if name not in new.grids]
    if missing:
        return f"grid {missing[0]!r}, which {new.path} lacks"
    return ""


def study_priors(fss: Mapping[str, Any], registry) -> dict[str, dict[str, tuple[float, float]]]:
    """``analysis.fss.priors`` as ``{form name: {parameter: (lo, hi)}}`` over the compared forms
    (:func:`~statmech_nn.analysis.fss.priors.prior_boxes`); a one-line error naming the key for
    a form not compared or a parameter none of them has."""
    from ..analysis.fss.priors import prior_boxes

    entries = [(f"analysis.fss.priors {key!r}", key, tuple(box)) for key, box in fss["priors"].items()]
    return prior_boxes(entries, [registry.scaling_form(form)() for form in fss["forms"]])


def check_walkers(fss: Mapping[str, Any], forms: list[Any]) -> None:
    """Raise ConfigError unless ``fss["n_walkers"]`` is at least twice the parameters of every
    fit the comparisons will make (each form's variants, each ``fit_a``, each error model): the
    sampler refuses fewer, and finding out there would be after the sweeps."""
    from ..analysis.fss.model import observable_parameters

    for form in forms:
        for variant in form.variants() if fss["variants"] else (form,):
            for fit_a in fss["fit_a"]:
                for model in fss["error_models"]:
                    offsets, tilts = ERROR_MODELS[model]
                    n = len(variant.params) + len(observable_parameters(
                        variant, fit_a=fit_a, size_offsets=offsets, size_tilts=tilts))
                    if fss["n_walkers"] < 2 * n:
                        kind = "corrected " if variant.corrected else ""
                        raise ConfigError(
                            f"analysis.fss.n_walkers = {fss['n_walkers']}: expected an even number >= {2 * n}, twice "
                            f"the {n} parameters of the {kind}{variant.name} fit"
                            + (" with a fitted a" if fit_a else "") + f" under error model {model!r}")


def complete_slice(i: int, item: Mapping[str, Any], dims: tuple[str, ...], analysis: Mapping[str, Any],
                   analysis_grid: Mapping[str, tuple], fss_grids: list[Mapping[str, tuple]]) -> dict[str, Any]:
    """Listed FSS slice ``i`` with every dimension it must fix: all of ``dims`` but the size,
    the control and the (averaged) seed dims of ``analysis``.

    A dimension left out must have a single value in the analysis grid (whose boundary centres
    the control window) and in the FSS grids (whose points are fitted): that value is filled in.
    One with several values would reach the fit as an extra axis -- points of different networks
    in one collapse -- so it is a one-line ConfigError naming the slice, the missing dimension(s)
    and their values. The values must be on the FSS grids, matched as the fit selects them
    (:func:`statmech_nn.selection.select_values`), so a typo fails here, not after the sweeps."""
    import xarray as xr

    from ..selection import select_values

    free = (analysis["size"], analysis["control"], analysis["seed"])
    fixed = [d for d in dims if d not in free]
    where = f"analysis.fss.slices[{i}] = {{{', '.join(f'{d} = {v!r}' for d, v in item.items())}}}"
    unknown = [d for d in item if d not in fixed]
    if unknown:
        raise ConfigError(f"{where}: unknown dimension {unknown[0]!r}: expected some of {', '.join(fixed)}")
    fitted = {d: sorted({v for g in fss_grids for v in g[d]}) for d in fixed}
    anywhere = {d: sorted({*fitted[d], *analysis_grid[d]}) for d in fixed}
    missing = [d for d in fixed if d not in item and len(anywhere[d]) > 1]
    if missing:
        listed = "; ".join(f"{d} (one of {', '.join(map(str, anywhere[d]))})" for d in missing)
        raise ConfigError(f"{where} leaves out {listed}: a slice must fix every dimension but {', '.join(free)} "
                          "(one with a single value in the grids may be left out)")
    complete = {d: item[d] if d in item else anywhere[d][0] for d in fixed}
    try:
        select_values(xr.Dataset(coords=fitted), complete)
    except StatmechError as exc:
        raise ConfigError(f"{where}: {exc} (in the FSS grids)") from None
    return complete


def _table(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{key} = {value!r}: expected a table [{key}]")
    return value
