"""Scaling forms by hand, and how the FSS front end treats bad and awkward input."""

import re
import warnings

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis.fss import BKT, SecondOrder, collapse_dataset, fit_fss, prepare_data
from statmech_nn.analysis.fss.api import _variant_priors
from statmech_nn.analysis.fss.model import CollapseModel
from statmech_nn.errors import ConfigError, DataError, PluginError
from statmech_nn.plugins import get_registry

FIT = dict(size_dim="L", control_dim="p", n_tau=10, max_steps=500, n_walkers=16)


def test_forms_by_hand():
    # truth: the formulas of the forms' docstrings evaluated by hand at p = 0.7, L = 16
    theta = {"p_c": np.array([[0.5]]), "nu": np.array([[2.0]])}
    size = np.array([8.0, 16.0])
    assert SecondOrder().scaling_variable(np.array([0.7]), np.array([16.0]), theta)[0, 0] == pytest.approx(0.2 * 4.0)
    # correction factor r = (L_min / L)^1: 1 at L = 8, 1/2 at L = 16; no size factor without a
    assert SecondOrder().params == ("p_c", "nu") and SecondOrder().log_size_factor(size, theta).max() == 0
    np.testing.assert_allclose(SecondOrder().correction_factor(size, theta)[0], [1.0, 0.5])
    assert SecondOrder(corrections=True).corrected and not SecondOrder().corrected
    assert [v.corrected for v in BKT().variants()] == [False, True]
    theta = {"p_c": np.array([[0.5], [0.5]]), "sigma": np.array([[0.5], [0.5]]), "L0": np.array([[2.0], [2.0]]),
             "kappa": np.array([[0.0], [1.0]])}
    # disordered side (p > p_c): ln(L/L0)^(1/sigma) of each size; critical phase (p < p_c): with
    # kappa = 0 the smallest size's factor for every size (the curves merge), with kappa = 1 each
    # size's own factor (symmetric scaling)
    x = BKT().scaling_variable(np.array([0.7, 0.7, 0.4, 0.4]), np.array([8.0, 16.0, 8.0, 16.0]), theta)
    np.testing.assert_allclose(x[0], [0.2 * np.log(4.0) ** 2, 0.2 * np.log(8.0) ** 2, -0.1 * np.log(4.0) ** 2,
                                      -0.1 * np.log(4.0) ** 2])
    np.testing.assert_allclose(x[1], [0.2 * np.log(4.0) ** 2, 0.2 * np.log(8.0) ** 2, -0.1 * np.log(4.0) ** 2,
                                      -0.1 * np.log(8.0) ** 2])
    theta = {k: v[:1] for k, v in theta.items()}
    # log correction r = ln(L_min/L0) / ln(L/L0): ln 4 / ln 4 = 1 at L = 8, ln 4 / ln 8 = 2/3 at L = 16
    np.testing.assert_allclose(BKT().correction_factor(size, theta)[0], [1.0, 2.0 / 3.0])
    # L0 must lie below the smallest size for ln(L/L0) > 0
    theta = {"p_c": np.array([[0.5]] * 2), "sigma": np.array([[0.5]] * 2), "L0": np.array([[2.0], [20.0]])}
    assert BKT().valid(size, theta).tolist() == [True, False]


def test_builtin_forms_come_from_the_registry():
    # truth: the built-ins are registered through the hook under their documented names
    registry = get_registry()
    assert registry.scaling_form("second_order") is SecondOrder
    assert registry.scaling_form("bkt") is BKT
    with pytest.raises(PluginError, match="unknown scaling form 'ising'"):
        registry.scaling_form("ising")


def _grid():
    return collapse_dataset("second_order", sizes=(8, 16, 32), n_control=8, seed=0)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(var="nope", err="y_err"), DataError, "no variable 'nope'"),
    (dict(var="y", err="nope"), DataError, "no error variable 'nope'"),
    (dict(var="y"), ConfigError, "no error given"),
    (dict(var="y", err="y_err", average="L"), ConfigError, "not both"),
    (dict(var="y", err="y_err", select={"T": 1}), DataError, "no dimension 'T'"),
])
def test_bad_names_are_one_line_errors(kwargs, error, match):
    # truth: each bad name is reported with what exists instead, in one line
    with pytest.raises(error, match=match) as info:
        prepare_data(_grid(), **kwargs, size_dim="L", control_dim="p")
    assert "\n" not in str(info.value)


