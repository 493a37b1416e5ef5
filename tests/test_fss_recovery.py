"""Known critical points and exponents recovered from synthetic collapse data (known truth).

Tolerances: a recovered value must lie within 3 posterior standard deviations (68 % half-widths)
of the truth -- a calibrated posterior misses that about 0.3 % of the time, so a failure means
bias, not bad luck. Chains are shorter than the default (n_tau = 30) to keep the suite fast.
"""

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis.fss import (CollapseModel, SecondOrder, collapse_dataset, compare_forms, fit_fss,
                                      prepare_data, summarize)
from statmech_nn.analysis.fss.forms import ScalingForm
from statmech_nn.analysis.fss.posterior import unreliable_sizes
from statmech_nn.hookspecs import hookimpl
from statmech_nn.plugins import PluginRegistry

FAST = dict(size_dim="L", control_dim="p", n_tau=30, n_walkers=24)


def _within(params, truth, n_sigma=3.0):
    for name, value in truth.items():
        row = params[name]
        half = 0.5 * (row["hi"] - row["lo"])
        assert abs(row["median"] - value) < n_sigma * half, (name, value, row)


@pytest.fixture(scope="module")
def second_order_data():
    # y-exponent a = 0.4, jittered control values: no two sizes share a control value
    return collapse_dataset("second_order", {"p_c": 0.55, "nu": 1.3}, sizes=(8, 16, 32, 64), n_control=12,
                            a=0.4, window="fixed", control_range=(0.4, 0.7), jitter=1.0, seed=11)


def test_second_order_recovered_from_any_start(second_order_data):
    # truth: p_c = 0.55, nu = 1.3, a = 0.4. Starts: none (global search), far away, and exactly a
    # measured control value (where a local collapse-quality optimiser stays stuck). The answers must
    # agree to within 0.5 posterior sd: only Monte-Carlo noise (~0.1 sd here) may separate them.
    grid_point = float(second_order_data.p.values[3])
    starts = [None, {"p_c": 0.69, "nu": 4.0, "a": -2.0}, {"p_c": grid_point, "nu": 0.5, "a": 1.0}]
    summaries = [summarize(fit_fss(second_order_data, "y", err="y_err", form="second_order", fit_a=True,
                                   start=start, **FAST)) for start in starts]
    for s in summaries:
        _within(s["params"], {"p_c": 0.55, "nu": 1.3, "a": 0.4})
        assert s["convergence"]["n_tau"] >= 30 and s["convergence"]["converged"]
        assert 0.15 < s["convergence"]["acceptance"] < 0.7
    for name in ("p_c", "nu", "a"):
        medians = [s["params"][name]["median"] for s in summaries]
        half = 0.5 * (summaries[0]["params"][name]["hi"] - summaries[0]["params"][name]["lo"])
        assert max(medians) - min(medians) < 0.5 * half, (name, medians)


def test_bkt_recovered_and_sigma_l0_correlation_shown():
    # truth: p_c = 0.5, sigma = 0.6, L0 = 1.5 on a jittered, non-rectangular grid. sigma and L0 trade
    # off (a smaller L0 needs a smaller sigma for the same spread of ln(L/L0)^(1/sigma)): the
    # reported posterior correlation must show it (> 0.5; it is ~0.9 here).
    ds = collapse_dataset("bkt", {"p_c": 0.5, "sigma": 0.6, "L0": 1.5}, sizes=(8, 16, 32, 64, 128), n_control=12,
                          jitter=1.0, seed=5)
    s = summarize(fit_fss(ds, "y", err="y_err", form="bkt", **FAST))
    _within(s["params"], {"p_c": 0.5, "sigma": 0.6, "L0": 1.5})
    names = s["correlation"]["names"]
    corr = np.array(s["correlation"]["matrix"])
    assert corr[names.index("sigma"), names.index("L0")] > 0.5


@pytest.mark.parametrize("truth, params", [("second_order", {"p_c": 0.5, "nu": 1.0}),
                                           ("bkt", {"p_c": 0.5, "sigma": 0.5, "L0": 1.0})])
