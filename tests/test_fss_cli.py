"""The FSS command line and figures: JSON contract, NetCDF output, one-line errors, plot structure."""

import contextlib
import io
import json

import numpy as np
import pytest

from statmech_nn.analysis.fss import collapse_dataset
from statmech_nn.analysis.fss.layout import read_posterior
from statmech_nn.cli import main
from statmech_nn.plotting.collapse import plot_collapse
from statmech_nn.plotting.corner import plot_corner

QUICK = ["--n-tau", "20", "--walkers", "16", "--max-steps", "2000"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("fss") / "bkt.nc"
    ds = collapse_dataset("bkt", {"p_c": 0.5, "sigma": 0.6, "L0": 1.0}, sizes=(8, 16, 32, 64), n_control=10,
                          jitter=1.0, seed=3)
    ds.p.attrs.update(long_name="evaluation dropout rate", units="1")
    ds.y.attrs.update(long_name="test loss", units="nat")
    ds.to_netcdf(path)
    return path


@pytest.fixture(scope="module")
def cli_fit(data_file):
    """One CLI fit shared by the tests below: (JSON summary, posterior file)."""
    out = data_file.parent / "post.nc"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["analyze", "fss", str(data_file), "--var", "y", "--err", "y_err", "--size", "L",
                       "--control", "p", "--form", "bkt", "-o", str(out), "--json", *QUICK])
    assert status == 0
    return json.loads(buffer.getvalue().strip().splitlines()[-1]), out


@pytest.fixture(scope="module")
def posterior(cli_fit):
    return read_posterior(cli_fit[1])


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_fit_json_and_netcdf(cli_fit, posterior):
    # truth: the JSON contract of the issue (form, params with median/lo/hi = 16th/84th percentiles,
    # names p_c, sigma, L0) and an ArviZ layout (chain, draw) in the written file; p_c = 0.5 true.
    result, _ = cli_fit
    assert result["form"] == "bkt" and set(result["params"]) == {"p_c", "sigma", "L0", "kappa"}
    pc = result["params"]["p_c"]
    assert pc["lo"] < pc["median"] < pc["hi"] and abs(pc["median"] - 0.5) < 3 * (pc["hi"] - pc["lo"]) / 2
    assert posterior["p_c"].dims == ("chain", "draw")
    assert np.percentile(posterior["p_c"].values, 16) == pytest.approx(pc["lo"])
    assert posterior.attrs["form"] == "bkt"


@pytest.mark.slow
def test_compare_json(data_file, tmp_path, capsys):
    # truth: the data are BKT; the comparison JSON names it preferred and scores both forms; -o
    # writes one group per form, readable by the plot commands with --group
    out = tmp_path / "cmp.nc"
    status = main(["analyze", "fss", str(data_file), "--var", "y", "--err", "y_err", "--size", "L",
                   "--control", "p", "--compare", "second_order,bkt", "--json", "-o", str(out), *QUICK])
    assert status == 0
    result = _last_json(capsys)
    assert result["preferred"] == "bkt"
    assert set(result["forms"]) == {"second_order", "bkt"}
    assert all(isinstance(f["score"], float) for f in result["forms"].values())
    assert read_posterior(out, "second_order").attrs["form"] == "second_order"
    assert main(["plot", "corner", str(out), "--group", "second_order", "-o", str(tmp_path / "c.png")]) == 0
    assert main(["plot", "corner", str(out), "-o", str(tmp_path / "c.png")]) == 2
    assert "choose one with --group" in capsys.readouterr().err


def test_size_offsets_and_tilts_flags_add_their_scales(data_file, tmp_path, capsys):
    # truth: --size-offsets --size-tilts fit the error model with one offset and one slope per size
    # (fit_fss(size_offsets=True, size_tilts=True)): their scales appear among the hyperparameters,
    # inside their prior boxes [1e-3, 1], and the collapse figure subtracts both and says so
    out = tmp_path / "offsets.nc"
    status = main(["analyze", "fss", str(data_file), "--var", "y", "--err", "y_err", "--size", "L", "--control", "p",
                   "--form", "second_order", "--size-offsets", "--size-tilts", "--json", "-o", str(out), *QUICK])
    assert status == 0
    result = _last_json(capsys)
    for name in ("size_offset", "size_tilt"):
        assert 1e-3 <= result["hyperparams"][name]["median"] <= 1.0
    (_, collapsed) = plot_collapse(read_posterior(out)).axes
    assert "size offsets and size tilts subtracted" in collapsed.get_title()
    assert "delta" in collapsed.get_ylabel() and "gamma" in collapsed.get_ylabel()


def test_average_errors_flag_reaches_the_fit_and_is_recorded(tmp_path, capsys):
    """Truth: --average seed --average-errors moderated fits the seed means with moderated
    errors (fit_fss(average_errors="moderated")), and the posterior records what was asked; the
    data: three noisy copies of the module's BKT set (1 % noise per copy)."""
    import xarray as xr

    from statmech_nn.io import write_netcdf

    ds = collapse_dataset("bkt", {"p_c": 0.5, "sigma": 0.6, "L0": 1.0}, sizes=(8, 16, 32, 64), n_control=8,
                          window="fixed", seed=3)
    rng = np.random.default_rng(0)
    copies = xr.concat([ds["y"] + 0.01 * rng.standard_normal(ds["y"].shape) for _ in range(3)], dim="seed")
    write_netcdf(xr.Dataset({"y": copies.assign_attrs(long_name="test loss", units="nat")}), tmp_path / "seeds.nc")
    out = tmp_path / "moderated.nc"
    assert main(["analyze", "fss", str(tmp_path / "seeds.nc"), "--var", "y", "--average", "seed", "--average-errors",
                 "moderated", "--size", "L", "--control", "p", "--form", "bkt", "-o", str(out), *QUICK]) == 0
    options = json.loads(read_posterior(out).attrs["options_json"])
    assert options["average"] == "seed" and options["average_errors"] == "moderated"