def test_missing_size_dim_single_size_negative_error():
    ds = _grid()
    with pytest.raises(DataError, match="no size dimension or coordinate 'N'"):
        prepare_data(ds, "y", err="y_err", size_dim="N", control_dim="p")
    # one size only: no collapse is possible
    with pytest.raises(DataError, match="at 1 size"):
        prepare_data(ds.sel(L=[8.0]), "y", err="y_err", size_dim="L", control_dim="p")
    bad = ds.copy(deep=True)
    i, j = np.argwhere(np.isfinite(bad["y_err"].values))[3]
    bad["y_err"][i, j] = -0.1
    with pytest.raises(DataError, match="negative error -0.1"):
        prepare_data(bad, "y", err="y_err", size_dim="L", control_dim="p")


def test_extra_dimension_must_be_selected_or_averaged():
    # truth: a seed dimension left open is an error that names the fix; averaging over it gives
    # mean and std/sqrt(n) (checked against numpy at one point)
    ds = collapse_dataset("second_order", sizes=(8, 16), n_control=5, window="fixed", seed=0)
    stacked = xr.concat([ds, ds + 0.01, ds - 0.02], dim="seed").assign_coords(seed=[0, 1, 2])
    with pytest.raises(DataError, match="extra dimension"):
        prepare_data(stacked, "y", err="y_err", size_dim="L", control_dim="p")
    data = prepare_data(stacked, "y", average="seed", size_dim="L", control_dim="p")
    values = stacked.y.isel(p=0, L=0).values
    obs = data.observables[0]
    first = (obs.control == stacked.p.values[0]) & (obs.size == 8)
    assert obs.y[first][0] == pytest.approx(values.mean())
    assert obs.err[first][0] == pytest.approx(values.std(ddof=1) / np.sqrt(3))
    one = prepare_data(stacked, "y", err="y_err", select={"seed": "1"}, size_dim="L", control_dim="p")
    assert one.observables[0].y[first][0] == pytest.approx(values[1])


def test_averaged_errors_may_be_moderated():
    """Truth: average_errors='moderated' gives the same means and, as errors, moderated_errors of
    the stacked values at every point; it needs size and control as dims (one line otherwise), and
    an unknown choice is one line naming the accepted ones."""
    from statmech_nn.analysis.moderated_variance import moderated_errors

    ds = collapse_dataset("second_order", sizes=(8, 16, 32), n_control=6, window="fixed", seed=0)
    rng = np.random.default_rng(1)
    stacked = xr.concat([ds + 0.01 * rng.standard_normal(ds["y"].shape) for _ in range(3)], dim="seed")
    data = prepare_data(stacked, "y", average="seed", average_errors="moderated", size_dim="L", control_dim="p")
    expected, _ = moderated_errors(stacked["y"], replica_dim="seed", size_dim="L", control_dim="p")
    obs = data.observables[0]
    for c, s, y, e in zip(obs.control, obs.size, obs.y, obs.err):
        assert e == pytest.approx(float(expected.sel(L=s, p=c)))
        assert y == pytest.approx(float(stacked["y"].sel(L=s, p=c).mean()))
    points = stacked.stack(point=("p", "L")).reset_index("point")
    with pytest.raises(DataError, match="average_errors='moderated' needs 'L' and 'p' as dimensions of 'y'"):
        prepare_data(points, "y", average="seed", average_errors="moderated", size_dim="L", control_dim="p")
    with pytest.raises(ConfigError, match="average_errors = 'pooled': expected one of per_point, moderated"):
        prepare_data(stacked, "y", average="seed", average_errors="pooled", size_dim="L", control_dim="p")


