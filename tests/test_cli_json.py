"""``--json`` puts exactly one JSON document on stdout, for every command that has it, so that
``statmech-nn ... --json | jq`` works; the human text (tables, "wrote FILE") goes to stderr."""

import json

import pytest

from statmech_nn import plugins
from statmech_nn.cli import main
from statmech_nn.hookspecs import hookimpl
from statmech_nn.io import write_netcdf
from statmech_nn.testing import UniformMean, synthetic_dataset


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("json")
    write_netcdf(synthetic_dataset(p_train=(0.0, 0.95), p_eval=(0.2, 0.5, 0.8), seed=3), root / "in.nc")
    assert main(["analyze", "powerlaw", str(root / "in.nc"), "--scan", "growing", "-o", str(root / "scan.nc")]) == 0
    return root


def _only_json(capsys):
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err  # json.loads fails on anything besides one document


@pytest.mark.parametrize("argv, human_text", [
    (["analyze", "powerlaw", "{in}"], "alpha_stderr"),
    (["analyze", "powerlaw", "{in}", "--scan", "sliding", "--select", "p_train=0"], "window_min"),
    (["analyze", "phases", "{in}", "-o", "{dir}/phases.nc"], "wrote"),
    (["plot", "loss-vs-n", "{in}", "-o", "{dir}/l.png"], "wrote"),
    (["plot", "phase-diagram", "{in}", "-o", "{dir}/p.png"], "wrote"),
    (["plot", "alpha-scan", "{dir}/scan.nc", "-o", "{dir}/a.png"], "wrote"),
    (["plugins"], None),
])
def test_json_alone_on_stdout(files, capsys, argv, human_text):
    argv = [a.format(**{"in": files / "in.nc", "dir": files}) for a in argv]
    assert main([*argv, "--json"]) == 0
    document, err = _only_json(capsys)
    assert document
    if human_text is not None:
        assert human_text in err  # the table / message a person reads is still shown, on stderr


def test_without_json_the_table_is_on_stdout(files, capsys):
    assert main(["analyze", "powerlaw", str(files / "in.nc")]) == 0
    assert "alpha_stderr" in capsys.readouterr().out


def test_fss_json_alone_on_stdout(capsys, tmp_path):
    from statmech_nn.analysis.fss import collapse_dataset

    ds = collapse_dataset("bkt", {"p_c": 0.5, "sigma": 0.6, "L0": 1.0}, sizes=(8, 16, 32), n_control=6,
                          jitter=1.0, seed=3)
    ds.p.attrs.update(long_name="control", units="1")
    ds.L.attrs.update(long_name="size", units="1")
    ds.y.attrs.update(long_name="y", units="1")
    ds.to_netcdf(tmp_path / "c.nc")
    assert main(["analyze", "fss", str(tmp_path / "c.nc"), "--var", "y", "--err", "y_err", "--size", "L",
                 "--control", "p", "--form", "bkt", "--n-tau", "5", "--walkers", "16", "--max-steps", "500",
                 "--json"]) == 0
    document, err = _only_json(capsys)
    assert document["form"] == "bkt" and "p_c" in err


class _Benchmarked(UniformMean):
    """The toy experiment with a benchmark that, like the MNIST one, logs a report."""

    name = "toy_benchmarked"

    def benchmark(self, quick=False, log=print):
        log("naive 1.0 s, toolkit 0.5 s")
        return {"speedup": 2.0}


class _BenchPlugin:
    @hookimpl
    def register_experiments(self):
        return [_Benchmarked]


def test_bench_json_alone_on_stdout(monkeypatch, capsys):
    registry = plugins.PluginRegistry(load_entry_points=False)
    registry.register_plugin(_BenchPlugin(), "bench_toy")
    monkeypatch.setattr(plugins, "_REGISTRY", registry)
    assert main(["bench", "--experiment", "toy_benchmarked", "--json"]) == 0
    document, err = _only_json(capsys)
    assert document == {"speedup": 2.0} and "naive 1.0 s" in err


def test_a_reader_that_stops_early_ends_the_command_quietly(files):
    # `statmech-nn ... --json | head` closes the pipe before the JSON is written; that used to end
    # in a BrokenPipeError traceback. `true` exits at once, so the write always meets a closed pipe.
    import subprocess
    import sys

    script = f"'{sys.executable}' -m statmech_nn analyze powerlaw '{files / 'in.nc'}' --json | true; " \
             "echo status=${PIPESTATUS[0]} >&2"
    run = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in run.stderr and "Error" not in run.stderr, run.stderr
    assert "status=141" in run.stderr  # the shell's status for SIGPIPE, as for any Unix filter


def test_nan_in_a_summary_is_null_not_an_invalid_token(capsys):
    from statmech_nn.cli.common import emit_json

    emit_json({"alpha": float("nan"), "rows": [{"x": float("inf")}, 1.5]})
    assert json.loads(capsys.readouterr().out, parse_constant=pytest.fail) == {"alpha": None, "rows": [{"x": None}, 1.5]}
