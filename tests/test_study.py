"""``statmech-nn study`` / ``report`` end to end on a fast experiment with a known phase map
(tests/study_toy.py): validation, the composed analyses against the truth, summary.json
against the NetCDF files, a third-party analyzer in the report, the rebuild, resume after kill -9.
"""

from __future__ import annotations

import html
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import study_toy  # noqa: E402

from statmech_nn.analysis.fss.layout import read_posterior  # noqa: E402
from statmech_nn.cli import main  # noqa: E402
from statmech_nn.cache import CellCache  # noqa: E402
from statmech_nn.io import read_netcdf  # noqa: E402
from statmech_nn.testing import crash_after_cells  # noqa: E402
from statmech_nn.study.config import load_study  # noqa: E402
from statmech_nn.study.layout import StudyLayout, slice_part  # noqa: E402
from statmech_nn.study.report import build_report  # noqa: E402
from statmech_nn.study.runner import run_study  # noqa: E402

STUDY = """
title = "toy study"
question = "Where is the boundary of the toy?"
experiment = "toy_phases"

[timing]
delay = {delay}

[grids.coarse]
p_train = [0.0, 0.3, 0.95]
p_eval = [0.0, 0.2, 0.4, 0.6, 0.8]
N = [100, 1000, 10000, 100000]
width = 8
depth = [1, 3]
seed = [0, 1, 2]

[grids.dense]
p_train = [0.0]
p_eval = [0.35, 0.45, 0.55]
depth = [1]

[analysis.fss]
slices = [{{p_train = 0.0, width = 8, depth = 1}}]
control_window = 0.25
n_walkers = 16
n_tau = 5.0
max_steps = 500
priors = {{"bkt:sigma" = [0.2, 2.9]}}

[[analysis.analyzers]]
name = "extreme_loss"
"""


def write_study(tmp_path: Path, delay: float = 0.0, text: str = STUDY) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text.format(delay=delay))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("study")
    registry = study_toy.registry()
    study = load_study(write_study(tmp), registry=registry)
    lines: list[str] = []
    layout = run_study(study, tmp / "out", CellCache(tmp / "cache"), progress=False, log=lines.append,
                       registry=registry)
    return layout, registry, lines


@pytest.mark.parametrize("text, message", [
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\nbogus = 1\n", "unknown grid key 'bogus'"),
    ("experiment = 'toy_phases'\ncolour = 'red'\n[grids.a]\nN = [10]\n", "unknown key 'colour'"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis]\nwindow = [100, 10]\n",
     "analysis.window = [100, 10]: expected [min, max] with 0 < min < max"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\nforms = ['bkt', 'first_order']\n",
     "unknown scaling form 'first_order'"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.phases]\nzz = 1\n",
     "unknown option analysis.phases.zz"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[[analysis.analyzers]]\nname = 'nope'\n",
     "unknown analyzer 'nope'"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis]\ncontrol = 'q'\n", "analysis.control = 'q'"),
    ("experiment = 'toy_phases'\n", "no grid"),
    ("experiment = 'toy_phases'\n[grids.a]\np_train = [0.0, 0.3]\n[analysis]\nrows = ''\n",
     "the analysis grid has 2 values of p_train (0.0, 0.3), which is none of analysis.size, control, rows, seed "
     "and facets (rows = '')"),
    ("experiment = 'toy_phases'\n[grids.a]\ndepth = [1, 3]\n[analysis]\nfacets = ['width']\n",
     "the analysis grid has 2 values of depth (1, 3)"),
    ("experiment = 'toy_phases'\n[grids.a]\np_eval = [1.5]\n", "[grids.a] p_eval = 1.5"),
    ("experiment = 'toy_phases'\n[executor]\nkind = 'slurm'\n[grids.a]\nN = [10]\n", "unknown option executor.kind"),
    ("experiment = 'toy_phases'\n[executor]\nworkers = 2\nscheduler = 'tcp://x:1'\n[grids.a]\nN = [10]\n",
     "workers and scheduler exclude each other"),
    ("experiment = 'toy_phases'\n[grids.a\n", "invalid TOML"),
    # an FSS slice that leaves out a dim with several values (depth 1 and 3) would fit both
    # networks' points as one collapse: the slice, the dim and its values are named
    ("experiment = 'toy_phases'\n[grids.a]\ndepth = [1, 3]\n[analysis.fss]\nslices = [{p_train = 0.0}]\n",
     "analysis.fss.slices[0] = {p_train = 0.0} leaves out depth (one of 1, 3): a slice must fix every dimension "
     "but N, p_eval, seed"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\nslices = [{p_train = 0.5}]\n",
     "analysis.fss.slices[0] = {p_train = 0.5}: p_train has no value 0.5"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\nerror_models = ['offsets', 'shifts']\n",
     "analysis.fss.error_models = ['offsets', 'shifts']: expected a list of distinct names from independent, "
     "offsets, tilts, offsets_tilts"),
    # too few walkers for the largest fit (corrected BKT: 4 + amp, length, err_scale, amp_corr,
    # size_offset, size_tilt = 10 parameters) is found at load, not after the sweeps
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\nn_walkers = 18\n"
     "error_models = ['independent', 'offsets_tilts']\n",
     "analysis.fss.n_walkers = 18: expected an even number >= 20, twice the 10 parameters of the corrected bkt fit "
     "under error model 'offsets_tilts'"),
    # prior boxes: names checked against the compared forms at load, boxes as numbers lo < hi
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\npriors = {'ising:nu' = [0.5, 2.0]}\n",
     "analysis.fss.priors 'ising:nu': form 'ising' is not fitted (expected one of second_order, bkt)"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\npriors = {gamma = [0.5, 2.0]}\n",
     "analysis.fss.priors 'gamma': no fitted form has a parameter 'gamma'"),
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\npriors = {nu = [2.0, 0.5]}\n",
     "analysis.fss.priors = {'nu': [2.0, 0.5]}: expected a table of \"[FORM:]NAME\" = [lo, hi] with lo < hi"),
    # the booleans of earlier versions name their replacement
    ("experiment = 'toy_phases'\n[grids.a]\nN = [10]\n[analysis.fss]\nsize_offsets = true\n",
     "analysis.fss.size_offsets: replaced by error_models, the list of error models to compare under"),
])
def test_bad_study_files_are_one_line_errors(tmp_path, text, message):
    """Each mistake is reported by load_study in one line naming the file and the bad key."""
    from statmech_nn.errors import StatmechError

    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(StatmechError) as info:
        load_study(path, registry=study_toy.registry())
    text_of = str(info.value)
    assert message in text_of and str(path) in text_of and "\n" not in text_of, text_of