def test_nan_points_and_zero_errors():
    # truth: NaN cells of a partial grid are skipped silently; a finite y with a NaN error is
    # excluded with a warning; zero errors (a measured probability of exactly 0 or 1) are raised to
    # the binomial floor sqrt((y(1-y) + 1/n)/n) = sqrt(1/n^2) = 1/n at y = 0 or 1.
    ds = collapse_dataset("second_order", sizes=(8, 16), n_control=6, window="fixed", seed=0)
    n_cells = int(ds.y.notnull().sum())
    ds["y_err"][0, 0] = np.nan
    ds["y"][1, 0], ds["y_err"][1, 0] = 0.0, 0.0
    ds["y"][5, 1], ds["y_err"][5, 1] = 1.0, 0.0
    with pytest.warns(RuntimeWarning) as record:
        data = prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p", n_samples=100)
    messages = " ".join(str(w.message) for w in record)
    assert "1 point(s) with a non-finite value or error excluded" in messages
    assert "error floor applied" in messages
    obs = data.observables[0]
    assert len(obs.y) == n_cells - 1
    np.testing.assert_allclose(obs.err[(obs.y == 0.0) | (obs.y == 1.0)], 1 / 100)


def test_unknown_prior_and_priors_that_exclude_the_data():
    ds = _grid()
    with pytest.raises(ConfigError, match="prior for unknown parameter 'sigma'"):
        fit_fss(ds, "y", err="y_err", form="second_order", priors={"sigma": (0.1, 1)}, **FIT)
    with pytest.raises(ConfigError, match="prior p_c = .* excludes the data"):
        fit_fss(ds, "y", err="y_err", form="second_order", priors={"p_c": (2.0, 3.0)}, **FIT)
    # a box in which no point gives overlapping scaled curves: p_c far below every measured p
    # with tiny nu spreads the sizes apart (the overlap constraint rejects every point)
    with pytest.raises(ConfigError, match="priors exclude the data"):
        fit_fss(ds, "y", err="y_err", form="second_order", priors={"p_c": (0.1, 0.13), "nu": (0.25, 0.3)},
                min_overlap=0.9, **FIT)


def test_a_form_without_a_prior_box_for_a_parameter_is_one_clear_error():
    """Truth: a plugin form whose default_priors leaves out one of its params (nu here) cannot be
    sampled; the fit says which parameter lacks a box and how to give one (it was a KeyError),
    and a box passed in priors makes it fittable."""
    class NoNuBox(SecondOrder):
        name = "no_nu_box"

        def default_priors(self, control, size):
            return {"p_c": (float(np.min(control)), float(np.max(control)))}

    ds = _grid()
    with pytest.raises(ConfigError, match=r"'no_nu_box' gives no prior box for nu: .*priors=\{name"):
        fit_fss(ds, "y", err="y_err", form=NoNuBox(), **FIT)
    assert CollapseModel(NoNuBox(), prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p"),
                         priors={"nu": (0.5, 3.0)}).priors["nu"] == (0.5, 3.0)


def test_bkt_default_prior_keeps_l0_below_the_smallest_size():
    # truth: ln(L/L0) > 0 for every size needs L0 < min L; the default box ends at 0.95 min L
    data = prepare_data(_grid(), "y", err="y_err", size_dim="L", control_dim="p")
    model = CollapseModel(BKT(), data)
    assert model.priors["L0"][1] < 8.0
    inside = {"p_c": 0.5, "sigma": 0.5, "L0": 1.0, "kappa": 0.5, "amp": 1.0, "length": 1.0, "err_scale": 1.0,
              "amp_corr": 0.1}
    assert np.isfinite(model.log_prob(model.to_vector(inside)[None]))[0]
    assert np.isneginf(model.log_prob(model.to_vector({**inside, "L0": 9.0})[None]))[0]


def test_analyzer_is_registered_and_checks_option_names():
    # truth: the analyzer named "fss" wraps fit_fss; an unknown option names the accepted ones
    analyzer = get_registry().analyzer("fss")()
    with pytest.raises(ConfigError, match="unknown option 'walkers' for analyzer 'fss'"):
        analyzer.run(_grid(), var="y", err="y_err", size_dim="L", control_dim="p", walkers=8)


def test_form_names_resolve_only_among_built_ins():
    # truth: the numerics accept a form object or a built-in name (BUILTIN_FORMS); a plugin's name
    # is an error naming the built-ins -- the caller resolves it through the registry once
    from statmech_nn.analysis.fss.forms import BUILTIN_FORMS, as_form

    assert isinstance(as_form("bkt"), BKT) and isinstance(as_form(SecondOrder), SecondOrder)
    form = BKT()
    assert as_form(form) is form
    assert set(BUILTIN_FORMS) == {"second_order", "bkt"}
    with pytest.raises(ConfigError, match="unknown scaling form 'corrected'.*second_order, bkt"):
        as_form("corrected")
    with pytest.raises(ConfigError, match="expected a ScalingForm"):
        as_form(3)


