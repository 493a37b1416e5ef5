"""``statmech-nn study`` / ``report`` guard what they are given (docs/study.md, "The file" and
"The directory"): names that become files, analysis settings and analyzer options are checked
when the study file is loaded, before anything runs; ``-o DIR`` never replaces a directory the
study does not own; a directory that cannot be created, or a foreign file in a study directory,
is one line naming it, exit status 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import study_toy  # noqa: E402
import xarray as xr  # noqa: E402

from statmech_nn import plugins  # noqa: E402
from statmech_nn.analysis._options import check_option_names  # noqa: E402
from statmech_nn.analysis.base import Analyzer  # noqa: E402
from statmech_nn.analysis.powerlaw import fit_powerlaw  # noqa: E402
from statmech_nn.cache import CellCache  # noqa: E402
from statmech_nn.cli import main  # noqa: E402
from statmech_nn.analysis.fss import SecondOrder  # noqa: E402
from statmech_nn.errors import ConfigError, DataError, StatmechError  # noqa: E402
from statmech_nn.hookspecs import hookimpl  # noqa: E402
from statmech_nn.io import write_netcdf  # noqa: E402
from statmech_nn.study.config import load_study  # noqa: E402
from statmech_nn.study.layout import StudyLayout  # noqa: E402
from statmech_nn.study.runner import prepare_directory, run_study  # noqa: E402

GRID = """
[grids.{grid}]
p_train = [0.0]
p_eval = [0.2, 0.6]
N = [100, 1000, 10000]
width = 8
depth = 1
seed = [0, 1]
"""
SMALL = 'title = "small"\nexperiment = "{experiment}"\n' + GRID + "\n[analysis.fss]\nenabled = false\n"


def small(experiment: str = "toy_phases", grid: str = "g", extra: str = "") -> str:
    """A small toy study (one grid, no FSS) with ``extra`` appended."""
    return SMALL.format(experiment=experiment, grid=grid) + extra


class DeclaredToy(study_toy.ToyPhases):
    """The toy experiment declaring the variables its cells write."""

    name = "toy_declared"
    variables = ("loss", "accuracy")


class WrappedPowerLaw(Analyzer):
    """An analyzer whose run(**options) passes them on to fit_powerlaw, as the built-ins do."""

    name = "wrapped_powerlaw"
    option_functions = (fit_powerlaw,)

    def run(self, data, **options):
        check_option_names(self.name, options, *self.option_functions)
        return fit_powerlaw(data, **options)


class OddName(Analyzer):
    """A plugin's analyzer whose registered name is no file name."""

    name = "../odd"

    def run(self, data):
        return xr.Dataset()


class NoCollapseHere(SecondOrder):
    """A form that refuses every data set, as a fit whose priors exclude the data does."""

    name = "no_collapse_here"

    def default_priors(self, control, size):
        raise DataError("the priors exclude the data (a test form that never collapses)")


class GuardPlugin:
    @hookimpl
    def register_experiments(self):
        return [DeclaredToy]

    @hookimpl
    def register_scaling_forms(self):
        return [NoCollapseHere]

    @hookimpl
    def register_analyzers(self):
        return [WrappedPowerLaw, OddName]


def registry():
    reg = study_toy.registry()
    reg.register_plugin(GuardPlugin(), "guard")
    return reg


