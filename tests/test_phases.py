"""Phase classification and boundaries against known answers.

Truths used: the classification rules on hand-made exponents (a truth table), the synthetic
sweep of :mod:`statmech_nn.testing` (alpha = p_eval - (0.5 + 0.3 p_train), amentia for
p_train >= 0.9, all known in closed form), and the exact zero of a straight line.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis.phases import (
    AMENTIA,
    CRITICAL,
    DEMENTIA,
    EUMENTIA,
    UNCLASSIFIED,
    PhaseAnalyzer,
    classify,
    classify_phases,
    zero_crossings,
)
from statmech_nn.cli import main
from statmech_nn.errors import ConfigError, DataError
from statmech_nn.io import read_netcdf, write_netcdf
from statmech_nn.testing import SyntheticTruth, synthetic_dataset

LN10 = math.log(10)


def test_truth_table_of_the_classification():
    # Truth: the documented criteria, point by point, with z = 2.
    alpha = np.array([-0.3, 0.3, 0.01, 0.01, 0.01, np.nan, -0.05])
    stderr = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.02])
    loss = np.array([0.5, 5.0, LN10 + 0.1, LN10 + 0.1, 1.0, LN10, LN10])
    acc = np.array([0.9, 0.1, 0.12, 0.40, 0.7, 0.1, 0.1])
    codes = classify(alpha, stderr, loss, acc, z=2.0, amentia_alpha_tol=0.0)
    # -0.05 + 2*0.02 = -0.01 < 0: eumentia although loss and accuracy sit at chance
    assert codes.tolist() == [EUMENTIA, DEMENTIA, AMENTIA, CRITICAL, CRITICAL, UNCLASSIFIED,
                              EUMENTIA]
    # dropping the accuracy indicator makes the 4th point amentia (loss alone at chance)
    assert classify(alpha, stderr, loss, None)[3] == AMENTIA
    # a larger z widens "compatible with zero"; so does amentia_alpha_tol for amentia only
    assert classify(alpha, stderr, loss, acc, z=3.0)[6] == AMENTIA
    assert classify(alpha, stderr, loss, acc, amentia_alpha_tol=0.06)[6] == AMENTIA
    assert classify(alpha, stderr, loss, acc, amentia_alpha_tol=0.0)[6] == EUMENTIA
    assert codes.dtype == np.int8


def test_synthetic_sweep_phases_match_the_truth():
    # Truth: far from the boundary (|alpha| >= 0.05, 15+ stderr at 3 % noise) the sign of the
    # known alpha decides; the p_train = 0.95 row is amentia by construction (alpha = 0 with
    # stderr ~0.003, inside amentia_alpha_tol = 0.02 by 6 sigma); p_eval = 0.5 at
    # p_train = 0 sits exactly on the boundary (alpha = 0) and learns, so it is critical
    # (a true zero is called critical with probability 95 % at z = 2; the seed is fixed).
    truth = SyntheticTruth()
    ds = synthetic_dataset(truth, seed=20)
    result = classify_phases(ds)
    exact = truth.alpha(ds.p_train.values[:, None], ds.p_eval.values[None, :])
    phase = result["phase"].values
    far = (np.abs(exact) >= 0.05) & ~truth.amentia(ds.p_train.values)[:, None]
    assert np.all(phase[far & (exact < 0)] == EUMENTIA)
    assert np.all(phase[far & (exact > 0)] == DEMENTIA)
    assert np.all(phase[-1] == AMENTIA)
    assert result["phase"].sel(p_train=0.0, p_eval=0.5).item() == CRITICAL


def test_boundary_recovers_the_known_critical_line():
    # Truth: p_c(p_train) = 0.5 + 0.3 p_train; the linear interpolation is exact for a linear
    # alpha, so the only error is the noise: |p* - p_c| < 4 stderr (Gaussian, 3 curves) and
    # the amentia row has no boundary.
    truth = SyntheticTruth()
    result = classify_phases(synthetic_dataset(truth, seed=21))
    p_c = truth.boundary(result.p_train.values)
    found, err = result["boundary"].values, result["boundary_stderr"].values
    assert np.all(np.abs(found[:3] - p_c[:3]) < 4 * err[:3]), (found, p_c, err)
    assert np.isnan(found[3]) and result["n_crossings"].values.tolist() == [1, 1, 1, 0]
    assert result["boundary"].attrs["units"] == "1"


def test_zero_crossing_of_a_line_is_exact_and_counts_sign_changes():
    # Truth: the zero of a straight line, interpolated between any bracketing pair, is exact.
    p = np.linspace(0.0, 0.9, 10)
    lines = np.stack([2.0 * (p - 0.437), -(p - 0.61), 0 * p + 1.0])
    p_star, p_err, count = zero_crossings(p, lines, np.full(lines.shape, 0.01))
    np.testing.assert_allclose(p_star[:2], [0.437, 0.61], atol=1e-12)
    assert np.isnan(p_star[2]) and count.tolist() == [1, 1, 0]
    # noise with three sign changes: the first is reported, all are counted; NaN points skipped
    wiggle = np.array([-1.0, 1.0, -1.0, np.nan, 1.0])
    p_star, _, count = zero_crossings(np.arange(5.0), wiggle, np.ones(5))
    assert p_star == pytest.approx(0.5) and count == 3


def test_boundary_stderr_propagation_is_calibrated():
    # Truth: for alpha_i ~ N(a_i, s_i), alpha_j ~ N(a_j, s_j) independent with s small against
    # |a_i - a_j| (linear regime), (p* - p_true) / stderr is ~ standard normal. 4000 draws:
    # the sample std has standard error 0.011, so 1 +- 0.06 is > 5 sigma; nonlinearity at
    # s / |a_i - a_j| <= 0.05 shifts it by well under 0.03. Unequal s_i, s_j so that mixing up
    # which stderr goes with which exponent moves the std by ~0.5 and fails.
    rng = np.random.default_rng(22)
    p = np.array([0.4, 0.6])
    a_true = np.array([-0.06, 0.14])  # zero at 0.46
    s = np.array([0.003, 0.01])
    alpha = a_true + s * rng.standard_normal((4000, 2))
    p_star, p_err, count = zero_crossings(p, alpha, np.broadcast_to(s, alpha.shape))
    assert np.all(count == 1)
    pulls = (p_star - 0.46) / p_err
    assert abs(np.std(pulls) - 1) < 0.06, np.std(pulls)


def test_amentia_needs_every_indicator_at_chance():
    # Truth: flat curves (alpha = 0) at loss ln 10: with accuracy at chance -> amentia; with
    # accuracy 0.4 the network has learned something -> critical; with the accuracy indicator
    # switched off -> amentia again.
    N = np.array([100, 300, 1000, 3000, 10000])
    loss = np.full((2, 5, 2), LN10) * (1 + 0.01 * np.array([1, -1]))  # two seeds
    acc = np.stack([np.full((5, 2), 0.1), np.full((5, 2), 0.4)])
    ds = xr.Dataset({"loss": (("p_train", "N", "seed"), loss),
                     "accuracy": (("p_train", "N", "seed"), acc)},
                    coords={"p_train": [0.95, 0.5], "N": N, "seed": [0, 1]})
    assert classify_phases(ds, control_dim=None)["phase"].values.tolist() == [AMENTIA, CRITICAL]
    no_acc = classify_phases(ds, control_dim=None, accuracy_var=None)
    assert no_acc["phase"].values.tolist() == [AMENTIA, AMENTIA]
    assert no_acc.attrs["amentia_indicators"] == "loss=loss"
    # both indicators off (an experiment that is no learning task): no amentia, flat is critical
    neither = classify_phases(ds, control_dim=None, loss_var=None, accuracy_var=None)
    assert neither["phase"].values.tolist() == [CRITICAL, CRITICAL]
    assert neither.attrs["amentia_indicators"] == ""


def test_phase_has_cf_flags_and_survives_netcdf(tmp_path):
    result = PhaseAnalyzer().run(synthetic_dataset(p_train=(0.0, 0.95), seed=23))
    attrs = result["phase"].attrs
    # issue 11: the code -1 is a value phase holds, so it is a flag too (was: [0, 1, 2, 3] only)
    assert attrs["flag_meanings"] == "unclassified eumentia dementia amentia critical"
    assert attrs["flag_values"].tolist() == [-1, 0, 1, 2, 3]
    assert attrs["flag_meanings"].split()[1:4] == ["eumentia", "dementia", "amentia"]
    write_netcdf(result, tmp_path / "phases.nc")
    back = read_netcdf(tmp_path / "phases.nc")
    assert back["phase"].dtype == np.int8
    xr.testing.assert_identical(back, result)


def test_unfitted_points_are_unclassified_and_skipped_by_the_boundary():
    # Truth: a curve with all cells missing has no fit (-1) and the boundary search ignores it.
    ds = synthetic_dataset(p_train=(0.0,), seed=24)
    ds["loss"].loc[{"p_eval": 0.4}] = np.nan
    result = classify_phases(ds)
    assert result["phase"].sel(p_eval=0.4).item() == UNCLASSIFIED
    # the crossing now lies between 0.3 and 0.5: still found
    assert result["n_crossings"].item() == 1
    assert abs(result["boundary"].item() - 0.5) < 4 * result["boundary_stderr"].item()


@pytest.mark.parametrize("options, mutate, error, fragment", [
    ({}, lambda ds: ds.drop_vars(["accuracy"]).rename({"loss": "energy"}), DataError,
     "no variable 'loss'"),
    ({"var": "energy"}, lambda ds: ds.drop_vars(["accuracy", "loss"]).assign(energy=ds.loss),
     DataError, "cannot recognise amentia"),
    ({"control_dim": "width"}, lambda ds: ds, DataError, "control_dim 'width'"),
    ({"z": 0.0}, lambda ds: ds, ConfigError, "z = 0.0"),
    ({"n_classes": 1}, lambda ds: ds, ConfigError, "n_classes = 1"),
    ({"loss_tol": -1.0}, lambda ds: ds, ConfigError, "loss_tol"),
    # |accuracy - 1/K| <= 2 holds for every accuracy: every point would count as at chance
    ({"accuracy_tol": 2.0}, lambda ds: ds, ConfigError, "accuracy_tol = 2.0: expected a number in (0, 1)"),
    ({"treshold": 1}, lambda ds: ds, ConfigError, "unknown option 'treshold'"),
])
def test_bad_input_is_one_line_error(options, mutate, error, fragment):
    ds = synthetic_dataset(p_train=(0.0,), p_eval=(0.2, 0.8), seed=25)
    with pytest.raises(error) as info:
        PhaseAnalyzer().run(mutate(ds), **options)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_cli_phases(tmp_path, capsys):
    write_netcdf(synthetic_dataset(seed=26), tmp_path / "in.nc")
    status = main(["analyze", "phases", str(tmp_path / "in.nc"), "--z", "3",
                   "-o", str(tmp_path / "ph.nc"), "--json"])
    assert status == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {r["phase"] for r in summary["results"]} <= {"eumentia", "dementia", "amentia",
                                                        "critical"}
    assert len(summary["boundary"]) == 4 and summary["boundary"][3]["boundary"] is None
    assert read_netcdf(tmp_path / "ph.nc").attrs["z"] == 3.0


def test_cli_phases_bad_input(tmp_path, capsys):
    ds = synthetic_dataset(p_train=(0.0,), seed=27)
    write_netcdf(ds.assign(loss=ds.loss * np.nan), tmp_path / "nan.nc")
    assert main(["analyze", "phases", str(tmp_path / "nan.nc")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fewer than 3 finite" in err, err
    assert main(["analyze", "phases", str(tmp_path / "missing.nc")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--control", "N"], "--control N is the size dimension (--size): the boundary is sought along another one, "
                         "e.g. --control p_eval; --control none skips it"),
    (["--control", "width"], "--control width: no such dimension of loss (it has p_train, p_eval, N, seed); "
                             "--control none skips the boundary"),
], ids=["the-size", "absent"])
def test_cli_phases_control_errors_speak_the_command_line(tmp_path, capsys, flags, message):
    # Truth: both used to answer in Python ("use control_dim=None"), one without saying that N is
    # the size; the command line's spelling of "skip" is --control none.
    write_netcdf(synthetic_dataset(p_train=(0.0,), seed=28), tmp_path / "in.nc")
    assert main(["analyze", "phases", str(tmp_path / "in.nc"), *flags]) == 2
    assert capsys.readouterr().err.strip() == f"statmech-nn: error: {message}"