def test_ctrl_c_inside_the_likelihood_leaves_no_emcee_traceback(capsys):
    # truth: emcee prints "Exception while calling your likelihood function" and a traceback for
    # anything the likelihood raises; a Ctrl-C there must reach the caller as KeyboardInterrupt
    # (the CLI turns it into its one line) with nothing printed on the way
    from statmech_nn.analysis.fss.sampler import SamplerSettings, sample_posterior

    model = CollapseModel(SecondOrder(), prepare_data(_grid(), "y", err="y_err", size_dim="L", control_dim="p"))
    calls, log_prob = [0], model.log_prob

    def interrupted_after_a_few_steps(thetas):
        calls[0] += 1
        if calls[0] == 400:                 # past the MAP search, inside the emcee steps
            raise KeyboardInterrupt
        return log_prob(thetas)

    model.log_prob = interrupted_after_a_few_steps
    with pytest.raises(KeyboardInterrupt):
        sample_posterior(model, SamplerSettings(n_walkers=16, max_steps=5000, seed=1))
    captured = capsys.readouterr()
    assert calls[0] >= 400 and "emcee" not in captured.out + captured.err and "Traceback" not in captured.err


def test_walkers_that_never_move_end_the_run_unconverged_with_a_warning_not_a_crash():
    # Truth: emcee proposes moves for a half (differential-evolution moves) or a quarter (snooker
    # moves) of the walkers at a time; a log-probability of -inf for every such proposal refuses
    # every move, so each walker's chain stays at its start. A constant chain has autocorrelation
    # 0/0, so emcee's integrated time is NaN: the run must go on to max_steps, say (once, without
    # numpy's 0/0 noise) that it did not converge and which walkers stood still, and keep its
    # draws unthinned -- it once crashed on int(NaN) (one stuck walker suffices), losing a
    # study's comparison after its sweep had finished.
    from statmech_nn.analysis.fss.sampler import SamplerSettings, sample_posterior

    model = CollapseModel(SecondOrder(), prepare_data(_grid(), "y", err="y_err", size_dim="L", control_dim="p"))
    settings, log_prob = SamplerSettings(n_walkers=16, max_steps=1000, seed=1), model.log_prob

    def refuse_every_move(thetas):
        lp = log_prob(thetas)
        return np.full(len(thetas), -np.inf) if len(thetas) < settings.n_walkers else lp

    model.log_prob = refuse_every_move        # the MAP search and the starting ball ask more rows
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sample_posterior(model, settings)
    (warning,) = caught
    assert re.search(r"no autocorrelation time: walker\(s\) 0, 1, 2, .*, 15 of 16 accepted", str(warning.message))
    assert not result.converged and result.thin == 1 and result.n_steps == 1000
    assert np.isnan(result.tau).all() and result.acceptance.max() == 0


def test_each_variant_gets_the_priors_it_accepts():
    # Truth: the models' own check -- a prior on the correction's amplitude is an unknown
    # parameter for a plain form (ConfigError) and a known one for its corrected variant, so a
    # comparison hands it to the corrected variant only and every other prior to both.
    data = prepare_data(collapse_dataset("bkt", n_control=6, sizes=(8, 16, 32)), "y", err="y_err",
                        size_dim="L", control_dim="p")
    priors = {"amp_corr": (0.1, 1.0), "sigma": (0.3, 1.0)}
    plain, corrected = BKT().variants()
    with pytest.raises(ConfigError, match="prior for unknown parameter 'amp_corr'"):
        CollapseModel(plain, data, priors=priors)
    assert _variant_priors(priors, plain) == {"sigma": (0.3, 1.0)}
    assert _variant_priors(priors, corrected) == priors
    assert CollapseModel(plain, data, priors=_variant_priors(priors, plain)).priors["sigma"] == (0.3, 1.0)
    assert CollapseModel(corrected, data, priors=_variant_priors(priors, corrected)).priors["amp_corr"] == (0.1, 1.0)


