"""error_shape: the replica-to-replica deviations of each size's curve split by Legendre degree.

Truths checked: deviations made of a known offset and tilt per replica carry exactly their
analytic energies (orthonormal projections: a wrong normalisation or a leak between degrees
fails at 1e-12); a quadratic deviation with no offset or tilt is all curvature; a curve common
to every replica cancels; independent equal-variance noise spreads evenly, 1/n per degree; a
size's missing points are left out of that size alone."""

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis import error_shape
from statmech_nn.analysis.fss.error_shape import error_model_hints
from statmech_nn.errors import ConfigError, DataError

P = np.linspace(0.2, 0.8, 7)                  # symmetric about its middle: t = -1, -2/3, ..., 1
T = 2 * (P - P.min()) / np.ptp(P) - 1
SIZES = [16, 32, 64]


def _data(deviations_of_size) -> xr.DataArray:
    """y[L, p, seed] = a curve shared by every replica (it must cancel) + deviations_of_size(k) (R, n)."""
    shared = np.sin(7 * P)[None, :] * 3.0
    values = np.stack([(shared + deviations_of_size(k)).T for k in range(len(SIZES))])
    return xr.DataArray(values, dims=("L", "p", "seed"), coords={"L": SIZES, "p": P})


def _shape(data):
    return error_shape(data, size_dim="L", control_dim="p", replica_dim="seed")


def test_offsets_and_tilts_carry_their_analytic_energies():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 0.3, (3, 5)), rng.normal(0, 0.1, (3, 5))     # per size k, replica r
    shape = _shape(_data(lambda k: a[k][:, None] + b[k][:, None] * T[None, :]))
    for k in range(3):
        offset = len(P) * ((a[k] - a[k].mean()) ** 2).sum()          # |q_0 sqrt(n)|^2 = n
        tilt = (T ** 2).sum() * ((b[k] - b[k].mean()) ** 2).sum()    # t is orthogonal to 1 on these points
        expected = np.array([offset, tilt, 0.0, 0.0]) / (offset + tilt)
        np.testing.assert_allclose(shape["energy_fraction"].isel(L=k).values, expected, atol=1e-12)
    assert shape["pooled_fraction"].sum() == pytest.approx(1.0, abs=1e-12)


def test_a_quadratic_without_offset_or_tilt_is_all_curvature():
    rng = np.random.default_rng(2)
    c = rng.normal(0, 0.2, (3, 4))
    quadratic = T ** 2 - (T ** 2).mean()                              # even, zero mean: orthogonal to 1 and t
    shape = _shape(_data(lambda k: c[k][:, None] * quadratic[None, :]))
    np.testing.assert_allclose(shape["pooled_fraction"].values, [0, 0, 1, 0], atol=1e-12)


def test_independent_noise_spreads_evenly_over_the_degrees():
    # 2001 replicas: each degree's energy is sigma^2 chi^2(2000), so a fraction 1/7 scatters by
    # (1/7) sqrt(2/2000) ~ 0.005 per size and less pooled; 0.015 is three of those per size
    rng = np.random.default_rng(3)
    shape = _shape(_data(lambda k: rng.normal(0, 0.05, (2001, len(P)))))
    np.testing.assert_allclose(shape["white_noise_fraction"].isel(L=0).values, [1 / 7, 1 / 7, 1 / 7, 4 / 7])
    np.testing.assert_allclose(shape["energy_fraction"].values, shape["white_noise_fraction"].values, atol=0.015)
    np.testing.assert_allclose(shape["rms_deviation"].values, 0.05, rtol=0.03)


def test_pooled_fractions_of_independent_errors_exceed_their_99th_percentile_once_in_a_hundred():
    """Truth: with independent errors of one variance, ``pooled_null_q99`` is the exact 99th
    percentile of each pooled fraction. 3000 simulated data sets (3 replicas, 3 sizes of 7
    points, as the other tests): each term is exceeded in a binomial 1 % of them, standard
    deviation 0.18 %, so 0.45-1.55 % is +-3 of those; a quantile of the wrong law (another
    number of degrees of freedom, or not pooled) is off by more."""
    rng = np.random.default_rng(5)
    exceeded = np.zeros(4)
    for _ in range(3000):
        shape = _shape(_data(lambda k: rng.normal(0, 1.0, (3, len(P)))))
        exceeded += shape["pooled_fraction"].values > shape["pooled_null_q99"].values
    np.testing.assert_allclose(exceeded / 3000, 0.01, atol=0.0055)


def test_hints_name_a_shared_term_the_error_model_lacks_and_only_that():
    rng = np.random.default_rng(4)
    offsets = rng.normal(0, 0.3, (3, 3))
    shared = _shape(_data(lambda k: offsets[k][:, None] + rng.normal(0, 0.01, (3, len(P)))))
    (hint,) = error_model_hints(shared, size_offsets=False, size_tilts=False)
    assert hint.startswith("the seed-to-seed deviations of each size's curve along p are 100 % offset")
    assert "an error model with size offsets (and tilts) describes it (size_offsets, size_tilts" in hint
    assert error_model_hints(shared, size_offsets=True, size_tilts=False) == []
    curved = _shape(_data(lambda k: np.outer(offsets[k], T ** 2 - (T ** 2).mean())))
    (hint,) = error_model_hints(curved, size_offsets=True, size_tilts=True)
    assert "100 % curvature" in hint and "no error model here has that term" in hint
    white = _shape(_data(lambda k: rng.normal(0, 0.05, (3, len(P)))))   # at most 1 % false alarms per term
    assert error_model_hints(white, size_offsets=False, size_tilts=False) == []


def test_missing_points_and_too_few_points_are_per_size():
    data = _data(lambda k: np.outer(np.arange(3.0) - 1, T))           # pure tilt over the whole window
    # size 32: 5 points left, a pure tilt over its own window (a tilt over the whole window would
    # be partly an offset on these points)
    data[1, :5, :] = np.sin(7 * P[:5])[:, None] + np.outer(np.linspace(-1, 1, 5), np.arange(3.0) - 1)
    data[1, 5:, :] = np.nan
    data[2, 2:, 0] = np.nan                                           # size 64: 2 points finite in every replica
    shape = _shape(data)
    assert shape["n_points"].values.tolist() == [7, 5, 2]
    np.testing.assert_allclose(shape["energy_fraction"].isel(L=1).values, [0, 1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(shape["white_noise_fraction"].isel(L=1).values, [0.2, 0.2, 0.2, 0.4])
    assert np.isnan(shape["energy_fraction"].isel(L=2).values).all()
    np.testing.assert_allclose(shape["pooled_fraction"].values, [0, 1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(shape["pooled_white_noise_fraction"].values, [2 / 12, 2 / 12, 2 / 12, 6 / 12])


def test_bad_input_names_the_bad_value():
    data = _data(lambda k: np.zeros((3, len(P))) + np.arange(3.0)[:, None])
    with pytest.raises(ConfigError, match="no dimension 'N' in the data; it has"):
        error_shape(data, size_dim="N", control_dim="p", replica_dim="seed")
    with pytest.raises(ConfigError, match=r"select the dimensions \['width'\] first"):
        _shape(data.expand_dims(width=[128, 256]))
    with pytest.raises(DataError, match="'seed' has 1 value; deviations need at least 2"):
        _shape(data.isel(seed=[0]))
    with pytest.raises(DataError, match="no size has 3 or more control points"):
        _shape(data.isel(p=[0, 1]))