def test_fss_slice_may_leave_out_only_single_valued_dims_which_are_filled_in(tmp_path):
    """Truth: width has the one value 8 in every grid, so a slice naming p_train and depth is
    complete once width = 8 is filled in (in the experiment's dim order, as the 'boundaries'
    slices are); without the filling-in the fit got width as an extra axis and failed after
    the sweeps. depth is single-valued in the dense grid (the only FSS grid below) but not in
    the analysis grid, whose boundary centres the window, so there it must still be named."""
    text = STUDY.format(delay=0.0).replace("slices = [{p_train = 0.0, width = 8, depth = 1}]",
                                           "slices = [{depth = 1, p_train = 0.0}]")
    study = load_study(write_study(tmp_path, text=text.replace("{", "{{").replace("}", "}}")),
                       registry=study_toy.registry())
    assert study.fss["slices"] == [{"p_train": 0.0, "width": 8, "depth": 1}]
    assert list(study.fss["slices"][0]) == ["p_train", "width", "depth"]
    from statmech_nn.errors import ConfigError

    only_dense = text.replace("depth = 1, ", "").replace("[analysis.fss]", "[analysis.fss]\ngrids = ['dense']")
    with pytest.raises(ConfigError, match=r"leaves out depth \(one of 1, 3\)"):
        load_study(write_study(tmp_path, text=only_dense.replace("{", "{{").replace("}", "}}")),
                   registry=study_toy.registry())


