"""Power-law fits against known exponents.

Truths used: data made as exact power laws ``A N**alpha`` (optionally times ``1 + noise`` with
a known noise level), and :mod:`statmech_nn.testing`'s sweep whose exponent map is known in
closed form. Every random draw comes from a seeded ``numpy.random.Generator``, so each test is
deterministic; the tolerances below are the ones the statistics would justify for *any* seed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis.powerlaw import (
    PowerLawAnalyzer,
    fit_curve,
    fit_curves,
    fit_powerlaw,
    loglinear_fit,
    scan_windows,
    window_scan,
)
from statmech_nn.analysis.standard_errors import mean_and_error
from statmech_nn.cli import main
from statmech_nn.errors import ConfigError, DataError
from statmech_nn.io import read_netcdf, write_netcdf
from statmech_nn.testing import SyntheticTruth, synthetic_dataset

SIZES = np.array([128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 60000])
ALPHAS = np.array([-0.7, -0.3, -0.05, 0.0, 0.1, 0.4])


def noisy_power_laws(alphas, replicas, rel_noise, seed, amplitude=2.0):
    """y[r, a, n] = A N^alpha_a (1 + rel_noise e), with its exact error rel_noise * A N^alpha."""
    rng = np.random.default_rng(seed)
    exact = amplitude * SIZES[None, None, :] ** np.asarray(alphas)[None, :, None]
    exact = np.broadcast_to(exact, (replicas, len(alphas), len(SIZES)))
    return exact * (1 + rel_noise * rng.standard_normal(exact.shape)), rel_noise * exact


def test_noise_free_power_laws_are_recovered_to_rounding():
    # Truth: y = 2 N^alpha exactly. The log-space fit is the exact solution of a linear problem
    # (rounding only: 1e-10); lmfit's Levenberg-Marquardt stops at its default tolerances
    # (xtol = ftol = 1.5e-8), so it gets 1e-6.
    y = 2.0 * SIZES[None, :] ** ALPHAS[:, None]
    err = 0.01 * y
    log = loglinear_fit(SIZES, y, err)
    np.testing.assert_allclose(log["alpha"], ALPHAS, atol=1e-10)
    np.testing.assert_allclose(log["amplitude"], 2.0, rtol=1e-10)
    nonlinear = fit_curves(SIZES, y, err, method="lmfit")
    np.testing.assert_allclose(nonlinear["alpha"], ALPHAS, atol=1e-6)
    np.testing.assert_allclose(nonlinear["amplitude"], 2.0, rtol=1e-5)


def test_noisy_exponents_within_four_stderr():
    # Truth: alphas ALPHAS, 3 % Gaussian noise with known errors. The estimate is unbiased to
    # O(noise^2) and Gaussian, so |alpha_hat - alpha| / stderr > 4 has probability 6e-5 per
    # curve: over 60 curves a false failure has probability < 0.4 %, while a wrong exponent,
    # a wrong stderr by a factor > 2, or a biased weighting fails at once.
    y, err = noisy_power_laws(ALPHAS, replicas=10, rel_noise=0.03, seed=1)
    fit = fit_curves(SIZES, y, err)
    pulls = (fit["alpha"] - ALPHAS[None, :]) / fit["alpha_stderr"]
    assert np.all(np.abs(pulls) < 4), pulls
    assert np.all(fit["n_points"] == len(SIZES))


def test_stderr_is_calibrated_over_replicas():
    # Truth: with exact errors and stderr_scale="errors", (alpha_hat - alpha) / stderr is
    # standard normal. Over 480 replicas the sample std has standard error 1/sqrt(2*480) = 0.032
    # and the mean 0.046: the bands 1 +- 0.1 and 0 +- 0.15 are about 3 sigma.
    y, err = noisy_power_laws(ALPHAS, replicas=80, rel_noise=0.05, seed=2)
    fit = fit_curves(SIZES, y, err, stderr_scale="errors")
    pulls = ((fit["alpha"] - ALPHAS[None, :]) / fit["alpha_stderr"]).ravel()
    assert abs(np.std(pulls) - 1) < 0.1, np.std(pulls)
    assert abs(np.mean(pulls)) < 0.15, np.mean(pulls)
    # and the reduced chi-squared of correct errors averages 1 (480 fits x 8 dof: se 0.02)
    assert abs(np.mean(fit["redchi"]) - 1) < 0.07


def test_default_pipeline_stderr_from_three_seeds_is_calibrated():
    # Truth: the synthetic sweep's alpha map. With only 3 seeds the per-point errors are noisy;
    # the default pools relative errors along N and inflates by sqrt(max(1, chi2_red)). The
    # inflation can only widen errors, so the pull std is expected just below 1 (0.93 with
    # the true errors, docs/analyzers.md). 450 pulls give the std a standard error of 0.033:
    # the band [0.8, 1.08] is ~4 sigma below and ~4.5 above 0.93. Unpooled errors give 1.7.
    truth = SyntheticTruth()
    pulls = []
    for rep in range(15):
        ds = synthetic_dataset(truth, p_train=(0.0, 0.3, 0.6), n_seeds=3, seed=100 + rep)
        fit = fit_powerlaw(ds)
        exact = truth.alpha(ds.p_train.values[:, None], ds.p_eval.values[None, :])
        pulls.append(((fit["alpha"].values - exact) / fit["alpha_stderr"].values).ravel())
    std = np.std(np.concatenate(pulls))
    assert 0.8 < std < 1.08, std


def test_vectorised_fit_equals_per_curve_fits():
    # Truth: fitting all curves at once must give exactly what one lmfit fit per curve gives
    # (same guess, same model: agreement to rounding, 1e-10 relative).
    ds = synthetic_dataset(p_train=(0.0, 0.6), p_eval=(0.1, 0.5, 0.9), seed=3)
    fit = fit_powerlaw(ds)
    measured = mean_and_error(ds, "loss", pool_dim="N")
    for pt in ds.p_train.values:
        for pe in ds.p_eval.values:
            one = fit_curve(ds.N.values, measured.mean.sel(p_train=pt, p_eval=pe).values,
                            measured.err.sel(p_train=pt, p_eval=pe).values)
            point = fit.sel(p_train=pt, p_eval=pe)
            factor = np.sqrt(max(1.0, point["redchi"].item()))
            assert point["alpha"].item() == pytest.approx(one["alpha"], rel=1e-10)
            assert point["amplitude"].item() == pytest.approx(one["amplitude"], rel=1e-10)
            assert point["alpha_stderr"].item() == pytest.approx(one["alpha_stderr"] * factor,
                                                                 rel=1e-10)


def test_lmfit_and_loglinear_agree_within_a_fraction_of_stderr():
    # Truth: both estimators are consistent and differ only at O(noise^2) = O(1e-3) relative,
    # far below the stderr; 0.25 stderr leaves room while catching a mis-weighted method.
    ds = synthetic_dataset(p_train=(0.0,), seed=4)
    a = fit_powerlaw(ds, method="lmfit")
    b = fit_powerlaw(ds, method="loglinear")
    assert np.all(np.abs(a["alpha"] - b["alpha"]) < 0.25 * a["alpha_stderr"])


def test_window_restricts_sizes_and_is_recorded():
    # Truth: a fit in the window [1000, 20000] is the fit of the sub-dataset holding those
    # sizes (identical numbers), and its attrs name the sizes used.
    ds = synthetic_dataset(p_train=(0.3,), p_eval=(0.2, 0.8), seed=5)
    windowed = fit_powerlaw(ds, window=(1000, 20000))
    subset = fit_powerlaw(ds.sel(N=[1024, 2048, 4096, 8192, 16384]))
    xr.testing.assert_allclose(windowed, subset, rtol=1e-12)
    assert (windowed.attrs["window_min"], windowed.attrs["window_max"]) == (1024, 16384)
    assert int(windowed["n_points"].min()) == 5
    assert fit_powerlaw(ds, window=(None, 600)).attrs["window_max"] == 512


def test_window_scan_is_flat_for_a_power_law_and_drifts_across_a_crossover():
    # Truth: noise-free y = N^-0.5 below N = 2048 and continuous N^+0.3 above. Every sliding
    # window fully on one side returns that side's exponent exactly (to lmfit tolerance),
    # and a growing scan rises monotonically from -0.5 toward +0.3.
    N = SIZES
    y = np.where(N <= 2048, N**-0.5, 2048.0**-0.8 * N**0.3)
    da = xr.DataArray(y, dims="N", coords={"N": N}, name="loss",
                      attrs={"long_name": "loss", "units": "1"})
    sliding = window_scan(da, mode="sliding", points=3, stderr_scale="errors")
    assert sliding.sizes["window"] == len(N) - 2
    np.testing.assert_allclose(sliding["alpha"].values[:3], -0.5, atol=1e-6)  # 128..2048
    np.testing.assert_allclose(sliding["alpha"].values[-4:], 0.3, atol=1e-6)  # 2048..60000
    growing = window_scan(da, mode="growing", points=5)
    assert growing["window_min"].values.tolist() == [128] * 6
    assert growing["window_max"].values.tolist() == N[4:].tolist()
    assert np.all(np.diff(growing["alpha"].values) > 0)
    assert growing["alpha"].values[0] == pytest.approx(-0.5, abs=1e-6)


def test_scan_windows_lists_the_windows():
    # Truth: the definition (sliding runs of k sizes; growing prefixes from k sizes on).
    assert scan_windows([1, 2, 4, 8], "sliding", 3) == [(1, 4), (2, 8)]
    assert scan_windows([8, 1, 4, 2], "growing", 3) == [(1, 4), (1, 8)]
    with pytest.raises(ConfigError, match="points = 2"):
        scan_windows([1, 2, 4, 8], "sliding", 2)
    with pytest.raises(ConfigError, match="'shrinking'"):
        scan_windows([1, 2, 4, 8], "shrinking", 3)


def test_error_sources_follow_the_documented_rules():
    # Truth: hand-computable statistics on a 2-size x 2-seed array.
    y = np.array([[1.0, 1.2], [2.0, 2.0]])  # (N, seed)
    ds = xr.Dataset({"loss": (("N", "seed"), y), "loss_std": (("N", "seed"), np.full((2, 2), 0.4))},
                    coords={"N": [10, 20], "seed": [0, 1]}, attrs={"n_masks": 4})
    m = mean_and_error(ds, rel_floor=0.01)
    assert m.source == "seeds"
    np.testing.assert_allclose(m.mean, [1.1, 2.0])
    # sem = std(ddof=1)/sqrt(2) = 0.1 at N=10; 0 at N=20, floored to 1 % of 2.0
    np.testing.assert_allclose(m.err, [0.1, 0.02])
    one = mean_and_error(ds.isel(seed=[0]), rel_floor=0.0)
    assert one.source == "masks"
    np.testing.assert_allclose(one.err, [0.2, 0.2])  # 0.4 / sqrt(4 masks)
    per_cell = ds.isel(seed=[0]).assign(n_masks=("N", [16, 1]))
    np.testing.assert_allclose(mean_and_error(per_cell, rel_floor=0.0).err, [0.1, 0.4])
    pooled = mean_and_error(ds, rel_floor=0.0, pool_dim="N")
    rel = np.sqrt(((0.1 / 1.1) ** 2 + 0.0) / 2)  # RMS of the relative errors along N
    np.testing.assert_allclose(pooled.err, [1.1 * rel, 2.0 * rel])
    bare = mean_and_error(ds["loss"].isel(seed=0, drop=True))
    assert bare.source == "none"


def test_without_errors_the_scale_comes_from_the_residuals():
    # Truth: with no error information, weights are relative and the stderr is the ordinary
    # least-squares one in log space; recovered alpha within 4 stderr (as above).
    y, _ = noisy_power_laws([-0.4], replicas=1, rel_noise=0.02, seed=6)
    da = xr.DataArray(y[0, 0], dims="N", coords={"N": SIZES}, name="loss")
    fit = fit_powerlaw(da)
    assert fit.attrs["error_source"] == "none" and fit.attrs["stderr_scale"] == "residuals"
    assert abs(fit["alpha"].item() + 0.4) < 4 * fit["alpha_stderr"].item()


def test_missing_cells_are_left_out():
    # Truth: a partial sweep (NaN cells) fits the remaining sizes; the exponent is unchanged
    # within its stderr and n_points counts what was used.
    ds = synthetic_dataset(p_train=(0.0,), p_eval=(0.2,), seed=7)
    ds["loss"][0, 0, 3, :] = np.nan
    fit = fit_powerlaw(ds)
    assert int(fit["n_points"].item()) == len(SIZES) - 1
    exact = SyntheticTruth().alpha(0.0, 0.2)
    assert abs(fit["alpha"].item() - exact) < 4 * fit["alpha_stderr"].item()


def test_same_input_same_numbers():
    # Truth: reproducibility; the generator and the fit use no global state.
    a = fit_powerlaw(synthetic_dataset(seed=8))
    b = fit_powerlaw(synthetic_dataset(seed=8))
    xr.testing.assert_identical(a, b)
    assert not synthetic_dataset(seed=8)["loss"].equals(synthetic_dataset(seed=9)["loss"])


def test_result_survives_netcdf_and_has_cf_attrs(tmp_path):
    fit = PowerLawAnalyzer().run(synthetic_dataset(p_train=(0.0,), seed=10), window=(200, None))
    for name in fit.variables:
        assert {"long_name", "units"} <= set(fit[name].attrs), name
    write_netcdf(fit, tmp_path / "fit.nc")
    xr.testing.assert_identical(read_netcdf(tmp_path / "fit.nc"), fit)


@pytest.mark.parametrize("mutate, options, error, fragment", [
    (lambda ds: ds.drop_vars("loss"), {}, DataError, "no variable 'loss'"),
    (lambda ds: ds, {"size_dim": "width"}, DataError, "no dimension 'width'"),
    (lambda ds: ds.isel(N=[0]), {}, DataError, "1 size(s)"),
    (lambda ds: ds, {"window": (5000, 9000)}, DataError, "at least 3"),
    (lambda ds: ds.assign(loss=ds.loss * np.nan), {}, DataError, "fewer than 3 finite"),
    (lambda ds: ds.assign(loss=-ds.loss), {}, DataError, "values <= 0"),
    (lambda ds: ds.assign(loss_std=-ds.loss_std), {}, DataError, "negative"),
    (lambda ds: ds, {"window": (9000, 100)}, ConfigError, "min < max"),
    (lambda ds: ds, {"method": "magic"}, ConfigError, "'magic'"),
    (lambda ds: ds, {"stderr_scale": "big"}, ConfigError, "'big'"),
    (lambda ds: ds, {"rel_err_floor": -1.0}, ConfigError, "rel_err_floor"),
    (lambda ds: ds, {"windw": (1, 2)}, ConfigError, "unknown option 'windw'"),
])
def test_bad_input_is_one_line_error(mutate, options, error, fragment):
    ds = synthetic_dataset(p_train=(0.0,), p_eval=(0.5,), seed=11)
    with pytest.raises(error) as info:
        PowerLawAnalyzer().run(mutate(ds), **options)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_cli_powerlaw_json_and_output(tmp_path, capsys):
    write_netcdf(synthetic_dataset(p_train=(0.0, 0.3), seed=12), tmp_path / "in.nc")
    status = main(["analyze", "powerlaw", str(tmp_path / "in.nc"), "--select", "p_train=0.3",
                   "--window", "200:", "-o", str(tmp_path / "out.nc"), "--json"])
    assert status == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(summary["results"]) == 10 and summary["output"] == str(tmp_path / "out.nc")
    out = read_netcdf(tmp_path / "out.nc")
    assert out.attrs["window_min"] == 256 and "p_train" not in out.dims
    assert [r["alpha"] for r in summary["results"]] == pytest.approx(out["alpha"].values.tolist())


def test_cli_window_scan(tmp_path, capsys):
    write_netcdf(synthetic_dataset(p_train=(0.0,), p_eval=(0.0,), seed=13), tmp_path / "in.nc")
    assert main(["analyze", "powerlaw", str(tmp_path / "in.nc"), "--scan", "sliding",
                 "--scan-points", "5", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["window_min"] for r in summary["results"]] == SIZES[:6].tolist()


@pytest.mark.parametrize("args, fragment", [
    (["--var", "energy"], "no variable 'energy'"),
    (["--size", "depth"], "no dimension 'depth'"),
    (["--window", "abc"], "--window 'abc'"),
    (["--window", "100:20000", "--select", "N=128"], "no dimension 'N'"),
    (["--select", "p_train=0.7"], "p_train has no value 0.7"),
    (["--select", "width"], "DIM=VALUE"),
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys, args, fragment):
    write_netcdf(synthetic_dataset(p_train=(0.0,), p_eval=(0.5,), seed=14), tmp_path / "in.nc")
    status = main(["analyze", "powerlaw", str(tmp_path / "in.nc"), *args])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert fragment in err, err


def test_cli_single_size_and_negative_errors(tmp_path, capsys):
    ds = synthetic_dataset(p_train=(0.0,), p_eval=(0.5,), seed=15)
    write_netcdf(ds.isel(N=[2]), tmp_path / "one.nc")
    write_netcdf(ds.isel(seed=[0]).assign(loss_std=-ds.loss_std.isel(seed=[0])), tmp_path / "neg.nc")
    for name, fragment in (("one.nc", "1 size(s) (512"), ("neg.nc", "'loss_std' has negative")):
        assert main(["analyze", "powerlaw", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and fragment in err, err
