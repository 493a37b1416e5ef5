"""Bad input on the command line: one line on stderr naming the value and what is accepted,
exit status 2, no traceback, and nothing computed before the check."""

from pathlib import Path

import pytest

from statmech_nn.cli import main


def run_cli(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.err.strip()


def assert_one_line_error(status, err, *fragments):
    assert status == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize("grid, fragments", [
    ("p_train=1.0", ("p_train = 1.0", "[0, 1)")),
    ("p_eval=-0.1", ("p_eval = -0.1", "[0, 1)")),
    ("N=70000", ("N = 70000", "60000")),
    ("N=0", ("N = 0",)),
    ("width=abc", ("width = 'abc'", "integer")),
    ("temperature=1", ("temperature", "p_train")),
])
def test_bad_grid_values(capsys, tmp_path, grid, fragments):
    status, err = run_cli(capsys, "sweep", "--grid", grid, "-o", str(tmp_path / "o.nc"),
                          "--cache-dir", str(tmp_path / "cache"))
    assert_one_line_error(status, err, *fragments)
    assert not (tmp_path / "cache").exists()  # rejected before any work


def test_unknown_toml_key_and_section(capsys, tmp_path):
    config = tmp_path / "s.toml"
    config.write_text("p_train = [0.0]\nlearning_rate = 0.1\n")
    assert_one_line_error(*run_cli(capsys, "sweep", str(config), "--dry-run"), "learning_rate")
    config.write_text("p_train = [0.0]\n[trainig]\nepochs = 1\n")
    assert_one_line_error(*run_cli(capsys, "sweep", str(config), "--dry-run"), "[trainig]", "training")


def test_wrong_option_type(capsys, tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('[training]\nbatch_size = "big"\n')
    assert_one_line_error(*run_cli(capsys, "sweep", str(config), "--dry-run"), "training.batch_size", "'big'")


def test_invalid_toml(capsys, tmp_path):
    config = tmp_path / "s.toml"
    config.write_text("p_train = [0.0,\n")
    assert_one_line_error(*run_cli(capsys, "sweep", str(config), "--dry-run"), "invalid TOML")


def test_unknown_plugin_and_device(capsys):
    assert_one_line_error(*run_cli(capsys, "sweep", "--experiment", "nope", "--dry-run"),
                          "unknown experiment 'nope'", "mnist_dropout")
    assert_one_line_error(*run_cli(capsys, "sweep", "--device", "tpu", "--dry-run"), "'tpu'", "cuda")


def test_unwritable_output(capsys, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    status, err = run_cli(capsys, "sweep", "--grid", "N=10", "-o", str(blocker / "out.nc"),
                          "--cache-dir", str(tmp_path / "cache"))
    assert_one_line_error(status, err, str(blocker))
    assert not (tmp_path / "cache").exists()


def test_usage_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sweep", "--no-such-flag"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--no-such-flag" in err


def test_scan_points_without_scan_is_said(capsys, tmp_path):
    from statmech_nn.io import write_netcdf
    from statmech_nn.testing import synthetic_dataset

    write_netcdf(synthetic_dataset(p_train=(0.0,), p_eval=(0.5,)), tmp_path / "in.nc")
    assert_one_line_error(*run_cli(capsys, "analyze", "powerlaw", str(tmp_path / "in.nc"), "--scan-points", "5"),
                          "--scan-points 5", "--scan")
    # too few points names the flag, not the Python keyword (it said "points = 2: ...")
    assert_one_line_error(*run_cli(capsys, "analyze", "powerlaw", str(tmp_path / "in.nc"), "--scan", "sliding",
                                   "--scan-points", "2"), "--scan-points 2: expected an integer >= 3")


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_option_is_one_line(capsys, value):
    # before: OverflowError traceback from ceil(inf * N / batch_size) deep in the trainer
    assert_one_line_error(*run_cli(capsys, "sweep", "--set", f"training.epochs={value}", "--dry-run"),
                          f"training.epochs = {value}", "finite")


def test_ctrl_c_says_what_is_true(capsys, tmp_path, monkeypatch):
    # Ctrl-C (KeyboardInterrupt, as the toy experiment raises it) in a command that writes
    # nothing partial says so (it used to promise kept work and a resume); a sweep keeps its
    # finished cells and says that
    from statmech_nn import plugins
    from statmech_nn.hookspecs import hookimpl
    from statmech_nn.testing import UniformMean

    class Interrupted(UniformMean):
        name = "toy_interrupted"

        def benchmark(self, quick=False, log=print):
            raise KeyboardInterrupt

    class Plugin:
        @hookimpl
        def register_experiments(self):
            return [UniformMean, Interrupted]

    registry = plugins.PluginRegistry(load_entry_points=False)
    registry.register_plugin(Plugin(), "toy")
    monkeypatch.setattr(plugins, "_REGISTRY", registry)
    status, err = run_cli(capsys, "bench", "--experiment", "toy_interrupted")
    assert status == 130 and err == "statmech-nn: interrupted; no output was written (files are written whole or not at all)"

    monkeypatch.setattr(UniformMean, "fail_after", 1)
    monkeypatch.setattr(UniformMean, "calls", 0)
    status, err = run_cli(capsys, "sweep", "--experiment", "toy_uniform_mean", "--grid", "seed=0,1,2",
                          "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "toy.nc"), "--no-progress")
    assert status == 130 and err == "statmech-nn: interrupted; finished cells are kept (run the same command to resume)"
    assert not (tmp_path / "toy.nc").exists()


# -- found by a bad-input hunt (session 15): each case was exit 0 or a traceback -------------------
PERCOLATION = ("--experiment", "percolation", "--grid", "p=0.55,0.59,0.63", "--grid", "L=8,16,32",
               "--set", "sampling.n_samples=50")


@pytest.fixture
def sweep_file(tmp_path, capsys):
    """A small real sweep (percolation), as NetCDF and as a Zarr store."""
    nc, zarr = tmp_path / "perc.nc", tmp_path / "perc.zarr"
    for out in (nc, zarr):
        assert main(["sweep", *PERCOLATION, "--cache-dir", str(tmp_path / "cache"), "-o", str(out)]) == 0
    capsys.readouterr()
    return nc, zarr


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(capsys, tmp_path, sweep_file):
    """Truth: writing -o onto the file being read replaced the user's data (sweep file, sweep
    TOML) with the results, exit 0; now the input's bytes are unchanged."""
    nc, _ = sweep_file
    before = nc.read_bytes()
    for argv in (["analyze", "powerlaw", str(nc), "--var", "wrapping", "--size", "L", "-o", str(nc)],
                 ["analyze", "phases", str(nc), "--var", "wrapping", "--size", "L", "--control", "p", "-o", str(nc)],
                 ["analyze", "fss", str(nc), "--var", "wrapping", "--err", "wrapping_err", "--size", "L",
                  "--control", "p", "--form", "second_order", "-o", str(nc)]):
        assert_one_line_error(*run_cli(capsys, *argv), f"output path '{nc}' is the input")
    assert nc.read_bytes() == before
    config = tmp_path / "s.toml"
    config.write_text('experiment = "percolation"\np = [0.5]\nL = [8]\n')
    # (refused by its name now, .toml being no dataset's; the input is kept either way)
    assert_one_line_error(*run_cli(capsys, "sweep", str(config), "-o", str(config)), f"output '{config}'")
    assert config.read_text().startswith("experiment")


def test_a_directory_that_is_no_zarr_store_is_never_replaced(capsys, tmp_path, sweep_file):
    """Truth: -o NAME.zarr onto a user's folder deleted what it held; a store is replaced."""
    folder = tmp_path / "notes.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert_one_line_error(*run_cli(capsys, "sweep", *PERCOLATION, "--cache-dir", str(tmp_path / "cache"),
                                   "-o", str(folder)), "holds no Zarr store")
    assert (folder / "notes.txt").read_text() == "mine"
    _, store = sweep_file
    assert main(["sweep", *PERCOLATION, "--cache-dir", str(tmp_path / "cache"), "-o", str(store)]) == 0


def test_fss_reads_a_zarr_store_like_the_other_analyzers(capsys, sweep_file):
    """Truth: the store holds the same numbers as the NetCDF file, so the fit is the same."""
    nc, zarr = sweep_file
    fits = []
    for path in (nc, zarr):
        assert main(["analyze", "fss", str(path), "--var", "wrapping", "--err", "wrapping_err", "--size", "L",
                     "--control", "p", "--form", "second_order", "--max-steps", "1000", "--walkers", "16",
                     "--json"]) == 0
        fits.append(capsys.readouterr().out)
    assert fits[0] == fits[1]


@pytest.mark.parametrize("argv, fragments", [
    (["sweep", *PERCOLATION, "--grid", "p=0.7", "--dry-run"], ("--grid p given twice", "p=0.55,0.59,0.63", "p=0.7")),
    (["sweep", *PERCOLATION, "--set", "sampling.n_samples=30", "--dry-run"], ("--set sampling.n_samples given twice",)),
    (["analyze", "powerlaw", "{nc}", "--var", "wrapping", "--size", "L", "--select", "p=0.55", "--select", "p=0.59"],
     ("--select p given twice",)),
    (["analyze", "fss", "{nc}", "--var", "wrapping", "--err", "wrapping_err", "--size", "L", "--control", "p",
      "--form", "second_order", "--prior", "nu=0.5,2", "--prior", "nu=0.6,3"], ("'nu=0.6,3'", "given twice")),
    (["analyze", "fss", "{nc}", "--var", "wrapping", "--err", "wrapping_err", "--size", "L", "--control", "p",
      "--form", "second_order", "--seed", "-1"], ("seed = -1", "integer >= 0")),
    (["plot", "phase-diagram", "{nc}", "--var", "wrapping", "--size", "L", "--x", "p", "--y", "p", "-o", "{dir}/f.png"],
     ("--x p and --y p", "two different dims")),
    (["data", "fetch", "mnist", "--root", "{nc}"], ("is a file", "--root")),
    (["analyze", "fss", "{nc}", "--var", "wrapping", "--err", "wrapping_err", "--size", "L", "--control", "p",
      "--form", "second_order", "--average-errors", "moderated"], ("'moderated' (--average-errors) needs average=DIM (--average)",)),
])
def test_repeated_and_contradictory_options_are_one_line(capsys, tmp_path, sweep_file, argv, fragments):
    nc, _ = sweep_file
    argv = [a.format(nc=nc, dir=tmp_path) for a in argv]
    assert_one_line_error(*run_cli(capsys, *argv), *fragments)


@pytest.mark.parametrize("dpi", ["0", "-5", "nan", "100000"])
def test_a_figure_resolution_out_of_range_is_a_usage_error(capsys, tmp_path, sweep_file, dpi):
    """Truth: dpi 0 or NaN crashed in matplotlib; 100000 dpi ran out of memory."""
    nc, _ = sweep_file
    with pytest.raises(SystemExit) as info:
        main(["plot", "loss-vs-n", str(nc), "--var", "wrapping", "--size", "L", "-o", str(tmp_path / "f.png"),
              "--dpi", dpi])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1 and f"'{dpi}': expected dots per inch in (0, 1200]" in err


def test_a_toml_file_that_is_not_utf8_is_one_line(capsys, tmp_path):
    config = tmp_path / "binary.toml"
    config.write_bytes(b"\xff\xfe p = [0.5]\n")
    assert_one_line_error(*run_cli(capsys, "sweep", str(config), "--dry-run"), "not a TOML text file", "UTF-8")


@pytest.mark.skipif(not __import__("os").path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_an_output_folder_that_refuses_files_is_said_before_any_work(capsys, tmp_path):
    """Truth: /proc refuses new files (ENOENT) and reports no free space; the sweep computed its
    cells, then said "no space left on device" -- the wrong reason, after the work."""
    status, err = run_cli(capsys, "sweep", *PERCOLATION, "--cache-dir", str(tmp_path / "cache"), "-o", "/proc/x.nc")
    assert_one_line_error(status, err, "cannot write '/proc/x.nc': its directory refuses new files (No such file")
    assert not (tmp_path / "cache").exists()


def test_a_form_specific_prior_narrows_a_general_one_in_either_order():
    """Truth: `--prior p_c=0.5,0.7 --prior bkt:p_c=0.55,0.65` gives BKT the narrower box and
    second order the general one (it was refused as "given twice"); the same level twice is
    still refused."""
    from statmech_nn.analysis.fss import BKT, SecondOrder
    from statmech_nn.cli.analyze_fss import parse_priors
    from statmech_nn.errors import ConfigError

    forms = [SecondOrder(), BKT()]
    expected = {"second_order": {"p_c": (0.5, 0.7)}, "bkt": {"p_c": (0.55, 0.65)}}
    assert parse_priors(["p_c=0.5,0.7", "bkt:p_c=0.55,0.65"], forms) == expected
    assert parse_priors(["bkt:p_c=0.55,0.65", "p_c=0.5,0.7"], forms) == expected
    for twice in (["p_c=0.5,0.7", "p_c=0.6,0.8"], ["bkt:p_c=0.5,0.7", "bkt:p_c=0.6,0.8"]):
        with pytest.raises(ConfigError, match="given twice"):
            parse_priors(twice, forms)


def test_a_zarr_output_without_zarr_is_refused_before_any_cell(capsys, tmp_path, monkeypatch):
    # Truth: with zarr not importable (None in sys.modules makes "import zarr" fail), a sweep to
    # -o OUT.zarr computed every cell and only then said zarr was missing; now it fails before
    # the cache is even created.
    import sys

    monkeypatch.setitem(sys.modules, "zarr", None)
    cache = tmp_path / "cache"
    status, err = run_cli(capsys, "sweep", "--experiment", "percolation", "--grid", "p=0.5", "--grid", "L=8",
                          "--cache-dir", str(cache), "-o", str(tmp_path / "out.zarr"))
    assert_one_line_error(status, err, "as Zarr needs zarr >= 3 (zarr is not installed)", "or give a .nc name")
    assert not cache.exists()


def test_a_bad_value_in_the_sweep_file_names_the_file(capsys, tmp_path):
    # Truth: the same bad value is the file's when it is in the file (its path leads the line)
    # and the command line's when --grid/--set gives it (no path); a file value that the command
    # line replaces is not checked, since replacing it may be the fix.
    config = tmp_path / "s.toml"
    config.write_text("p_train = [1.0]\n[training]\nepochs = -1\n")
    status, err = run_cli(capsys, "sweep", str(config), "--dry-run", "--cache-dir", str(tmp_path / "c"))
    assert_one_line_error(status, err, f"{config}: ")
    status, err = run_cli(capsys, "sweep", str(config), "--set", "training.epochs=1", "--dry-run",
                          "--cache-dir", str(tmp_path / "c"))
    assert_one_line_error(status, err, f"{config}: p_train = 1.0")
    status, err = run_cli(capsys, "sweep", str(config), "--grid", "p_train=0.5", "--set", "training.epochs=-2",
                          "--dry-run", "--cache-dir", str(tmp_path / "c"))
    assert_one_line_error(status, err, "training.epochs = -2")
    assert str(config) not in err
    assert run_cli(capsys, "sweep", str(config), "--grid", "p_train=0.5", "--set", "training.epochs=1",
                   "--grid", "N=10", "--dry-run", "--cache-dir", str(tmp_path / "c"))[0] == 0


@pytest.mark.parametrize("command", ["sweep", "study", "bench"])
def test_a_bad_device_option_is_blamed_on_the_option(capsys, tmp_path, command):
    # Truth: `--device gpu` is the command line's mistake: the line names --device and not the
    # study file it overrides (it said "examples/quick_study.toml: unknown device 'gpu'").
    study = Path(__file__).parents[1] / "examples" / "quick_study.toml"
    argv = {"sweep": ["sweep", "--dry-run", "--cache-dir", str(tmp_path / "c")],
            "study": ["study", str(study), "-o", str(tmp_path / "out")], "bench": ["bench", "--quick"]}[command]
    status, err = run_cli(capsys, *argv, "--device", "gpu")
    assert_one_line_error(status, err, "error: --device: unknown device 'gpu'", "cpu, cuda")
    assert "quick_study" not in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["sweep", "analyze powerlaw", "analyze fss"])
@pytest.mark.parametrize("name", ["out.txt", "out", "out.csv"])
def test_a_dataset_output_needs_a_netcdf_or_zarr_name(capsys, tmp_path, command, name):
    # Truth: -o out.txt wrote NetCDF bytes under a text file's name; a dataset's -o must end in a
    # NetCDF extension (or .zarr, which `analyze fss` does not write), refused before any work
    # (the analyses' input does not even exist: the name is checked first).
    argv = {"sweep": ["sweep", "--grid", "N=10", "--cache-dir", str(tmp_path / "c")],
            "analyze powerlaw": ["analyze", "powerlaw", str(tmp_path / "in.nc")],
            "analyze fss": ["analyze", "fss", str(tmp_path / "in.nc"), "--var", "y", "--size", "L",
                            "--control", "p", "--form", "second_order"]}[command]
    status, err = run_cli(capsys, *argv, "-o", str(tmp_path / name))
    expected = ".nc, .nc4, .netcdf, .cdf" + (" (NetCDF)" if command == "analyze fss" else ", .zarr")
    assert_one_line_error(status, err, f"output {str(tmp_path / name)!r}: expected a name ending in {expected}")
    assert not (tmp_path / name).exists() and not (tmp_path / "c").exists()
