"""Bad input on the command line: one line on stderr naming the value and what is accepted,
exit status 2, no traceback, and nothing computed before the check."""

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