@pytest.mark.parametrize("variants", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["plain", "with_corrected_variants"])
def test_comparison_prefers_the_true_form(truth, params, variants):
    # truth: the generating form (data without corrections to scaling). Plain forms: the
    # leave-one-size-out score must prefer it by more than 2 standard errors of the difference
    # (measured: 48 +- 9 nats for second-order data, 47 +- 13 for BKT data). The default comparison
    # also fits each form with its correction function and keeps the better variant; second order
    # with a 1/L correction then mimics this symmetric BKT crossover over sizes 8-128 (measured:
    # BKT still preferred, by 7.0 +- 9.1 nats, under 1 se -- the price of a fair correction, stated
    # in docs/fss.md): the verdict must be right, its margin need not be large.
    ds = collapse_dataset(truth, params, sizes=(8, 16, 32, 64, 128), n_control=12, jitter=1.0, seed=21)
    comparison = compare_forms(ds, "y", err="y_err", forms=("second_order", "bkt"), variants=variants, processes=0,
                               **FAST)
    assert comparison.preferred == truth
    needed = 0.0 if variants and truth == "bkt" else 2 * comparison.delta_se
    assert comparison.delta > needed and comparison.delta_se > 0
    summary = comparison.summary()
    assert set(summary["forms"]) == {"second_order", "bkt"}
    assert all(len(scores) == (2 if variants else 1) for scores in summary["variants"].values())


@pytest.mark.slow
def test_joint_fit_shares_pc_and_nu():
    # truth: two observables with the same p_c = 0.5, nu = 1 but different scaling functions and
    # y-exponents (a = 0 and a = 0.5). The joint fit has one p_c/nu and a per-observable a.
    one = collapse_dataset("second_order", sizes=(8, 16, 32, 64), n_control=10, seed=31, window="fixed",
                           control_range=(0.4, 0.6))
    two = collapse_dataset("second_order", sizes=(8, 16, 32, 64), n_control=10, seed=32, window="fixed",
                           control_range=(0.4, 0.6), a=0.5, scaling_function=lambda x: np.exp(-x ** 2) + 0.2 * x)
    ds = one.assign(z=two.y, z_err=two.y_err)
    post = fit_fss(ds, ["y", "z"], err=["y_err", "z_err"], form="second_order", fit_a=True, **FAST)
    s = summarize(post)
    assert {"p_c", "nu", "a_y", "a_z"} <= set(s["params"]) and {"amp_y", "amp_z"} <= set(s["hyperparams"])
    _within(s["params"], {"p_c": 0.5, "nu": 1.0, "a_y": 0.0, "a_z": 0.5})


class CorrectedSecondOrder(ScalingForm):
    """Test-only third-party form: y = L^-a f((p - p_c) L^(1/nu)) (1 + c / L), a correction to scaling."""

    name = "corrected"
    params = ("p_c", "nu", "c")
    x_label = r"$(p - p_c) L^{1/\nu}$"

    def default_priors(self, control, size):
        return {**super().default_priors(control, size), "nu": (0.3, 4.0), "c": (-4.0, 10.0)}

    def scaling_variable(self, control, size, theta):
        return (control - theta["p_c"]) * size ** (1.0 / theta["nu"])

    def log_size_factor(self, size, theta):
        return super().log_size_factor(size, theta) - np.log1p(theta["c"] / size)

    def valid(self, size, theta):
        return np.all(1.0 + theta["c"] / np.min(size) > 0, axis=-1)


class CorrectedPlugin:
    @hookimpl
    def register_scaling_forms(self):
        return [CorrectedSecondOrder]


def test_third_party_form_registered_through_the_hook():
    # truth: p_c = 0.5, nu = 1, c = 4 (a 50 % correction at L = 8). The form is found by name in a
    # registry it was added to at run time, exactly as an installed plugin would be.
    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(CorrectedPlugin(), "corrected_plugin")
    truth = {"p_c": 0.5, "nu": 1.0, "c": 4.0}
    form = registry.scaling_form("corrected")          # the name becomes an object at the edge
    ds = collapse_dataset(form, truth, sizes=(8, 16, 32, 64), n_control=12, jitter=1.0, seed=41)
    s = summarize(fit_fss(ds, "y", err="y_err", form=form, **FAST))
    assert s["form"] == "corrected"
    _within(s["params"], truth)


