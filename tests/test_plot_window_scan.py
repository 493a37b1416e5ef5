"""The window-scan figure: one line per curve, the alpha = 0 reference, readable errors."""

import numpy as np
import pytest

from statmech_nn.analysis.powerlaw import window_scan
from statmech_nn.cli import main
from statmech_nn.errors import DataError
from statmech_nn.io import write_netcdf
from statmech_nn.plotting.window_scan import plot_window_scan
from statmech_nn.testing import synthetic_dataset


@pytest.fixture(scope="module")
def scan():
    data = synthetic_dataset(p_train=[0.0], p_eval=[0.0, 0.5, 0.9], N=[256, 1024, 4096, 16384, 60000])
    return window_scan(data, "loss", mode="sliding", points=3)


def test_one_line_per_curve_with_its_windows(scan):
    fig = plot_window_scan(scan.sel(p_train=0.0))
    (ax,) = fig.axes
    lines = [c for c in ax.containers if c.lines[0].get_gid() == "scan"]
    assert len(lines) == 3  # p_eval 0, 0.5, 0.9
    # x: geometric centres of the 3 sliding windows over 5 sizes
    expected = np.sqrt(scan["window_min"].values * scan["window_max"].values)
    assert np.allclose(lines[0].lines[0].get_xdata(), expected)
    assert ax.get_xscale() == "log" and "alpha" in ax.get_ylabel()


def test_legend_names_only_what_varies_in_ordered_colours():
    # Truth: a grid of one width and one depth has those in the title; the legend names p_eval
    # alone (it repeated "width=128, depth=2" on every line), and its values, ordered, get the
    # colours of an ordered (viridis) map from dark to light.
    data = synthetic_dataset(p_train=[0.0], p_eval=[0.0, 0.5, 0.9], N=[256, 1024, 4096, 16384, 60000])
    one_shape = window_scan(data.expand_dims(width=[128], depth=[2]), "loss", mode="sliding", points=3)
    fig = plot_window_scan(one_shape.sel(p_train=0.0))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["p_eval=0", "p_eval=0.5", "p_eval=0.9"]
    assert "width = 128" in ax.get_title() and "depth = 2" in ax.get_title()
    luminance = [np.dot(c.lines[0].get_color()[:3], [0.299, 0.587, 0.114]) for c in ax.containers]
    assert luminance == sorted(luminance)


def test_too_many_curves_and_wrong_input_are_one_line_errors(scan):
    many = scan.expand_dims(seed=np.arange(5))
    with pytest.raises(DataError, match="too many for one figure"):
        plot_window_scan(many)
    with pytest.raises(DataError, match="window_scan"):
        plot_window_scan(scan.drop_vars("alpha"))


def test_cli_draws_a_scan_file(scan, tmp_path, capsys):
    write_netcdf(scan, tmp_path / "scan.nc")
    assert main(["plot", "alpha-scan", str(tmp_path / "scan.nc"), "--select", "p_train=0",
                 "-o", str(tmp_path / "scan.png")]) == 0
    assert (tmp_path / "scan.png").stat().st_size > 0
