"""Figures: structure, not pixels (labels from CF attributes, panels, artists, scales).

Truth used: the synthetic sweep, whose phases and boundary are known (test_phases.py checks
them), so the number of panels, curves and boundary points each figure must show is known.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402

from statmech_nn.analysis.phases import classify_phases  # noqa: E402
from statmech_nn.cli import main  # noqa: E402
from statmech_nn.errors import DataError  # noqa: E402
from statmech_nn.io import write_netcdf  # noqa: E402
from statmech_nn.plotting import axis_label, plot_alpha_profile, plot_loss_vs_n, plot_phase_diagram  # noqa: E402
from statmech_nn.testing import synthetic_dataset  # noqa: E402


@pytest.fixture(scope="module")
def sweep():
    ds = synthetic_dataset(seed=30)
    return ds, classify_phases(ds)


def test_axis_label_from_cf_attributes():
    assert axis_label(xr.DataArray([1], attrs={"long_name": "test loss", "units": "nat"})) \
        == "test loss [nat]"
    assert axis_label({"long_name": "dropout rate", "units": "1"}) == "dropout rate"
    assert axis_label(xr.DataArray([1], name="energy", attrs={"units": "J"})) == "energy [J]"
    assert axis_label({}, name="x") == "x"


def test_loss_vs_n_has_one_log_log_panel_per_phase(sweep):
    ds, result = sweep
    fig = plot_loss_vs_n(ds, result)
    codes, counts = np.unique(result["phase"].values, return_counts=True)
    assert len(fig.axes) == len(codes) == 4  # eumentia, dementia, amentia, critical present
    for ax, count in zip(fig.axes, counts):
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        assert ax.get_xlabel() == "number of training samples"
        assert ax.get_title().endswith(f"({count})")
        assert sum(line.get_gid() == "data" for line in ax.lines) == count
        assert len(ax.containers) == count  # one error-bar set per curve
        assert sum(line.get_gid() == "fit" for line in ax.lines) == count
    # the synthetic loss now has the MNIST sweep's units ("1", "in nats" in the long_name; issue 11)
    assert fig.axes[0].get_ylabel() == "test cross-entropy in nats"
    assert [ax.get_title().split()[0] for ax in fig.axes] == \
        ["eumentia", "dementia", "amentia", "critical"]


def test_loss_vs_n_fit_line_is_the_fitted_power_law(sweep):
    # Truth: the drawn fit line at N is amplitude * N**alpha of the result.
    ds, result = sweep
    point = result.sel(p_train=0.95, p_eval=0.0)
    fig = plot_loss_vs_n(ds.sel(p_train=[0.95], p_eval=[0.0]),
                         result.sel(p_train=[0.95], p_eval=[0.0]))
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "fit"]
    x, y = line.get_data()
    np.testing.assert_allclose(y, point["amplitude"].item() * x ** point["alpha"].item())


def test_phase_diagram_structure(sweep):
    ds, result = sweep
    fig = plot_phase_diagram(result)
    ax, cbar_ax = fig.axes
    assert ax.get_xlabel() == "evaluation dropout (pruning) rate"
    assert ax.get_ylabel() == "training dropout rate"
    assert cbar_ax.get_ylabel() == "power-law exponent of loss vs N"
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(4, 10),
                               result["alpha"].values)
    amentia = [c for c in ax.collections if c.get_gid() == "phase-amentia"]
    assert len(amentia) == 1 and len(amentia[0].get_offsets()) == 10
    (boundary,) = [line for line in ax.lines if line.get_gid() == "boundary"]
    xs, ys = boundary.get_data()
    np.testing.assert_allclose(ys, [0.0, 0.3, 0.6])  # no boundary in the amentia row
    np.testing.assert_allclose(xs, result["boundary"].values[:3])


def test_phase_diagram_transposed_and_extra_dims(sweep):
    _, result = sweep
    fig = plot_phase_diagram(result, x="p_train", y="p_eval")
    (boundary,) = [line for line in fig.axes[0].lines if line.get_gid() == "boundary"]
    np.testing.assert_allclose(boundary.get_data()[0], [0.0, 0.3, 0.6])
    stacked = xr.concat([result, result], dim=xr.DataArray([64, 128], dims="width", name="width"))
    with pytest.raises(DataError, match="width=2"):
        plot_phase_diagram(stacked, ax=plot_phase_diagram(result).axes[0])


def test_phase_diagram_facets_one_panel_per_shape(sweep):
    """Truth: width x depth = 3 x 2 shapes of the same synthetic result; each panel is the
    single-shape diagram (same alpha values, same boundary), titled with its shape, and the
    figure has one shared colour bar and one legend."""
    _, result = sweep
    widths = xr.DataArray([32, 128, 512], dims="width", name="width", attrs={"long_name": "hidden-layer width", "units": "1"})
    depths = xr.DataArray([1, 4], dims="depth", name="depth", attrs={"long_name": "number of hidden layers", "units": "1"})
    faceted = xr.concat([xr.concat([result] * 3, dim=widths)] * 2, dim=depths)
    fig = plot_phase_diagram(faceted)
    panels = [ax for ax in fig.axes if ax.get_gid() == "facet"]
    assert len(panels) == 6 and len(fig.axes) == 7  # six panels and one colour bar
    titles = [ax.get_title() for ax in panels]
    assert titles == [f"width = {w}, depth = {d}" for d in (1, 4) for w in (32, 128, 512)]
    for ax in panels:
        (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
        np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(4, 10), result["alpha"].values)
        (boundary,) = [line for line in ax.lines if line.get_gid() == "boundary"]
        np.testing.assert_allclose(boundary.get_data()[0], result["boundary"].values[:3])
        names = {t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("label-")}
        assert names == {"eumentia", "dementia", "amentia", "critical"}
        # only measured rates on the axes: the cells end at the first and last grid value
        assert ax.get_xlim() == (0.0, 0.9) and ax.get_ylim() == (0.0, 0.95)
    assert panels[0].get_ylabel() == "training dropout rate" and panels[1].get_ylabel() == ""
    assert len(fig.legends) == 1
    with pytest.raises(DataError, match="at most 2"):
        plot_phase_diagram(xr.concat([faceted, faceted], dim=xr.DataArray([0, 1], dims="seed", name="seed")))


def test_alpha_profile_draws_alpha_its_errors_phases_and_boundary_per_row(sweep):
    """Truth: the synthetic result's own alpha, stderr, phase codes and boundary. One panel per
    p_train value (two here), titled by it; in each, the error-bar points of all phases
    together are alpha along p_eval with bars of one stderr, each phase's points under its
    name, and the dashed line at the boundary (none in the amentia row, which has none)."""
    _, result = sweep
    rows = result.sel(p_train=[0.3, 0.95])
    fig = plot_alpha_profile(rows, x="p_eval")
    panels = [ax for ax in fig.axes if ax.get_gid() == "facet"]
    assert [ax.get_title() for ax in panels] == ["p_train = 0.3", "p_train = 0.95"]
    for ax, p_train in zip(panels, (0.3, 0.95)):
        row = result.sel(p_train=p_train)
        xs, ys, bars, names = [], [], [], set()
        for container in ax.containers:
            x, y = container.lines[0].get_data()
            (segments,) = container.lines[2]
            xs += list(x)
            ys += list(y)
            bars += [abs(seg[1, 1] - seg[0, 1]) / 2 for seg in segments.get_segments()]
            names.add(container.get_label())
        order = np.argsort(xs)
        np.testing.assert_allclose(np.array(xs)[order], row["p_eval"].values)
        np.testing.assert_allclose(np.array(ys)[order], row["alpha"].values)
        np.testing.assert_allclose(np.array(bars)[order], row["alpha_stderr"].values, rtol=1e-12)
        codes = set(row["phase"].values.tolist())
        assert names == {["eumentia", "dementia", "amentia", "critical"][c] for c in codes}
        lines = [line for line in ax.lines if line.get_gid() == "boundary"]
        if np.isfinite(row["boundary"].item()):
            (line,) = lines
            np.testing.assert_allclose(line.get_xdata(), [row["boundary"].item()] * 2)
        else:
            assert not lines
    assert panels[0].get_xlabel() == "evaluation dropout (pruning) rate"
    assert len(fig.legends) == 1
    with pytest.raises(DataError, match="along 'T'"):
        plot_alpha_profile(rows, x="T")


def test_cli_plots_write_figures(tmp_path, capsys):
    # p_train 0.6 (boundary 0.68: no grid point within 6 stderr of it) and 0.95 (amentia):
    # exactly eumentia, dementia and amentia panels
    write_netcdf(synthetic_dataset(p_train=(0.6, 0.95), seed=31), tmp_path / "in.nc")
    assert main(["plot", "loss-vs-n", str(tmp_path / "in.nc"), "-o", str(tmp_path / "l.png"),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["panels"] == 3
    assert (tmp_path / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the phase diagram from a phases result file
    assert main(["analyze", "phases", str(tmp_path / "in.nc"), "-o", str(tmp_path / "p.nc")]) == 0
    assert main(["plot", "phase-diagram", str(tmp_path / "p.nc"), "-o",
                 str(tmp_path / "d.svg")]) == 0
    assert (tmp_path / "d.svg").read_text().lstrip().startswith("<?xml")
    assert main(["plot", "phase-diagram", str(tmp_path / "p.nc"), "--y", "", "-o", str(tmp_path / "a.svg")]) == 0
    assert 'id="boundary' in (tmp_path / "a.svg").read_text()  # the alpha profile, with its boundary line


def test_cli_plot_bad_format_exits_2(tmp_path, capsys):
    write_netcdf(synthetic_dataset(p_train=(0.0,), seed=32), tmp_path / "in.nc")
    assert main(["plot", "phase-diagram", str(tmp_path / "in.nc"), "-o",
                 str(tmp_path / "d.xyz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'xyz'" in err and "png" in err, err
    assert not (tmp_path / "d.xyz").exists()


def test_loss_vs_n_colours_by_p_eval_with_a_legend_and_states_the_slice(sweep):
    """Truth: p_train = 0.3 alone has eumentia below its boundary 0.59 and dementia above
    (plus critical points near it); the legend lists the 10 p_eval values; the title names p_train."""
    from statmech_nn.plotting.scaling_curves import plot_loss_vs_n_grid

    ds, result = sweep
    fig = plot_loss_vs_n(ds.sel(p_train=[0.3]), result.sel(p_train=[0.3]))
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [f"p_eval = {v:g}" for v in ds["p_eval"].values]
    assert fig._suptitle.get_text() == "p_train = 0.3"
    grid = plot_loss_vs_n_grid(ds, result)
    codes = set(np.unique(result["phase"].values))
    assert len(grid.axes) == 4 * len(codes)  # rows: p_train; columns: phases present
    for ax in grid.axes:
        phase, row = ax.get_title().split(", ")
        members = (result["phase"].sel(p_train=float(row.split(" = ")[1])).values ==
                   {"eumentia": 0, "dementia": 1, "amentia": 2, "critical": 3}[phase]).sum()
        assert sum(line.get_gid() == "data" for line in ax.lines) == members
        assert (ax.get_gid() == "curves") == bool(members)