def test_never_returns_curves_that_do_not_overlap():
    # truth: three sizes measured on disjoint control windows with unrelated curves -- there is no
    # collapse. A quality measure that only compares overlapping points rewards pulling the curves
    # apart; here every kept draw must still have scaled curves overlapping by >= min_overlap, and
    # a warning says that the constraint, not a collapse, holds the answer. The draws are capped
    # at 1000 steps (tau ~ 110 here: converging takes 3500): the constraint is the prior's, so
    # every draw must meet it whether or not the chains have converged.
    ds = collapse_dataset("second_order", sizes=(8, 16, 32), n_control=8, window="fixed",
                          control_range=(0.1, 0.3), seed=51, layout="points")
    shift = np.select([ds.L == 16, ds.L == 32], [0.3, 0.6], 0.0)
    ds = ds.assign_coords(p=ds.p + shift)
    ds["y"] = ds.y + np.select([ds.L == 16, ds.L == 32], [0.5, -0.3], 0.0)
    with pytest.warns(RuntimeWarning, match="barely overlap"):
        post = fit_fss(ds, "y", err="y_err", form="second_order", min_overlap=0.25,
                       **{**FAST, "n_tau": 20, "max_steps": 1000})
    model = CollapseModel(SecondOrder(), prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p"))
    draws = np.column_stack([post[n].values.ravel() for n in model.names])
    vectors = np.column_stack([np.log(draws[:, i]) if n in model.log_names else draws[:, i]
                               for i, n in enumerate(model.names)])
    assert model.overlap(vectors).min() >= 0.25
    assert summarize(post)["overlap"] >= 0.25


def test_probabilities_of_exactly_zero_and_one_with_zero_error():
    # truth: p_c = 0.5, nu = 1. Wide windows make the measured probability exactly 0 or 1 with
    # zero error at the ends (as from finite samples); the binomial floor (n = 1000) must let the fit
    # run and still recover the truth within 3 posterior sd -- no division by zero, no bias.
    ds = collapse_dataset("second_order", sizes=(8, 16, 32, 64), n_control=12, x_range=(-9.0, 9.0),
                          noise=0.005, jitter=1.0, seed=61)
    saturated = (ds.y < 0.002) | (ds.y > 0.998)
    ds["y"] = xr.where(saturated, (ds.y > 0.5).astype(float), ds.y)
    ds["y_err"] = xr.where(saturated, 0.0, ds.y_err)
    assert int(saturated.sum()) >= 8
    with pytest.warns(RuntimeWarning, match="error floor applied"):
        s = summarize(fit_fss(ds, "y", err="y_err", form="second_order", n_samples=1000, **FAST))
    _within(s["params"], {"p_c": 0.5, "nu": 1.0})


def test_exact_refit_agrees_with_psis_where_psis_is_reliable():
    # truth: for a size whose Pareto k is small, PSIS over the full posterior and an exact refit
    # without the size estimate the same number, ln p(y_k | y_-k); both are Monte Carlo averages
    # over a few hundred nearly independent draws (error ~0.1-0.3 nats), so 1 nat. And for a size
    # that does not collapse with the others (L = 64 shifted by 5 %), the exact score must lie far
    # below the in-sample average ln mean_s p(y_k | y_-k, theta_s) over the full posterior, which
    # has seen that size (measured: tens of nats; 5 asked).
    from statmech_nn.analysis.fss.compare import held_out_loglik, loso_elpd, refit_elpd
    from statmech_nn.analysis.fss.sampler import SamplerSettings, sample_posterior

    ds = collapse_dataset("second_order", {"p_c": 0.5, "nu": 1.0}, sizes=(8, 16, 32, 64), n_control=10, jitter=1.0,
                          seed=8)
    model = CollapseModel(SecondOrder(), prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p"))
    settings = SamplerSettings(n_walkers=16, n_tau=20, seed=0)
    draws = sample_posterior(model, settings).chain.reshape(-1, model.ndim)
    elpd, pareto_k = loso_elpd(held_out_loglik(model, draws))
    k = int(np.argmin(pareto_k))
    assert pareto_k[k] < 0.5
    assert refit_elpd(model, float(model.data.sizes[k]), settings) == pytest.approx(elpd[k], abs=1.0)

    shifted = ds.copy(deep=True)
    shifted["y"].loc[{"L": 64}] *= 1.05
    model = CollapseModel(SecondOrder(), prepare_data(shifted, "y", err="y_err", size_dim="L", control_dim="p"))
    draws = sample_posterior(model, settings).chain.reshape(-1, model.ndim)
    in_sample = held_out_loglik(model, draws)[:, -1]
    in_sample = float(np.log(np.mean(np.exp(in_sample - in_sample.max()))) + in_sample.max())
    assert refit_elpd(model, 64.0, settings) < in_sample - 5.0


def test_unreliable_sizes_are_those_neither_importance_sampled_reliably_nor_refitted():
    # Truth by construction: size 16 has k > 0.7 but an exact refit, 32 has k > 0.7 and none,
    # 64 has a NaN k (no estimate at all) and none; 8 is fine. A file written before refits
    # existed (no elpd_refit) counts every k > 0.7 as unreliable.
    ds = xr.Dataset({"pareto_k": ("size", [0.3, 0.9, 1.2, np.nan]), "elpd_refit": ("size", [0, 1, 0, 0])},
                    coords={"size": [8.0, 16.0, 32.0, 64.0]})
    assert unreliable_sizes(ds) == [32.0, 64.0]
    assert unreliable_sizes(ds.drop_vars("elpd_refit")) == [16.0, 32.0, 64.0]


@pytest.mark.slow
def test_size_offsets_and_tilts_model_a_line_shared_by_every_point_of_a_size():
    # truth: second-order data (p_c = 0.5, nu = 1, 1 % errors) with every size's curve shifted by
    # its own delta_k ~ N(0, 0.05^2) and tilted by its own gamma_k ~ N(0, 0.05^2) from the middle
    # of its window to either end -- five times the point errors, as when all points of a size
    # come from the same samples or networks. Independent errors cannot describe that: the error
    # scale inflates (measured 4.7). One offset per size integrated out takes the shifts
    # (measured 2.0: the tilts are left), offsets and tilts together take both: the error scale
    # is back near 1 (measured 1.02), the truth stays inside 3 half-widths (measured: 0.1 for
    # p_c, 1.1 for nu), the leave-one-size-out score rises at each step (measured 77 -> 123 ->
    # 157 nats) and both scales, rms(delta) / std(y) and rms(gamma) / std(y) in the units of the
    # fit, lie in their 95 % intervals.
    ds = collapse_dataset("second_order", {"p_c": 0.5, "nu": 1.0}, sizes=(8, 16, 32, 64, 128), n_control=12,
                          jitter=1.0, seed=4)
    rng = np.random.default_rng(1)
    shift, tilt = (0.05 * rng.standard_normal(ds.sizes["L"]) for _ in range(2))
    window = ds["p"].where(np.isfinite(ds["y"]))
    unit = (2 * ds["p"] - window.min("p") - window.max("p")) / (window.max("p") - window.min("p"))
    ds["y"] = ds["y"] + xr.DataArray(shift, dims="L") + xr.DataArray(tilt, dims="L") * unit
    fits = {kind: fit_fss(ds, "y", err="y_err", form="second_order", size_offsets=kind != "plain",
                          size_tilts=kind == "both", **FAST) for kind in ("plain", "offsets", "both")}
    plain, offsets, both = (summarize(fits[k]) for k in ("plain", "offsets", "both"))
    assert plain["hyperparams"]["err_scale"]["median"] > 2.5
    assert offsets["hyperparams"]["err_scale"]["median"] > 1.5
    assert 0.7 < both["hyperparams"]["err_scale"]["median"] < 1.5
    _within(both["params"], {"p_c": 0.5, "nu": 1.0})
    assert both["score"] > offsets["score"] + 15 and offsets["score"] > plain["score"] + 20
    for name, truth in (("size_offset", shift), ("size_tilt", tilt)):
        scale = float(np.sqrt(np.mean(truth ** 2)) / ds["y"].std())
        row = fits["both"]["summary"].sel(param=name)
        assert float(row.sel(stat="lo95")) < scale < float(row.sel(stat="hi95")), (name, scale, row.values)


@pytest.mark.slow
def test_a_comparison_with_size_offsets_or_tilts_says_how_far_it_is_calibrated():
    # truth: on the percolation sweep of docs/percolation.md (second order) size offsets let the
    # corrected BKT form win by 35 +- 19 nats (measured, session 7), and with tilts too the
    # simulated BKT truth is found in 7 of 16 replicas (session 9): a comparison with either must
    # carry its own warning (the report shows them) and not the other's; without them neither
    from statmech_nn.analysis.fss.api import SIZE_OFFSETS_COMPARISON, SIZE_TILTS_COMPARISON

    ds = collapse_dataset("second_order", {"p_c": 0.5, "nu": 1.0}, sizes=(8, 16, 32), n_control=8, seed=2)
    quick = dict(size_dim="L", control_dim="p", n_tau=5, n_walkers=20, max_steps=500, variants=False)
    told = {options: set(compare_forms(ds, "y", err="y_err", **dict(options), **quick).warnings)
            for options in ((), (("size_offsets", True),), (("size_offsets", True), ("size_tilts", True)))}
    assert [(SIZE_OFFSETS_COMPARISON in w, SIZE_TILTS_COMPARISON in w) for w in told.values()] == [
        (False, False), (True, False), (False, True)]