@pytest.mark.parametrize("extra, message", [
    (["--form", "ising"], "unknown scaling form 'ising'"),
    (["--form", "bkt", "--var", "nope"], "no variable 'nope'"),
    (["--form", "bkt", "--select", "seed"], "expected DIM=VALUE"),
    (["--form", "bkt", "--prior", "nu=0.1,2"], "no fitted form has a parameter 'nu'"),
    (["--compare", "bkt"], "at least two form names"),
    (["--form", "bkt", "--max-steps", "-5"], "max_steps = -5: expected at least 50 emcee steps"),
    (["--form", "bkt", "--size", "p"], "size and control are both 'p': expected two different"),
])
def test_bad_input_exits_2_with_one_line(data_file, capsys, extra, message):
    # truth: user errors become exit status 2 and one line on stderr, no traceback
    argv = ["analyze", "fss", str(data_file), "--var", "y", "--err", "y_err", "--size", "L", "--control", "p", *extra]
    if "--var" in extra:
        argv = ["analyze", "fss", str(data_file), "--err", "y_err", "--size", "L", "--control", "p", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_collapse_figure_structure(posterior):
    # truth: one row per variable, two panels (raw, collapsed), one curve per size, labels from CF
    fig = plot_collapse(posterior)
    raw, collapsed = fig.axes
    assert raw.get_xlabel() == "evaluation dropout rate"
    assert raw.get_ylabel() == "test loss [nat]"
    assert collapsed.get_xlabel() == r"$(p - p_c)\,\ln(L/L_0)^{1/\sigma}$"
    assert len(raw.get_legend().get_texts()) == 4


def test_corner_figure_structure(posterior):
    # truth: a K x K grid, K = 4 physical parameters of BKT: 10 visible panels (diagonal + below)
    fig = plot_corner(posterior)
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(fig.axes) == 16 and len(visible) == 10
    assert [ax.get_xlabel() for ax in fig.axes[12:]] == [r"$p_c$", r"$\sigma$", r"$L_0$", r"$\kappa$"]


def test_plot_cli_writes_figures(cli_fit, tmp_path, capsys):
    path = cli_fit[1]
    assert main(["plot", "collapse", str(path), "-o", str(tmp_path / "col.png")]) == 0
    assert (tmp_path / "col.png").stat().st_size > 0
    assert main(["plot", "corner", str(path), "-o", str(tmp_path / "c.svg"), "--params", "p_c,sigma", "--json"]) == 0
    assert _last_json(capsys)["panels"] == 3
    assert main(["plot", "corner", str(path), "-o", str(tmp_path / "c.png"), "--params", "zeta"]) == 2


@pytest.mark.slow
def test_interrupt_says_nothing_was_written(data_file, tmp_path):
    # truth: Ctrl-C (a real SIGINT to a real process) during the fit ends with exit status 130 and a
    # message that says what is true -- nothing was written -- and no output file exists
    import signal
    import subprocess
    import sys
    import time

    from statmech_nn.testing import cpu_seconds, interruptible

    out = tmp_path / "never.nc"
    proc = subprocess.Popen([sys.executable, "-c", "from statmech_nn.cli import entry; entry()", "analyze", "fss", str(data_file), "--var", "y",
                             "--err", "y_err", "--size", "L", "--control", "p", "--form", "bkt", "--n-tau", "10000",
                             "--max-steps", "1000000", "-o", str(out)], stderr=subprocess.PIPE, text=True,
                            preexec_fn=interruptible)
    # interrupt once the fit itself runs: after 12 s of the child's CPU time (imports take a few),
    # not after a fixed wall time, which a loaded machine can spend on imports alone (without
    # /proc: after 10 s of wall time)
    start = time.monotonic()
    while proc.poll() is None and time.monotonic() - start < 180:
        cpu = cpu_seconds(proc.pid)
        if (cpu is None and time.monotonic() - start > 10) or (cpu is not None and cpu >= 12):
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "nothing was written" in err and "kept" not in err.replace("keeps no partial", "")
    assert not out.exists()


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_figures_state_their_slice_and_fit(posterior, tmp_path):
    # truth: each figure names the form and the slice of data it shows (here no other dimension);
    # rendered, no title leaves the figure (clipped) and no two corner tick labels overlap
    for fig in (plot_collapse(posterior), plot_corner(posterior)):
        title = fig._suptitle.get_text()
        assert title.startswith("bkt form") and "y against p and L; no other dimension" in title
        renderer = _drawn(fig)
        box = fig.bbox
        for text in [fig._suptitle] + [ax.title for ax in fig.axes if ax.axison]:
            extent = text.get_window_extent(renderer)
            assert extent.x0 >= box.x0 - 1 and extent.x1 <= box.x1 + 1, text.get_text()
    corner = plot_corner(posterior)
    renderer = _drawn(corner)
    for ax in corner.axes:
        labels = [t for t in ax.get_xticklabels() if t.get_text()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        assert all(not a.overlaps(b) for a, b in zip(boxes, boxes[1:])), [t.get_text() for t in labels]