@pytest.fixture
def cli_registry(monkeypatch):
    """The command line sees the test plugins (its process-wide registry is this one)."""
    reg = registry()
    monkeypatch.setattr(plugins, "_REGISTRY", reg)
    return reg


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- the study file ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    (small(grid='"../../escaped"'), "name '../../escaped' cannot name a file"),
    (small(grid='"a/b c"'), "name 'a/b c' cannot name a file"),
    (small(grid='""'), "name '' cannot name a file"),
    (small(extra='[[analysis.analyzers]]\nname = "../odd"\n'), "analysis.analyzers[0].name: name '../odd'"),
    (small(extra="[analysis]\ncontrol = 'N'\n"), "analysis.control = 'N' is also analysis.size"),
    (small(extra="[analysis]\nseed = 'N'\n"), "analysis.seed = 'N' is also analysis.size"),
    (small(extra="[analysis]\ncontrol = 'seed'\n"), "analysis.seed = 'seed' is also analysis.control"),
    (small(extra="[analysis]\nrows = 'N'\n"), "analysis.rows = 'N' is also analysis.size"),
    (small("toy_declared", extra="[analysis.phases]\nloss_var = 'energy'\naccuracy_var = 'acc'\n"),
     "analysis.phases: experiment 'toy_declared' writes neither loss_var = 'energy' nor accuracy_var = 'acc' (it "
     "writes loss, accuracy): name its loss or accuracy, or set both to \"\" (no amentia)"),
    (small(extra="[analysis]\nfacets = ['widht']\n"),
     "analysis.facets: 'widht' is not a dimension of experiment 'toy_phases' (p_train, p_eval, N, width, depth, seed)"),
    (small(extra="[analysis]\nobservable = 'accuracy'\n"),
     "analysis.observable = 'accuracy' is the accuracy (accuracy_var): the phases read alpha < 0 as learning"),
    (small(extra="[analysis]\nwindow = [5000, 100000]\n"),
     "analysis.window = [5000, 100000] holds 1 of the analysis grid's N values (100, 1000, 10000): a power-law "
     "fit with a goodness of fit needs 3"),
    (small("toy_declared", extra="[analysis]\nobservable = 'nope'\n"),
     "analysis.observable = 'nope': expected a variable of experiment 'toy_declared' (loss, accuracy)"),
    (small("toy_declared", extra='[[analysis.analyzers]]\nname = "extreme_loss"\noptions = { var = "nope" }\n'),
     "analysis.analyzers[0].options.var = 'nope': expected a variable of the experiment, or a list of them "
     "(loss, accuracy)"),
    (small(extra='[[analysis.analyzers]]\nname = "extreme_loss"\noptions = { nope = 1 }\n'),
     "analysis.analyzers[0].options: unknown option 'nope' for analyzer 'extreme_loss': expected one of var"),
    (small(extra='[[analysis.analyzers]]\nname = "wrapped_powerlaw"\noptions = { nope = 1 }\n'),
     "unknown option 'nope' for analyzer 'wrapped_powerlaw': expected one of var, size_dim, window"),
    (small(extra='[[analysis.analyzers]]\nname = "powerlaw"\noptions = { size_dim = "L" }\n'),
     "analysis.analyzers[0].options.size_dim = 'L': expected a dimension of the experiment (p_train, p_eval"),
])
def test_what_would_fail_after_the_sweeps_fails_at_load(tmp_path, text, message):
    """Truth: each of these made a study run its sweeps (or write outside its directory: a grid
    named '../../escaped' wrote DIR/../../escaped.nc) and only then fail or misbehave; the study
    file alone shows it is wrong, so load_study refuses it in one line naming the file and the
    bad value."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_study(path, registry=registry())
    assert message in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value), info.value


def test_a_study_without_amentia_indicators_classifies_no_amentia(tmp_path):
    """Truth: the toy is at chance (loss ln 10, accuracy 0.1, flat) for p_train >= 0.9, which the
    default indicators call amentia; an experiment that is no learning task sets both to "" and
    the same point is then critical (alpha compatible with 0), never amentia."""
    from statmech_nn.analysis.phases import AMENTIA, CRITICAL

    text = small().replace("p_train = [0.0]", "p_train = [0.0, 0.95]")
    reg = registry()
    phases = {}
    for name, extra in (("default", ""), ("none", '[analysis.phases]\nloss_var = ""\naccuracy_var = ""\n')):
        study = load_study(write(tmp_path, text + extra, f"{name}.toml"), registry=reg)
        layout = run_study(study, tmp_path / name, CellCache(tmp_path / "cache"), progress=False,
                           log=lambda line: None, registry=reg)
        phases[name] = xr.open_dataset(layout.phases)["phase"].sel(p_train=0.95).load()
    assert (phases["default"] == AMENTIA).all()
    assert (phases["none"] == CRITICAL).all()


def test_a_failed_comparison_and_skipped_steps_are_in_the_report_which_is_still_written(tmp_path):
    """Truth: the slice's comparison fails (its form refuses the data), which used to end the whole
    study with no report; the window scan is skipped by its settings (10 sizes per window, 3
    measured), which the report used not to say. Now both are listed under "Steps not computed"
    in the page and summary.json, the rest of the report is built, and the study exits normally."""
    import json

    text = small().replace("[analysis.fss]\nenabled = false\n", "") + (
        "[analysis.scan]\npoints = 10\n[analysis.fss]\nforms = ['no_collapse_here', 'second_order']\n"
        "slices = [{p_train = 0.0, width = 8, depth = 1}]\ncontrol_window = [0.0, 1.0]\n")
    reg = registry()
    study = load_study(write(tmp_path, text), registry=reg)
    layout = run_study(study, tmp_path / "out", CellCache(tmp_path / "cache"), progress=False,
                       log=lambda line: None, registry=reg)
    notes = json.loads(layout.summary.read_text())["not_computed"]
    assert notes[0] == "window scan: skipped (3 sizes < 10 per window: analysis.scan.points)"
    assert notes[1].startswith("fss p_train=0_width=8_depth=1") and notes[1].endswith(
        "failed: the priors exclude the data (a test form that never collapses)")
    assert notes[2].startswith("finite-size scaling: no comparison")
    page = layout.report.read_text()
    assert "Steps not computed" in page and "a test form that never collapses" in page


def test_accepted_analyzer_options_and_names_still_load(tmp_path):
    """Truth: the load-time checks refuse only what is wrong: an analyzer's real options (its
    run()'s keywords, or its option_functions'), dims of the experiment, a declared variable,
    grid names of letters, digits, '_' and '-', a list of variables (fss's joint fit) and workers
    all load."""
    extra = ('[executor]\nworkers = 2\n[analysis]\nobservable = "loss"\n'
             '[[analysis.analyzers]]\nname = "extreme_loss"\noptions = { var = "accuracy" }\n'
             '[[analysis.analyzers]]\nname = "wrapped_powerlaw"\noptions = { var = "loss", size_dim = "N" }\n'
             '[[analysis.analyzers]]\nname = "fss"\noptions = { var = ["loss", "accuracy"], size_dim = "N", '
             'control_dim = "p_eval", average = "seed" }\n')
    study = load_study(write(tmp_path, small("toy_declared", grid="Phase-diagram_2", extra=extra)),
                       registry=registry())
    assert list(study.grids) == ["Phase-diagram_2"] and study.executor_choice() == {"workers": 2}
    assert [e.options for e in study.extras][:2] == [{"var": "accuracy"}, {"var": "loss", "size_dim": "N"}]
    assert study.extras[2].options["var"] == ["loss", "accuracy"]


def test_cli_refuses_a_bad_setting_before_anything_runs(tmp_path, cli_registry, capsys):
    """Truth: a study file wrong in what used to be found after the sweeps exits 2 with one line
    and creates no directory and no cached cell."""
    path = write(tmp_path, small("toy_declared", extra="[analysis]\nobservable = 'nope'\n"))
    out, cache = tmp_path / "out", tmp_path / "cache"
    assert main(["study", str(path), "-o", str(out), "--cache-dir", str(cache), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "analysis.observable = 'nope'" in err, err
    assert not out.exists() and not cache.exists()


# -- the output directory ----------------------------------------------------------------------

def test_a_directory_of_the_same_study_resumes_and_an_edited_one_too(tmp_path, cli_registry):
    """Truth: the documented resume path: the same study file into its directory is accepted;
    so is the study edited in its analysis, title or grid values or with a new grid (every file
    whose key changes is recomputed), and the new text replaces the kept study file."""
    reg = cli_registry
    out = tmp_path / "out"
    first = load_study(write(tmp_path, small()), registry=reg)
    prepare_directory(first, out)
    (out / "sweeps").mkdir()
    (out / "sweeps" / "g.nc").write_bytes(b"finished")
    prepare_directory(first, out)
    edited = small(extra="[analysis.scan]\nmode = 'growing'\n").replace('"small"', '"edited"').replace(
        "seed = [0, 1]", "seed = [0, 1, 2]") + GRID.format(grid="more")
    prepare_directory(load_study(write(tmp_path, edited, "edited.toml"), registry=reg), out)
    assert StudyLayout(out).study_file.read_text() == edited
    assert (out / "sweeps" / "g.nc").read_bytes() == b"finished"


@pytest.mark.parametrize("setup, message", [
    ("user", "is not empty and is not a study directory (it has no study.toml)"),
    ("not_a_study", "holds a study.toml that is not a study file"),
    ("other_grid", "holds another study (its study.toml has grid 'g', which"),
    ("other_options", "holds another study (its study.toml has option timing.delay = 0.0, not 0.5)"),
    ("other_experiment", "holds another study (its study.toml has experiment 'toy_phases', not 'toy_declared')"),
])
def test_a_directory_the_study_does_not_own_is_refused_and_left_as_it_was(tmp_path, cli_registry, setup, message):
    """Truth: -o DIR replaced a user's hand-written study.toml, and a different study run into
    another study's directory replaced its files and left that study's sweeps beside its own.
    Each is refused in one line naming DIR and what to do, every file left as it was."""
    reg = cli_registry
    out = tmp_path / "out"
    out.mkdir()
    study_text = small()
    if setup == "user":
        (out / "notes.txt").write_text("mine")
    elif setup == "not_a_study":
        (out / "study.toml").write_text('p = [0.5]\nL = [8]\n')
    else:
        (out / "study.toml").write_text(study_text)
        (out / "sweeps").mkdir()
        (out / "sweeps" / "g.nc").write_bytes(b"finished")
        study_text = {"other_grid": small(grid="h"),
                      "other_options": small(extra="[timing]\ndelay = 0.5\n"),
                      "other_experiment": small("toy_declared")}[setup]
    before = snapshot(out)
    study = load_study(write(tmp_path, study_text), registry=reg)
    with pytest.raises(StatmechError) as info:
        prepare_directory(study, out)
    text = str(info.value)
    assert message in text and repr(str(out)) in text and "give another -o, or delete it" in text, text
    assert "\n" not in text and snapshot(out) == before


def test_a_directory_of_an_earlier_version_and_the_study_files_own_folder_are_used(tmp_path, cli_registry):
    """Truth: a study directory whose study.toml this version no longer accepts (here the
    size_offsets key that error_models replaced) holds the same study: it was refused as "not a
    valid study file", stranding it; it resumes. A folder holding only the study file being run
    (`study DIR/s.toml -o DIR`) holds nothing else of the user's, so it is used."""
    reg = cli_registry
    out = tmp_path / "out"
    study = load_study(write(tmp_path, small()), registry=reg)
    prepare_directory(study, out)
    StudyLayout(out).study_file.write_text(small().replace("[analysis.fss]", "[analysis.fss]\nsize_offsets = true"))
    (out / "sweeps").mkdir()
    (out / "sweeps" / "g.nc").write_bytes(b"finished")
    prepare_directory(study, out)
    assert StudyLayout(out).study_file.read_text() == small()
    own = tmp_path / "own"
    own.mkdir()
    prepare_directory(load_study(write(own, small(), "mine.toml"), registry=reg), own)
    assert StudyLayout(own).study_file.read_text() == small()


def test_a_directory_with_only_hidden_entries_is_used(tmp_path, cli_registry):
    """Truth: a directory with nothing but hidden entries (a killed write's temporary, a
    .DS_Store) holds nothing of the user's that the study would replace, so it is used."""
    reg = cli_registry
    out = tmp_path / "out"
    out.mkdir()
    (out / ".study.toml.123.abcd.tmp").write_text("partial")
    prepare_directory(load_study(write(tmp_path, small()), registry=reg), out)
    assert StudyLayout(out).study_file.read_text() == small()


def test_run_study_checks_the_directory_before_computing(tmp_path):
    """Truth: run_study itself (the Python API, not only the command) refuses a foreign
    directory before any cell is computed."""
    reg = registry()
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(StatmechError, match="not a study directory"):
        run_study(load_study(write(tmp_path, small()), registry=reg), out, CellCache(tmp_path / "cache"),
                  progress=False, log=lambda line: None, registry=reg)
    assert snapshot(out) == {"notes.txt": b"mine"} and not any((tmp_path / "cache").rglob("*.nc"))


@pytest.mark.parametrize("where", ["file_parent", "permission"])
def test_an_output_that_cannot_be_created_is_one_line(tmp_path, cli_registry, capsys, monkeypatch, where):
    """Truth: mkdir's FileNotFoundError / NotADirectoryError / PermissionError reached the user as
    a traceback (exit 1); it is one line naming the directory, exit status 2."""
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "study"
    if where == "permission":
        out = tmp_path / "ro" / "study"

        def refuse(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["study", str(write(tmp_path, small())), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot create the study directory {str(out)!r}" in err, err


# -- the report --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    """A finished small toy study (no FSS)."""
    tmp = tmp_path_factory.mktemp("guard")
    reg = registry()
    study = load_study(write(tmp, small(extra='[[analysis.analyzers]]\nname = "extreme_loss"\n')), registry=reg)
    return run_study(study, tmp / "out", CellCache(tmp / "cache"), progress=False, log=lambda line: None,
                     registry=reg)


def copy_of(layout: StudyLayout, tmp_path: Path) -> StudyLayout:
    return StudyLayout(Path(shutil.copytree(layout.root, tmp_path / "copy")))


@pytest.mark.parametrize("swapped", ["phases", "extra", "sweep"])
def test_report_names_a_file_swapped_in(small_study, tmp_path, cli_registry, capsys, swapped):
    """Truth: a file the study did not write (here: a dataset of another experiment) in place of
    one it did made report say "written by another version" without naming the file; it names
    the file, one line, exit 2. The intact copy still reports (the check refuses no real file)."""
    layout = copy_of(small_study, tmp_path)
    assert main(["report", str(layout.root)]) == 0
    capsys.readouterr()
    foreign = xr.Dataset({"wrapping": ("p", [0.1, 0.9])}, coords={"p": [0.4, 0.6]},
                         attrs={"title": "statmech_nn percolation sweep",
                                "config_json": '{"experiment": "percolation"}'})
    path = {"phases": layout.phases, "extra": layout.extra("extreme_loss"), "sweep": layout.sweep("g")}[swapped]
    path.unlink()
    write_netcdf(foreign, path)
    assert main(["report", str(layout.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and repr(str(path)) in err, err
    assert f"rerun 'statmech-nn study' with its study file and -o {str(layout.root)!r}" in err, err


def test_report_of_a_study_file_that_is_not_utf8_is_one_line(small_study, tmp_path, cli_registry, capsys):
    """Truth: report reads the study file through the one TOML reader, so a binary study.toml is
    one line naming it (it was a UnicodeDecodeError traceback), exit status 2."""
    layout = copy_of(small_study, tmp_path)
    layout.study_file.write_bytes(b"\xff\xfe\x00binary")
    assert main(["report", str(layout.root)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(layout.study_file) in err, err


def test_report_of_a_hand_edited_study_file_warns_that_the_numbers_are_not_its(small_study, tmp_path,
                                                                                 cli_registry, capsys):
    """Truth: the study ran with p_train = [0.0]; its study.toml, edited afterwards to list
    p_train = [0.0, 0.5], no longer hashes to the config_sha256 the analyses record. The page
    used to show the edited configuration beside numbers it did not produce, silently; now the
    command warns in one line and the page and summary.json carry the warning. The intact copy
    has no such warning."""
    import json

    layout = copy_of(small_study, tmp_path)
    assert main(["report", str(layout.root)]) == 0
    assert not [w for w in json.loads(layout.summary.read_text())["warnings"] if "is not the study" in w]
    capsys.readouterr()
    layout.study_file.write_text(layout.study_file.read_text().replace("p_train = [0.0]", "p_train = [0.0, 0.5]"))
    assert main(["report", str(layout.root)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "is not the study" in line]
    assert len(warned) == 1 and "rerun 'statmech-nn study' on this directory" in warned[0]
    assert any("is not the study the analyses were computed for" in w
               for w in json.loads(layout.summary.read_text())["warnings"])
    assert "is not the study the analyses were computed for" in layout.report.read_text()