def test_cli_bad_study_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[grids.a]\np_eval = [0.1]\n[analysis.fss]\nfit_a = ['yes']\n")
    assert main(["study", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "analysis.fss.fit_a" in err and "[false, true]" in err, err
    assert not (tmp_path / "out").exists()  # nothing is created before the file is valid
    assert main(["report", str(tmp_path)]) == 2
    assert "not a study directory" in capsys.readouterr().err


def test_study_finds_the_known_boundaries_and_phases(finished):
    """Truth: the toy's boundary p_c(p_train) - 0.05 (depth - 1) and amentia at p_train = 0.95.
    Tolerance 0.03: linear interpolation between p_eval grid points 0.2 apart of an exactly linear
    alpha, with 2 % noise, misses by well under that."""
    layout, _, _ = finished
    summary = json.loads(layout.summary.read_text())
    cols = summary["boundaries"]["columns"]
    for row in summary["boundaries"]["rows"]:
        point = dict(zip(cols, row))
        if point["p_train"] >= 0.9:
            assert point["boundary"] is None and point["phases along p_eval"] == "amentia 0–0.8"
        else:
            assert point["boundary"] == pytest.approx(study_toy.true_boundary(point["p_train"], point["depth"]), abs=0.03)
    (comp,) = summary["comparisons"]
    assert comp["slice"] == {"p_train": 0.0, "width": 8, "depth": 1}
    # window 0.5 +- 0.25: coarse p_eval 0.4, 0.6 and dense 0.35, 0.45, 0.55 (grids merged), 4 sizes
    assert comp["control_window"] == [0.35, 0.6] and comp["n_points"] == 5 * 4
    # the ranking is the one of the stored scores: preferred = highest, delta = its lead
    scores = {f: info["score"] for f, info in comp["forms"].items()}
    best, runner_up = sorted(scores, key=scores.get, reverse=True)
    assert comp["preferred"] == best
    assert comp["delta_score"] == pytest.approx(scores[best] - scores[runner_up], rel=1e-9)
    # the toy's noise is independent from point to point: the seed-to-seed deviations of a size's
    # curve stay below their independent-error 99th percentiles (error_shape), and nothing warns
    assert list(comp["error_shape"]) == ["offset", "tilt", "curvature", "higher"]
    assert sum(comp["error_shape"].values()) == pytest.approx(1.0, abs=1e-12)
    assert all(v < comp["error_shape_null_q99"][t] for t, v in comp["error_shape"].items()), comp
    assert not any("deviations of each size's curve" in w for w in summary["warnings"])
    # 3 seeds: the errors rest on 2 degrees of freedom per point, and the comparison says so
    assert any("the errors rest on 3 seeds per point (2 degrees of freedom)" in w for w in comp["warnings"])


LINE_STUDY = """
title = "toy line"
experiment = "toy_line"

[grids.line]
p_eval = [0.0, 0.2, 0.4, 0.6, 0.8]
N = [100, 1000, 10000, 100000]
seed = [0, 1, 2]

[grids.dense]
p_eval = [0.35, 0.45, 0.55]

[analysis]
rows = "{rows}"

[analysis.fss]
control_window = 0.25
n_walkers = 16
n_tau = 5.0
max_steps = 500
priors = {{"bkt:sigma" = [0.2, 2.9]}}
"""


@pytest.mark.slow
def test_an_experiment_without_a_second_control_dim_is_studied_as_one_row(tmp_path):
    """Truth: the toy at p_train = 0, depth 1 (toy_line, dims p_eval, N, seed only -- as XY's
    T, L, seed) has its boundary at p_c(0), tolerance 0.03 as for the full toy. With rows = ""
    the study finds it, compares the forms on the one slice there is (every point, file part
    'all'), and the report's phase figure is the profile of alpha along p_eval with the
    boundary line. Naming a rows dim the experiment lacks is a one-line error that says "" is
    the way to have none."""
    from statmech_nn.errors import ConfigError

    registry = study_toy.registry()
    with pytest.raises(ConfigError, match=r"analysis.rows = 'p_train': expected a dimension of experiment "
                                          r"'toy_line' \(p_eval, N, seed, or \"\" for none\)"):
        load_study(write_study(tmp_path, text=LINE_STUDY.replace("{rows}", "p_train")), registry=registry)
    study = load_study(write_study(tmp_path, text=LINE_STUDY.replace("{rows}", "")), registry=registry)
    layout = run_study(study, tmp_path / "out", CellCache(tmp_path / "cache"), progress=False, log=lambda _: None,
                       registry=registry)
    summary = json.loads(layout.summary.read_text())
    (row,) = summary["boundaries"]["rows"]
    point = dict(zip(summary["boundaries"]["columns"], row))
    assert point["boundary"] == pytest.approx(study_toy.true_boundary(0.0, 1), abs=0.03)
    (comp,) = summary["comparisons"]
    assert comp["slice"] == {} and comp["n_points"] > 0
    posteriors = sorted(p.name for p in (layout.root / "analyses" / "fss").iterdir())
    assert posteriors == ["all__bkt.nc", "all__second_order.nc"]
    report = layout.report.read_text()
    assert "Phase profile: alpha of loss ~ N^alpha against p_eval" in report and "Phase diagram:" not in report
    assert "Collapse, bkt (all points)" in report


def test_few_seeds_warn_and_enough_do_not():
    """Truth: the fewest seeds behind a point with an error (count >= 2) decides; 5 or more are quiet."""
    import xarray as xr

    from statmech_nn.study.analyses import FEW_SEEDS, few_seeds_warning

    assert FEW_SEEDS == 5
    (warning,) = few_seeds_warning(xr.DataArray([1, 4, 9, 0]), "seed")
    assert warning.startswith("the errors rest on 4 seeds per point (3 degrees of freedom)") and "add seeds" in warning
    assert few_seeds_warning(xr.DataArray([1, 5, 9]), "seed") == []


def test_seed_errors_per_point_moderated_and_the_fallback():
    """Truth: 'per_point' is std(ddof=1) / sqrt(n) of each point; 'moderated' is
    moderated_errors of the same data (dims as the mean's) with its trend weight d0 / (d0 + 2);
    too few points with a spread to estimate a trend of one level per size falls back to the
    per-point errors, saying why."""
    import xarray as xr

    from statmech_nn.analysis.moderated_variance import moderated_errors
    from statmech_nn.study.analyses import seed_errors

    rng = np.random.default_rng(0)
    y = xr.DataArray(rng.standard_normal((6, 3, 3)), dims=("p_eval", "N", "seed"),
                     coords={"p_eval": np.linspace(0.2, 0.7, 6), "N": [10, 100, 1000]})
    per_point, weight, hints = seed_errors(y, size="N", control="p_eval", seed="seed", how="per_point", degree=0)
    assert weight is None and hints == []
    assert np.allclose(per_point.values, y.std("seed", ddof=1).values / np.sqrt(3))
    moderated, weight, hints = seed_errors(y, size="N", control="p_eval", seed="seed", how="moderated", degree=0)
    expected, moderation = moderated_errors(y, replica_dim="seed", size_dim="N", control_dim="p_eval")
    assert moderated.dims == ("p_eval", "N") and np.allclose(moderated.values, expected.transpose().values)
    assert weight == moderation.trend_weight(2.0) and hints == []
    few = y.isel(p_eval=[0, 1])                      # 6 points for a trend of 3 levels: needs 5 with a spread
    few[0, :, 1:] = np.nan
    errors, weight, (hint,) = seed_errors(few, size="N", control="p_eval", seed="seed", how="moderated", degree=0)
    assert weight is None and hint.startswith("seed errors per point, not moderated: 3 points with a positive spread")
    assert np.allclose(errors.values, (few.std("seed", ddof=1) / np.sqrt(few.count("seed"))).values, equal_nan=True)


@pytest.mark.slow
@pytest.mark.slow
def test_an_error_shared_by_a_networks_points_is_found_reported_and_modelled(tmp_path):
    """Truth: with noise.shared = 0.1 (five times the 2 % point noise) every network's curve is
    shifted as a whole, so the seed-to-seed deviations are mostly offset -- far above the 99th
    percentile of independent errors. With error_models = ["independent", "offsets_tilts"] the
    slice gets one comparison under each: the independent one warns (in summary.json and on the
    page), the one whose error model has size offsets fits them and does not; the robustness
    table takes the first model listed."""
    text = STUDY.replace("[timing]", "[noise]\nshared = 0.1\n\n[timing]").replace(
        '[[analysis.analyzers]]\nname = "extreme_loss"\n', "").replace(
        "control_window = 0.25\n", 'control_window = 0.25\nerror_models = ["independent", "offsets_tilts"]\n').replace(
        "n_walkers = 16", "n_walkers = 24")   # two more parameters: the offsets' and the tilts' scales
    registry = study_toy.registry()
    layout = run_study(load_study(write_study(tmp_path, text=text), registry=registry), tmp_path / "out",
                       CellCache(tmp_path / "cache"), progress=False, log=lambda line: None, registry=registry)
    summary = json.loads(layout.summary.read_text())
    independent, modelled = summary["comparisons"]
    assert (independent["id"], modelled["id"]) == ("p_train=0_width=8_depth=1", "p_train=0_width=8_depth=1__offsets_tilts")
    assert (independent["error_model"], modelled["error_model"]) == ("independent", "offsets_tilts")
    assert independent["error_shape"]["offset"] > 0.8 > independent["error_shape_null_q99"]["offset"]
    (hint,) = [w for w in independent["warnings"] if "deviations of each size's curve" in w]
    assert "along p_eval are" in hint and "% offset" in hint and "offsets_tilts" in hint
    assert not any("% offset" in w for w in modelled["warnings"]), modelled["warnings"]
    assert any(hint in w for w in summary["warnings"])
    for comp, scales in ((independent, set()), (modelled, {"size_offset", "size_tilt"})):
        for form in comp["forms"]:
            post = read_posterior(layout.root / "analyses" / comp["forms"][form]["posterior_file"])
            assert {"size_offset", "size_tilt"} & {str(p) for p in post["param"].values} == scales
    assert list(read_netcdf(layout.comparisons)["error_model"].values) == ["independent", "offsets_tilts"]
    (row,) = [r for r in summary["robustness"]["rows"] if r[:3] == [0.0, 8, 1]]
    assert dict(zip(summary["robustness"]["columns"], row))["delta_score"] == independent["delta_score"]
    page = layout.report.read_text()
    assert "Deviations of each size's curve from its seed mean" in page and html.escape(hint) in page
    assert "p_train = 0, width = 8, depth = 1, size offsets and tilts: " in page
    assert "the comparison without a fitted a under independent errors (the first listed)" in page


PLUGIN_MODULE = """
import study_toy
from statmech_nn.hookspecs import hookimpl


class EditedForm(study_toy.LogCrossover):
    name = "edited_form"


class EditedLoss(study_toy.ExtremeLoss):
    name = "edited_loss"


class Plugin:
    @hookimpl
    def register_analyzers(self):
        return [EditedLoss]

    @hookimpl
    def register_scaling_forms(self):
        return [EditedForm]
"""


@pytest.mark.slow
def test_a_plugins_scaling_form_is_fitted_by_the_study_and_refitted_when_its_code_changes(tmp_path, monkeypatch):
    """Truth: a scaling form registered by a plugin is accepted by name at load and fitted by the
    study like a built-in one -- its name must reach the fits as the registered class, not as a
    name only the built-ins resolve -- and its posterior, collapse and corner figures appear in
    the report. Plugins carry no version of their analysis code, so an edit of the file defining
    a plugin's form or analyzer must recompute the steps that use them (a user's edited form was
    reused and its report redrawn with the new code), while an unchanged rerun recomputes nothing."""
    (tmp_path / "edited_plugin.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))                  # importable by the spawned fits too
    import edited_plugin

    text = STUDY.replace('name = "extreme_loss"', 'name = "edited_loss"').replace(
        "control_window = 0.25\n", 'control_window = 0.25\nforms = ["second_order", "edited_form"]\nvariants = false\n'
    ).replace('priors = {{"bkt:sigma" = [0.2, 2.9]}}\n', "")           # no bkt fitted here
    registry = study_toy.registry()
    registry.register_plugin(edited_plugin.Plugin(), "edited")
    study = load_study(write_study(tmp_path, text=text), registry=registry)

    def run() -> list[str]:
        lines: list[str] = []
        run_study(study, tmp_path / "out", CellCache(tmp_path / "cache"), progress=False, log=lines.append,
                  registry=registry)
        return lines

    run()
    layout = StudyLayout(tmp_path / "out")
    (comp,) = json.loads(layout.summary.read_text())["comparisons"]
    assert set(comp["forms"]) == {"second_order", "edited_form"}
    post = read_posterior(layout.root / "analyses" / comp["forms"]["edited_form"]["posterior_file"])
    assert post.attrs["form"] == "edited_form" and {"p_c", "sigma", "L0", "kappa"} <= set(post["param"].values)
    assert "Collapse, edited_form" in layout.report.read_text()

    assert not any("computing" in line or "comparing" in line for line in run())
    with open(tmp_path / "edited_plugin.py", "a") as fh:
        fh.write("# edited\n")
    again = run()
    assert any(line.startswith("fss ") and "comparing" in line for line in again), again
    assert "analyzer edited_loss: computing" in again
    assert any(line.startswith("phases: done before") for line in again)      # built-in steps are kept


def test_summary_equals_the_netcdf_values(finished):
    layout, _, _ = finished
    summary = json.loads(layout.summary.read_text())
    rob = read_netcdf(layout.robustness)
    cols = summary["robustness"]["columns"]
    assert len(summary["robustness"]["rows"]) == rob["boundary"].size == 3 * 2
    for row in summary["robustness"]["rows"]:
        got = dict(zip(cols, row))
        sel = rob.sel(p_train=got["p_train"], width=got["width"], depth=got["depth"])
        for name in ("boundary", "boundary_stderr", "alpha_min", "alpha_max", "delta_score"):
            value = float(sel[name])
            assert (got[name] is None and not np.isfinite(value)) or got[name] == value, name
        assert got["n_amentia"] == int(sel["phase_count"].sel(phase_name="amentia"))
        assert got["preferred"] == str(sel["preferred"].values)
    comps = read_netcdf(layout.comparisons)
    (comp,) = summary["comparisons"]
    row = comps.isel(comparison=0)
    assert comp["delta_score"] == float(row["delta_score"]) and comp["delta_se"] == float(row["delta_se"])
    assert comp["error_shape"] == {str(t): float(v) for t, v in zip(row["term"].values, row["error_shape"].values)}
    # the default errors are moderated; the toy's seed spreads are equal at every point, so the
    # trend takes a large share (any share in [0, 1] is a valid one)
    assert comp["seed_errors"] == {"method": "moderated", "trend_weight": float(row["seed_error_trend_weight"])}
    assert 0 <= comp["seed_errors"]["trend_weight"] <= 1
    assert "moderated towards a per-size trend" in layout.report.read_text()
    for form, info in comp["forms"].items():
        post = read_posterior(layout.root / "analyses" / info["posterior_file"])
        assert info["params"]["p_c"]["median"] == float(post["summary"].sel(param="p_c", stat="median"))
        assert info["score"] == float(post.attrs["score"])
    phases = read_netcdf(layout.phases)
    pcols = summary["phase_points"]["columns"]
    for row in summary["phase_points"]["rows"][:10]:
        got = dict(zip(pcols, row))
        point = {d: got[d] for d in phases["alpha"].dims}
        assert got["alpha"] == float(phases["alpha"].sel(point))


def test_every_analysis_file_has_provenance_and_cf_attributes(finished):
    layout, _, _ = finished
    files = sorted((layout.root / "analyses").rglob("*.nc"))
    assert len(files) >= 6
    summary_hash = json.loads(layout.summary.read_text())["study"]["config_sha256"]
    for path in files:
        ds = read_netcdf(path)
        assert ds.attrs["Conventions"].startswith("CF-") and len(ds.attrs["config_sha256"]) == 64, path
        assert ds.attrs["config_sha256"] == summary_hash and "numpy" in ds.attrs["software_versions"]
        assert ds.attrs["input_config_sha256"]  # which sweeps (or analyses) it was computed from
        for name, var in ds.data_vars.items():
            assert "long_name" in var.attrs, (path, name)


def test_third_party_analyzer_appears_in_the_report(finished):
    """The test-only analyzer named in the study file runs; its table (numbers equal to its
    NetCDF output), its figure and its warning appear in summary.json and report.html."""
    layout, _, _ = finished
    summary = json.loads(layout.summary.read_text())
    result = read_netcdf(layout.extra("extreme_loss"))
    table = summary["analyzers"]["extreme_loss"]["tables"]["largest"]
    assert [r[1] for r in table["rows"]] == result["largest_loss"].values.tolist()
    page = layout.report.read_text()
    assert "Analyzer extreme_loss" in page and "Largest loss per p_train" in page
    assert "extreme_loss: a warning of the test analyzer" in " ".join(summary["warnings"])
    i = page.index("Analyzer extreme_loss")
    assert "data:image/png;base64," in page[i:]


def test_fss_figures_name_the_slice_they_show(finished):
    """Truth: the study fits one slice (depth = 1, p_train = 0, width = 8) of grids that also
    vary p_train and depth, handing the fit pre-sliced data; the collapse and corner figures of
    each posterior must say which slice they show, never "no other dimension"."""
    from statmech_nn.study.fss_adapter import collapse_figure, corner_figure

    layout, registry, _ = finished
    files = sorted((layout.root / "analyses" / "fss").glob("*.nc"))
    assert files
    for path in files:
        post = read_posterior(path)
        for fig in (collapse_figure(post, registry), corner_figure(post)):
            title = fig._suptitle.get_text()
            assert "slice depth = 1, p_train = 0.0, width = 8" in title, title  # names sorted
            assert "no other dimension" not in title


def test_fss_posteriors_are_the_files_analyze_fss_writes(finished, tmp_path):
    """Truth: a study's posterior has the layout of `statmech-nn analyze fss -o` (ArviZ groups),
    so the plot commands redraw it (e.g. as a PDF for a paper) and ArviZ reads it as it is."""
    import arviz as az

    layout, _, _ = finished
    path = sorted((layout.root / "analyses" / "fss").glob("*__bkt.nc"))[0]
    for figure in ("collapse", "corner"):
        assert main(["plot", figure, str(path), "-o", str(tmp_path / f"{figure}.pdf")]) == 0
        assert (tmp_path / f"{figure}.pdf").read_bytes().startswith(b"%PDF")
    idata = az.from_netcdf(path)
    assert {"posterior", "log_likelihood", "observed_data"} <= set(idata.groups())
    median = read_posterior(path)["summary"].sel(param="p_c", stat="median")
    assert float(idata.posterior["p_c"].median()) == float(median)


def test_slice_file_names_are_safe_and_never_collide(tmp_path):
    """Truth: the posterior file of any slice lies in analyses/fss under a name of
    [A-Za-z0-9._=-] only, and different slices get different names. Before, the name was the
    raw text: a '/' in a text value made a path into a missing folder, and '{:g}' wrote 0.1 and
    0.1000001 (or 1234567 and 1234568) alike, so one slice's posteriors overwrote another's."""
    layout = StudyLayout(tmp_path)
    path = layout.posterior(slice_part({"p_train": 0.0, "optimizer": "adam/w 0.9"}), "bkt")
    assert path.parent == tmp_path / "analyses" / "fss", path
    assert re.fullmatch(r"[A-Za-z0-9._=-]+", path.name) and "optimizer=adam-w-0.9__" in path.name, path.name
    pairs = [({"p_eval": 0.1}, {"p_eval": 0.1000001}), ({"N": 1234567}, {"N": 1234568}),
             ({"a": "1_b=2"}, {"a": 1, "b": 2}), ({"o": "a/b"}, {"o": "a b"}), ({"o": "1"}, {"o": 1})]
    for one, other in pairs:
        assert slice_part(one) != slice_part(other), (one, other)
    # plain numeric slices keep their readable name; 32 and 32.0 are one slice (selected alike)
    assert slice_part({"p_train": 0.0, "width": 32, "depth": 4}) == "p_train=0_width=32_depth=4"
    assert slice_part({"width": 32}) == slice_part({"width": 32.0})


@pytest.mark.slow
def test_report_is_self_contained_and_rebuilds_without_computing(finished, tmp_path):
    layout, registry, _ = finished
    page = layout.report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched
    assert page.count("data:image/png;base64,") >= 1 + 2 + 2 + 4 + 1
    assert "(the first listed)" not in page   # one comparison per slice: nothing to say which one is tabled
    before = json.loads(layout.summary.read_text())
    stamp = {p: p.stat().st_mtime_ns for p in layout.root.rglob("*.nc")}
    layout.report.unlink()
    layout.summary.unlink()
    build_report(layout.root, registry=registry)
    assert json.loads(layout.summary.read_text()) == before
    assert {p: p.stat().st_mtime_ns for p in layout.root.rglob("*.nc")} == stamp  # no file rewritten
    assert "toy study" in layout.report.read_text()


def test_the_report_words_each_comparison_by_its_strength(finished):
    # Truth: |score difference| / se from summary.json decides the words (docs/fss.md: >= 2 se a
    # verdict, 1-2 se a lean, below 1 none); the page said "X preferred by" and printed X in bold
    # for every comparison, a tie included.
    layout, _, _ = finished
    summary = json.loads(layout.summary.read_text())
    page = layout.report.read_text()
    assert summary["comparisons"]
    for comp in summary["comparisons"]:
        z = comp["delta_score"] / comp["delta_se"]
        expected = "verdict" if z >= 2 else "lean" if z >= 1 else "none"
        assert comp["strength"] == expected, comp
        words = {"verdict": f"{comp['preferred']} preferred by", "lean": f"a lean to {comp['preferred']}",
                 "none": f"no preference ({comp['preferred']} ahead by"}[expected]
        assert re.search(rf"<h3>[^<]*: {re.escape(html.escape(words))}", page), words
    columns = summary["robustness"]["columns"]
    assert all(dict(zip(columns, row))["strength"] in ("verdict", "lean", "none")
               for row in summary["robustness"]["rows"])


def test_the_reports_warnings_are_grouped_by_where_they_come_from(finished):
    # Truth: every warning of summary.json is on the page once, under the heading of its source
    # ("fss (SLICE)" for a comparison's), and each source is named once: a slice's warnings were
    # one flat line each, its name repeated on every one.
    layout, _, _ = finished
    warnings = json.loads(layout.summary.read_text())["warnings"]
    section = layout.report.read_text().split(f"<h2>Warnings ({len(warnings)})</h2>")[1].split("<h2>")[0]
    sources = {w.partition(": ")[0] for w in warnings}
    assert len(sources) < len(warnings)
    for source in sources:
        assert section.count(f"<li>{html.escape(source)}<ul>") == 1, source
    for w in warnings:
        assert f"<li>{html.escape(w.partition(': ')[2])}</li>" in section, w
    assert section.count("<li>") == len(warnings) + len(sources)


def test_the_study_priors_reach_the_fits(finished):
    # Truth: analysis.fss.priors "bkt:sigma" = [0.2, 2.9] replaces BKT's default sigma box
    # (0.2, 3.0) in its fit and leaves second order's boxes as they are (a study had no way to act
    # on a warning asking for a wider prior).
    layout, _, _ = finished
    boxes = {path.stem: json.loads(read_posterior(path).attrs["priors_json"])
             for path in (layout.root / "analyses" / "fss").rglob("*.nc")}
    assert boxes and all((box.get("sigma") == [0.2, 2.9]) == form.endswith("__bkt") for form, box in boxes.items())
    assert all(box["nu"] == [0.25, 6.0] for form, box in boxes.items() if form.endswith("__second_order"))


def test_a_dry_run_says_what_would_be_computed_and_writes_nothing(finished, tmp_path):
    # Truth: the finished study's grids are done; the same study into a new directory with the
    # same cache finds all 12 + 12 cells (one per N and seed) cached, with an empty cache all to compute; no
    # directory or cache is created; a folder of other files is refused as the run refuses it.
    from statmech_nn.errors import StatmechError
    from statmech_nn.study.runner import plan_study

    layout, registry, _ = finished
    study = load_study(layout.study_file, registry=registry)
    cache = CellCache(layout.root.parent / "cache")
    assert plan_study(study, layout.root, cache, registry=registry)[:3] == [
        f"directory {layout.root}: resumes the study there", "sweep coarse: done before", "sweep dense: done before"]
    lines = plan_study(study, tmp_path / "new", cache, registry=registry)
    assert lines[:3] == [f"directory {tmp_path / 'new'}: new", "sweep coarse: 12 cells: 12 cached, 0 to compute",
                         "sweep dense: 12 cells: 12 cached, 0 to compute"], lines
    lines = plan_study(study, tmp_path / "new", CellCache(tmp_path / "empty"), registry=registry)
    assert lines[1:3] == ["sweep coarse: 12 cells: 0 cached, 12 to compute",
                          "sweep dense: 12 cells: 0 cached, 12 to compute"], lines
    assert "FSS comparisons" in lines[3] and "analyzer extreme_loss" in lines[3] and "(24 cells to compute" in lines[3]
    assert not (tmp_path / "new").exists() and not (tmp_path / "empty").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(StatmechError, match="is not empty and is not a study directory"):
        plan_study(study, tmp_path / "mine", cache, registry=registry)
    done = subprocess.run(_cli("study", str(layout.study_file), "-o", str(tmp_path / "cli"), "--dry-run",
                               "--cache-dir", str(cache.root)), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.splitlines()[1] == "sweep coarse: 12 cells: 12 cached, 0 to compute", \
        done.stdout + done.stderr
    assert not (tmp_path / "cli").exists()


@pytest.mark.slow
def test_rerun_redoes_nothing(finished):
    layout, registry, _ = finished
    study = load_study(layout.study_file, registry=registry)
    lines: list[str] = []
    stamp = {p: p.stat().st_mtime_ns for p in (layout.root / "sweeps").rglob("*.nc")}
    stamp.update({p: p.stat().st_mtime_ns for p in (layout.root / "analyses" / "fss").rglob("*.nc")})
    run_study(study, layout.root, CellCache(layout.root.parent / "cache"), progress=False, log=lines.append,
              registry=registry)
    assert not any("computing" in line or "comparing" in line for line in lines), lines
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp


def test_a_grid_added_for_other_slices_leaves_the_comparisons_as_they_are(finished, tmp_path):
    # Truth: the comparison's slice (p_train 0, width 8, depth 1) gets no new point from a grid of
    # p_train = 0.3 only, so its fit sees the same numbers and is reused; its key held the
    # sweeps' hashes, and adding any grid refitted every comparison (a reviewer: 25 s wasted).
    import shutil

    layout, registry, _ = finished
    root = Path(shutil.copytree(layout.root, tmp_path / "out"))
    cache = shutil.copytree(layout.root.parent / "cache", tmp_path / "cache")
    text = STUDY.format(delay=0.0) + "\n[grids.other]\np_train = [0.3]\np_eval = [0.3, 0.5]\ndepth = [1]\n"
    study = load_study(write_study(tmp_path, text=text.replace("{", "{{").replace("}", "}}")), registry=registry)
    stamp = {p: p.stat().st_mtime_ns for p in (root / "analyses" / "fss").rglob("*.nc")}
    lines: list[str] = []
    run_study(study, root, CellCache(cache), progress=False, log=lines.append, registry=registry)
    assert any(line.startswith("sweep other") for line in lines), lines
    assert not any("comparing" in line for line in lines), lines
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp


RUN_TOY = ("import sys; sys.path.insert(0, {tests!r}); import study_toy; "
           "from statmech_nn.plugins import get_registry; "
           "get_registry().register_plugin(study_toy.StudyToyPlugin(), 'study_toy'); "
           "from statmech_nn.cli import main; sys.exit(main(sys.argv[1:]))")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", RUN_TOY.format(tests=str(Path(__file__).parent)), *args]


def _slow_study_without_fss(tmp_path: Path) -> tuple[list[str], Path]:
    """The `study` arguments of the toy study at 0.3 s a cell without its FSS step, and its cache."""
    without_fss = STUDY.replace("[analysis.fss]\n", "[analysis.fss]\nenabled = false\n")
    study = write_study(tmp_path, delay=0.3, text=without_fss)
    cache = tmp_path / "cache"
    return ["study", str(study), "-o", str(tmp_path / "out"), "--cache-dir", str(cache), "--no-progress"], cache


@pytest.mark.slow
def test_kill_9_then_rerun_finishes_without_redoing_finished_cells(tmp_path):
    # Truth: a study killed (SIGKILL) after some cells are cached reruns only the others, then
    # nothing. The FSS step is off here: its own rerun is test_rerun_redoes_nothing's.
    args, cache = _slow_study_without_fss(tmp_path)
    finished_cells = crash_after_cells(_cli(*args), cache, at_least=3)
    assert 3 <= finished_cells < 24  # 4 sizes x 3 seeds x 2 grids
    rerun = subprocess.run(_cli(*args), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    planned = re.search(r"sweep coarse: (\d+) cells: (\d+) cached", rerun.stderr)
    assert planned and int(planned.group(2)) >= min(finished_cells, 12), rerun.stderr
    assert (tmp_path / "out" / "report.html").exists()
    again = subprocess.run(_cli(*args), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "computing" not in again.stderr, again.stderr


@pytest.mark.slow
def test_sigterm_stops_a_study_as_ctrl_c_does_and_the_rerun_finishes(tmp_path):
    # Truth: SIGTERM is what a batch system's time limit sends; it used to end a study with exit
    # 143, no message, and "leaked semaphore" warnings. Now it stops as Ctrl-C does: exit 143 (the
    # shell's status for SIGTERM), one line saying what is kept -- the finished cells, which the
    # rerun does not compute again.
    args, cache = _slow_study_without_fss(tmp_path)
    code = RUN_TOY.format(tests=str(Path(__file__).parent)).replace(
        "from statmech_nn.cli import main; sys.exit(main(sys.argv[1:]))", "from statmech_nn.cli import entry; entry()")
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while len(list(cache.rglob("*.sha256"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the study finished before it could be terminated"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == ("statmech-nn: terminated (SIGTERM); finished sweep cells and analysis "
                                            "steps are kept (run the same command to resume)"), err
    assert "Traceback" not in err and "leaked" not in err
    kept = len(list(cache.rglob("*.sha256")))
    rerun = subprocess.run(_cli(*args), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    planned = re.search(r"sweep coarse: (\d+) cells: (\d+) cached", rerun.stderr)
    assert planned and int(planned.group(2)) >= min(kept, 12), rerun.stderr


def test_default_presentation_tables_the_result():
    """An analyzer that does not override present() still shows its numbers: one table of the
    variables over the first variable's dims, and the warnings it recorded."""
    import xarray as xr

    from statmech_nn.analysis.base import Analyzer

    class Plain(Analyzer):
        name = "plain"
        summary = "a plain result"

    result = xr.Dataset({"x": ("p", [1.0, 2.0]), "y": ("p", [3, 4])}, coords={"p": [0.1, 0.2]},
                        attrs={"warnings_json": '["careful"]'})
    shown = Plain().present(result)
    (table,) = shown.tables
    assert table.columns == ["p", "x", "y"] and table.rows == [[0.1, 1.0, 3], [0.2, 2.0, 4]]
    assert shown.warnings == ["careful"] and shown.figures == []
    assert table.to_json()["rows"][0] == [0.1, 1.0, 3]


def test_a_comparisons_warnings_are_the_datas_and_its_own_not_a_discarded_fits():
    # Truth: each form is fitted without and with its correction and only the better-scoring
    # variant is kept; the report must not carry warnings of a fit it does not show (a real
    # study listed "kappa = 0.75 < 0.95" beside the kept fit's "kappa = 0.88"). Chains of 200
    # steps stop far short of 50 autocorrelation times, so every one of the 4 fits warns "emcee
    # stopped"; the kept fits record that as converged = 0 (the report says so from there), and
    # the ranking keeps only the data's warning (one NaN-error point excluded) and the
    # comparison's own, none prefixed by a form's name as a fit's warnings are.
    from statmech_nn.analysis.fss.synthetic import collapse_dataset
    from statmech_nn.study.fss_adapter import compare

    ds = collapse_dataset("second_order", {"p_c": 0.5, "nu": 1.0}, sizes=(8, 16, 32, 64), n_control=8, seed=3)
    err = ds["y_err"].values.copy()
    err[np.flatnonzero(np.isfinite(ds["y"].values[:, 0]))[0], 0] = np.inf   # one measured point of L = 8
    ds["y_err"] = (ds["y_err"].dims, err)
    ranking = compare(ds, "y", "y_err", size="L", control="p", forms=["second_order", "bkt"], fit_a=False,
                      n_walkers=24, n_tau=50.0, max_steps=200, seed=0, variants=True,
                      size_offsets=False, size_tilts=False, refit=False)
    assert any("non-finite value or error excluded" in w for w in ranking.warnings), ranking.warnings
    assert not any(w.startswith(("second_order:", "bkt:", "emcee stopped")) for w in ranking.warnings), ranking.warnings
    assert all(not post.attrs["converged"] for post in ranking.posteriors.values())


@pytest.mark.slow
def test_the_studys_refit_and_size_offsets_and_tilts_reach_the_fits():
    # Truth: the study's [analysis.fss] refit, size_offsets and size_tilts are handed to every fit
    # of a comparison: each posterior records them in its options, and offsets and tilts add their scales
    from statmech_nn.analysis.fss.synthetic import collapse_dataset
    from statmech_nn.study.fss_adapter import compare

    ds = collapse_dataset("second_order", {"p_c": 0.5, "nu": 1.0}, sizes=(8, 16, 32), n_control=8, seed=3)
    ranking = compare(ds, "y", "y_err", size="L", control="p", forms=["second_order", "bkt"], fit_a=False,
                      n_walkers=24, n_tau=5.0, max_steps=500, seed=0, variants=False, size_offsets=True,
                      size_tilts=True, refit=True)
    for post in ranking.posteriors.values():
        options = json.loads(post.attrs["options_json"])
        assert options["refit"] is True and options["size_offsets"] is True and options["size_tilts"] is True
        assert {"size_offset", "size_tilt"} <= {str(p) for p in post["param"].values}