def test_the_bkt_form_warns_about_its_p_c_interval_outside_its_calibrated_kappa():
    # Truth: docs/fss.md's calibration -- the p_c interval is calibrated for kappa in [0.95, 1]
    # (the SBC) and too narrow at kappa = 0.2 and over kappa in [0, 1]; the caveat names kappa.
    (message,) = BKT().caveats({"p_c": 0.5, "sigma": 0.5, "L0": 1.0, "kappa": 0.2})
    assert message.startswith("bkt: kappa = 0.20 < 0.95: with the curves merging on the critical side")
    assert BKT().caveats({"p_c": 0.5, "sigma": 0.5, "L0": 1.0, "kappa": 0.97}) == []
    assert SecondOrder().caveats({"p_c": 0.5, "nu": 1.0}) == []


def test_priors_that_cut_a_posterior_are_named_and_a_forms_own_bounds_are_not():
    # Truth, by construction: draws of nu uniform on [5.0, 6.0] against the default box
    # [0.25, 6] have their 97.5th percentile at 5.975, within 1 % of the box width (0.0575) of
    # the bound: the prior ends the interval (the reference study's nu = 5.8 [5.6, 6.0] gave no
    # warning while only a median at a bound did). Draws of nu on [1.0, 1.5] warn about nothing.
    # BKT's kappa piled at 1 and L0 up against 0.95 min L are the form's own limits (the
    # symmetric form; L0 < min L), not truncations; sigma up against its arbitrary 3 is one.
    from statmech_nn.analysis.fss.posterior import _bound_warnings

    rng = np.random.default_rng(0)
    data = prepare_data(_grid(), "y", err="y_err", size_dim="L", control_dim="p")

    def draws(model, **uniform):
        centre = {n: np.mean(model.priors[n]) for n in model.names if n not in model.log_names}
        centre.update({n: np.sqrt(np.prod(model.priors[n])) for n in model.log_names})
        flat = np.repeat(model.to_vector(centre)[None], 4000, axis=0)
        for name, (lo, hi) in uniform.items():
            values = rng.uniform(lo, hi, len(flat))
            flat[:, model.names.index(name)] = np.log(values) if name in model.log_names else values
        return flat

    second = CollapseModel(SecondOrder(), data)
    (cut,) = _bound_warnings(second, draws(second, nu=(5.0, 6.0)))
    assert "95 % interval of nu reaches its upper prior bound 6" in cut
    # the advice names the knob of each way to fit (it named Python's priors= only, which a
    # study user cannot set)
    assert cut.endswith("widen the prior: --prior nu=LO,HI, analysis.fss.priors {nu = [LO, HI]} in a study, "
                        "priors={'nu': (LO, HI)} in Python"), cut
    assert _bound_warnings(second, draws(second, nu=(1.0, 1.5))) == []
    bkt = CollapseModel(BKT(), data)
    lmin_edge = bkt.priors["L0"][1]
    assert _bound_warnings(bkt, draws(bkt, kappa=(0.9, 1.0), L0=(0.9 * lmin_edge, lmin_edge))) == []
    (sigma_cut,) = _bound_warnings(bkt, draws(bkt, sigma=(2.5, 3.0)))
    assert "95 % interval of sigma reaches its upper prior bound 3" in sigma_cut


def test_unreliable_held_out_scores_are_named_in_one_warning():
    # truth: of sizes 8, 16, 32 those with Pareto k above 0.7 (8 and 32 here; NaN counts as
    # unreliable) are listed in one message with their k, so a report does not repeat the same
    # sentence per size; one such size is named in the singular; none above the limit, no message
    from statmech_nn.analysis.fss.posterior import _pareto_warnings

    model = CollapseModel(SecondOrder(), prepare_data(_grid(), "y", err="y_err", size_dim="L", control_dim="p"))
    assert list(model.data.sizes) == [8.0, 16.0, 32.0]
    (message,) = _pareto_warnings(model, np.array([1.2, 0.3, np.nan]))
    assert "scores of L = 8, 32 are unreliable (Pareto k = 1.20, nan > 0.7)" in message
    (message,) = _pareto_warnings(model, np.array([0.2, 0.9, 0.5]))
    assert "score of L = 16 is unreliable (Pareto k = 0.90 > 0.7)" in message
    assert _pareto_warnings(model, np.array([0.1, 0.3, 0.7])) == []
