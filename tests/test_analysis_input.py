"""The size and control coordinates and the error options, checked where the data enter every
analyzer (powerlaw, its window scan, phases, fss): one-line errors naming the coordinate and the
offending value or dtype, the same message from each analyzer, exit status 2 on the command line.

Truths used: small hand-made grids ``y = (1 + p) L^-1/2`` over ``p x L`` whose coordinates are then
spoilt in one known way (a repeated value, text, NaN, 0, a single control value)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis.fss import collapse_dataset, prepare_data
from statmech_nn.analysis.phases import classify_phases
from statmech_nn.analysis.powerlaw import fit_powerlaw, window_scan
from statmech_nn.cli import main
from statmech_nn.errors import ConfigError, DataError
from statmech_nn.io import write_netcdf

SIZES = (8, 16, 32, 64)
CONTROLS = (0.4, 0.5, 0.6)


def grid(sizes=SIZES, controls=CONTROLS) -> xr.Dataset:
    """``y = (1 + p) L^-1/2`` with a 2 % error over ``p x L``, with CF attributes; the
    coordinates are set afterwards, so they may be anything (text, NaN, repeated values)."""
    size = np.arange(1, len(sizes) + 1, dtype=float) * 8.0
    control = np.linspace(0.4, 0.6, len(controls))
    y = (1.0 + control[:, None]) * size[None, :] ** -0.5
    ds = xr.Dataset({"y": (("p", "L"), y, {"long_name": "observable", "units": "1"}),
                     "y_err": (("p", "L"), 0.02 * y, {"long_name": "standard error of y", "units": "1"})})
    ds = ds.assign_coords(p=("p", list(controls)), L=("L", list(sizes)))
    ds.p.attrs.update(long_name="control parameter", units="1")
    ds.L.attrs.update(long_name="system size", units="1")
    return ds


#: each analyzer's entry point on a grid, by name (the phases boundary runs along p)
ANALYZERS = {
    "powerlaw": lambda ds: fit_powerlaw(ds, "y", size_dim="L"),
    "powerlaw_scan": lambda ds: window_scan(ds, "y", size_dim="L", points=3),
    "phases": lambda ds: classify_phases(ds, "y", size_dim="L", control_dim="p", loss_var="y", accuracy_var=None),
    "fss": lambda ds: prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p"),
}
SIZE_USERS = tuple(ANALYZERS)                 # every analyzer runs along a size
CONTROL_USERS = ("phases", "fss")             # these also run along a control dimension


@pytest.mark.parametrize("analyzer, spoil, fragment", [
    *[(a, dict(sizes=(8, 8, 32, 64)), "size dimension 'L' repeats the value 8 (2 times among 4)")
      for a in SIZE_USERS if a != "fss"],
    ("fss", dict(sizes=(8, 8, 32, 64)), "'y' has 2 values at the point L = 8, p = 0.4: expected one per point"),
    ("phases", dict(controls=(0.4, 0.4, 0.6)), "control dimension 'p' repeats the value 0.4"),
    ("fss", dict(controls=(0.4, 0.4, 0.6)), "'y' has 2 values at the point L = 8, p = 0.4"),
    *[(a, dict(sizes=("a", "b", "c", "d")), "size coordinate 'L' has dtype <U1 (a, b, c, d): expected numbers")
      for a in SIZE_USERS],
    *[(a, dict(controls=("x", "y", "z")), "control coordinate 'p' has dtype <U1") for a in CONTROL_USERS],
    *[(a, dict(sizes=(np.nan, 16, 32, 64)), "size coordinate 'L' holds nan (1 of 4 values): expected finite "
       "numbers > 0") for a in SIZE_USERS],
    *[(a, dict(sizes=(0, 16, 32, 64)), "size coordinate 'L' holds 0 (1 of 4 values)") for a in SIZE_USERS],
    *[(a, dict(controls=(0.4, np.nan, 0.6)), "control coordinate 'p' holds nan (1 of 3 values): expected finite "
       "numbers") for a in CONTROL_USERS],
])
def test_a_spoilt_size_or_control_coordinate_is_named_by_every_analyzer(analyzer, spoil, fragment):
    """Truth: the grid is accepted as it is; with one coordinate spoilt (a value twice along the
    dimension, text, NaN, a size <= 0) each analyzer raises one DataError line naming the
    coordinate and the bad value or dtype -- never a fit, a warning or a float() traceback."""
    run = ANALYZERS[analyzer]
    run(grid())
    with pytest.raises(DataError) as info:
        run(grid(**spoil))
    assert fragment in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_scattered_points_may_share_size_and_control_values():
    """Truth: fss needs each (L, p) point once, not each value once: scattered points (p and L as
    coordinates along one dimension) repeat sizes by design, also where that dimension is
    indexed by L itself (a table read with set_index("L")), and are read point for point; a
    repeated L in the grid layout of the same data puts two values at one point and is refused."""
    points = collapse_dataset("second_order", sizes=(8, 16), n_control=4, window="fixed", layout="points", seed=0)
    data = prepare_data(points, "y", err="y_err", size_dim="L", control_dim="p")
    assert data.observables[0].y.size == points.sizes["point"] == 8
    by_size = prepare_data(points.swap_dims({"point": "L"}), "y", err="y_err", size_dim="L", control_dim="p")
    np.testing.assert_array_equal(by_size.observables[0].y, data.observables[0].y)
    with pytest.raises(DataError, match="2 values at the point L = 8"):
        prepare_data(grid(sizes=(8, 8, 32, 64)), "y", err="y_err", size_dim="L", control_dim="p")


def test_a_collapse_needs_two_control_values_with_finite_data():
    """Truth: with finite data at one control value (one p, or a second p whose values are all NaN)
    every size has a single point and p_c is unconstrained: one DataError line naming the control
    and its value, not a posterior at p_c = that value with a zero-width interval."""
    for ds in (grid(controls=(0.55,)), grid(controls=(0.55, 0.65)).pipe(lambda d: d.where(d.p < 0.6))):
        with pytest.raises(DataError) as info:
            prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p")
        assert str(info.value) == ("variable 'y' has finite data at 1 value(s) of the control p (0.55): "
                                   "a collapse needs at least 2")
    assert prepare_data(grid(controls=(0.55, 0.65)), "y", err="y_err", size_dim="L", control_dim="p")


def _replicas() -> xr.Dataset:
    """The grid three times along ``seed`` (slightly shifted), for ``average``."""
    ds = grid()
    return xr.concat([ds, ds * 1.01, ds * 0.98], dim="seed").assign_coords(seed=[0, 1, 2])


@pytest.mark.parametrize("options, fragment", [
    (dict(average="L"), "average = 'L' is the size dimension"),
    (dict(average="p"), "average = 'p' is the control dimension"),
    (dict(err="y_err", select={"seed": 0}, average_errors="moderated"),
     "average_errors = 'moderated' (--average-errors) needs average=DIM (--average)"),
    (dict(average="seed", error_floor=float("inf")), "error_floor = inf: expected a finite number >= 0"),
    (dict(average="seed", error_floor=True), "error_floor = True: expected a finite number >= 0"),
    (dict(average="seed", error_floor=-1.0), "error_floor = -1.0: expected a finite number >= 0"),
])
def test_error_options_that_make_no_sense_are_refused(options, fragment):
    """Truth: averaging over the size or control dimension, moderating errors that are given (no
    average), and an error floor that is not a finite number >= 0 (an infinite floor makes every
    point uninformative, a boolean is no floor) are one ConfigError line naming the option and
    its value; the same call with a replica average and a finite floor is accepted."""
    prepare_data(_replicas(), "y", average="seed", error_floor=1e-4, size_dim="L", control_dim="p")
    with pytest.raises(ConfigError) as info:
        prepare_data(_replicas(), "y", size_dim="L", control_dim="p", **options)
    assert fragment in str(info.value) and "\n" not in str(info.value), str(info.value)


FSS = ["analyze", "fss", "--var", "y", "--size", "L", "--control", "p", "--form", "second_order"]
POWERLAW = ["analyze", "powerlaw", "--var", "y", "--size", "L"]


@pytest.mark.parametrize("data, command, fragment", [
    (dict(sizes=(8, 8, 32, 64)), [*POWERLAW], "size dimension 'L' repeats the value 8"),
    (dict(controls=(0.4, 0.4, 0.6)), [*FSS, "--err", "y_err"], "'y' has 2 values at the point L = 8, p = 0.4"),
    (dict(sizes=("a", "b", "c", "d")), [*FSS, "--err", "y_err"], "size coordinate 'L' has dtype"),
    (dict(sizes=(np.nan, 16, 32, 64)), [*FSS, "--err", "y_err"], "size coordinate 'L' holds nan"),
    (dict(controls=(0.55,)), [*FSS, "--err", "y_err"], "finite data at 1 value(s) of the control p (0.55)"),
    ("replicas", [*FSS, "--average", "L"], "average = 'L' is the size dimension"),
    ("replicas", [*FSS, "--err", "y_err", "--select", "seed=0", "--average-errors", "moderated"],
     "'moderated' (--average-errors) needs average=DIM"),
    ("replicas", [*FSS, "--average", "seed", "--error-floor", "inf"], "error_floor = inf"),
])
def test_cli_names_the_bad_coordinate_or_option_in_one_line(tmp_path, capsys, data, command, fragment):
    """Truth: each kind of bad coordinate or error option above ends `statmech-nn analyze` with
    exit status 2 and one stderr line naming it (no traceback, no fit)."""
    path = tmp_path / "in.nc"
    write_netcdf(_replicas() if data == "replicas" else grid(**data), path)
    status = main([*command[:2], str(path), *command[2:]])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert fragment in err, err
