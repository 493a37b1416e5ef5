"""Calibration: simulation-based check that the posterior intervals mean what they say.

Each replica draws a truth (p_c ~ U(0.45, 0.55), the form's exponents from the ranges below and,
with a y-exponent, a ~ U(-0.5, 0.5)), simulates a small jittered data set (4 sizes x 10 control
values) with noise drawn from the stated errors, and fits it. A calibrated 68 % interval covers
the truth in 68 % of replicas; with 50 replicas the binomial standard deviation of the coverage
is 6.6 %, so the accepted band 55-80 % (the issue's) is about +-2 sd, and the 95 % intervals
must cover at least 85 % (3 sd below 95 %). Unbiased: the mean over replicas of (median - truth)
/ (68 % half-width) must lie within 3 standard errors of that mean from 0 (a bias like the
earlier sigma's, 5 standard errors, fails). Chains are short (n_tau = 20: at least 20
autocorrelation times kept) to keep each case near a minute or two on a quiet machine.
"""

import warnings

import numpy as np
import pytest

from statmech_nn.analysis.fss import collapse_dataset, fit_fss, summarize

N_REPLICAS = 50

#: form -> ranges of the truth drawn for each replica (p_c is always U(0.45, 0.55))
TRUTH_RANGES = {
    "second_order": {"nu": (0.8, 1.4)},
    "bkt": {"sigma": (0.4, 1.0), "L0": (0.5, 2.0)},
}


#: BKT without a y-exponent, measured in session 4 (uniform L0 prior): coverage within the band
#: (and 95 % >= 85 %), but L0 biased high by 3.15 standard errors of the mean bias (limit 3; sigma
#: 2.2, p_c 2.6). With a log-uniform L0 prior it was worse (sigma -4.4 se, L0 -3.7 se: the prior
#: volume at small L0 pulled both along their ridge). Open (docs/fss.md); not run by default (a
#: known failure would cost CI ~7 minutes and prove nothing new): measure it with
#: `pytest --runxfail tests/test_fss_sbc.py -k "bkt and no_a"`. With a y-exponent the BKT case
#: passes (measured: 68 % coverage p_c 0.60, sigma 0.70, L0 0.62, a 0.66; bias within 2.5 se).
BKT_NO_A_OPEN = pytest.mark.xfail(reason="BKT without a: L0 biased by 3.15 se (docs/fss.md); run with --runxfail "
                                         "to measure", run=False)


@pytest.mark.slow
@pytest.mark.parametrize("form, fit_a", [("second_order", False), ("second_order", True),
                                         pytest.param("bkt", False, marks=BKT_NO_A_OPEN), ("bkt", True)],
                         ids=["second_order-no_a", "second_order-with_a", "bkt-no_a", "bkt-with_a"])
def test_68_percent_intervals_cover_the_truth_68_percent_of_the_time(form, fit_a):
    truths = np.random.default_rng(12345)
    names = ["p_c", *TRUTH_RANGES[form]] + (["a"] if fit_a else [])
    hits68 = {name: [] for name in names}
    hits95 = {name: [] for name in names}
    z = {name: [] for name in names}
    for r in range(N_REPLICAS):
        truth = {"p_c": truths.uniform(0.45, 0.55),
                 **{k: truths.uniform(*bounds) for k, bounds in TRUTH_RANGES[form].items()}}
        a = truths.uniform(-0.5, 0.5) if fit_a else 0.0
        ds = collapse_dataset(form, truth, sizes=(8, 16, 32, 64), n_control=10, jitter=1.0,
                              noise=0.02, a=a, seed=r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = summarize(fit_fss(ds, "y", err="y_err", size_dim="L", control_dim="p", form=form, fit_a=fit_a,
                                  n_tau=20, n_walkers=24, seed=r))
        assert s["convergence"]["n_tau"] >= 20
        for name, value in {**truth, **({"a": a} if fit_a else {})}.items():
            row = s["params"][name]
            hits68[name].append(row["lo"] <= value <= row["hi"])
            hits95[name].append(row["lo95"] <= value <= row["hi95"])
            z[name].append((row["median"] - value) / (0.5 * (row["hi"] - row["lo"])))
    coverage68 = {k: float(np.mean(v)) for k, v in hits68.items()}
    coverage95 = {k: float(np.mean(v)) for k, v in hits95.items()}
    bias = {k: (float(np.mean(v)), float(np.std(v, ddof=1) / np.sqrt(len(v)))) for k, v in z.items()}
    assert all(0.55 <= c <= 0.80 for c in coverage68.values()), coverage68
    assert all(c >= 0.85 for c in coverage95.values()), coverage95
    assert all(abs(m) < 3 * se for m, se in bias.values()), bias
