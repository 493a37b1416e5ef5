"""The collapse likelihood against brute-force linear algebra (exact answers, no sampling)."""

import numpy as np
import pytest

from statmech_nn.analysis.fss.basis import (CORRECTION_MODES, _fourier_sums, _harmonics, _prior_weighted_cholesky,
                                            basis_loglik, basis_size, box_half_width, restricted_basis_loglik)
from statmech_nn.analysis.fss.likelihood import SizeGroups, collapse_loglik, overlap_fraction, standardise


def _gauss_logpdf(z, cov):
    """ln N(z; 0, cov) by LU (scipy's eigh-based version calls cov + c^2 11' singular)."""
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    return -0.5 * (z @ np.linalg.solve(cov, z) + logdet + len(z) * np.log(2 * np.pi))


def _kernel(u, amp, length):
    return amp ** 2 * np.exp(-0.5 * ((u[:, None] - u[None, :]) / length) ** 2)


def _basis_kernel(u, amp, length, box=None, most=None):
    """The covariance of the reduced-rank process, built as n x n: Phi Lambda Phi' (see basis.py),
    on at most ``most`` basis functions."""
    box = box_half_width(u[None], np.array([length]))[0] if box is None else box
    m = int(basis_size(np.array([box]), np.array([length]))[0])
    m = m if most is None else min(m, most)
    j = np.arange(1, m + 1)
    phi = np.sin(np.pi * j[None, :] * (u[:, None] + box) / (2 * box)) / np.sqrt(box)
    lam = amp ** 2 * np.sqrt(2 * np.pi) * length * np.exp(-0.5 * (length * np.pi * j / (2 * box)) ** 2)
    return (phi * lam) @ phi.T


def _restricted(u, z, noise, amp, length):
    return restricted_basis_loglik(u[None], z[None], noise[None], np.array([amp]), np.array([length]))[0]


@pytest.mark.parametrize("n_q", [1, 2, 17, 33, 97, 193])
def test_fourier_sums_are_the_sums_term_by_term(n_q):
    # truth: S[w, v, q] = sum_n weights[w, v, n] exp(i q theta[w, n]) with every exp(i q theta)
    # from np.exp. The factored product (q = r + k b, k = ceil(sqrt(n_q)): a perfect square, one
    # more, and the likelihood's 2 m + 1) must agree to rounding: products of ~2 sqrt(n_q) unit
    # factors, so 1e-12 of sum |weights| (measured ~1e-14).
    rng = np.random.default_rng(3)
    theta = rng.uniform(0, np.pi, (3, 25))
    weights = rng.uniform(0, 2, (3, 4, 25))
    direct = np.einsum("wvn,wqn->wvq", weights, np.exp(1j * np.arange(n_q)[None, :, None] * theta[:, None, :]))
    sums = _fourier_sums(_harmonics(theta, n_q), weights, n_q)
    assert sums.shape == (3, 4, n_q)
    assert np.abs(sums - direct).max() <= 1e-12 * weights.sum(axis=-1).max()


def test_prior_weighted_cholesky_is_the_determinant_and_the_solve():
    # truth: R = I + S G S and b = S P built densely; ln|R| from slogdet and X' X = b' R^-1 b from
    # a dense solve. G has two blocks given by their lower triangle (the upper triangle of the
    # bordered matrix is never written), so a block put in the wrong place changes the answer; 1e-10 relative is
    # rounding in a well-conditioned 9 x 9 problem.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 9, 30))
    gram = x @ np.swapaxes(x, 1, 2)                                        # (W, 9, 9), positive definite
    scales = [rng.uniform(0.5, 2, (2, 6)), rng.uniform(0.5, 2, (2, 3))]
    projections = [rng.standard_normal((2, 2, 6)), rng.standard_normal((2, 2, 3))]
    lower = [[gram[:, :6, :6]], [gram[:, 6:, :6], gram[:, 6:, 6:]]]
    logdet, sol, ok = _prior_weighted_cholesky(lower, scales, projections)
    s = np.concatenate(scales, axis=1)
    r = np.eye(9) + gram * s[:, :, None] * s[:, None, :]
    b = np.concatenate(projections, axis=2) * s[:, None, :]                # (W, 2, 9)
    quadratic = b @ np.linalg.solve(r, np.swapaxes(b, 1, 2))                # (W, 2, 2)
    assert ok.all()
    assert logdet == pytest.approx(np.linalg.slogdet(r)[1], rel=1e-10)
    assert np.allclose(sol @ np.swapaxes(sol, 1, 2), quadratic, rtol=1e-10, atol=0)


def test_own_basis_is_the_likelihood_of_that_many_modes():
    # truth: basis_loglik with m = 24 itself. With own_basis = 24 inside matrices of 48 modes the
    # value must be the 24-mode one to rounding (1e-10 relative), at a length scale so short that
    # 24 modes are far too few (the 48-mode value differs by > 1 nat): the modes beyond a
    # walker's own are switched off, not merely negligible.
    rng = np.random.default_rng(9)
    u = np.linspace(-1.7, 1.7, 30)[None]
    z = np.sin(6 * u) + 0.05 * rng.standard_normal(u.shape)
    args = (u, z, np.full(u.shape, 0.05), np.array([1.0]), np.array([0.1]), box_half_width(u, np.array([0.1])))
    own = basis_loglik(*args, 48, own_basis=np.array([24]))
    assert own[0] == pytest.approx(basis_loglik(*args, 24)[0], rel=1e-10)
    assert abs(basis_loglik(*args, 48)[0] - own[0]) > 1.0


@pytest.mark.parametrize("corrected, with_features", [(False, False), (True, False), (True, True)])
def test_walkers_evaluated_together_get_their_own_basis_size(corrected, with_features):
    # truth: each walker evaluated alone (one walker: one basis size, nothing merged). In a batch,
    # walkers whose sizes lie within MERGE_FACTOR share matrices of the largest size, the extra
    # modes at prior scale 0; that must leave every walker's value its own to rounding (1e-9
    # relative; the lengths span the ladder, so 24 with 32 and 32 with 48 are merged here).
    rng = np.random.default_rng(8)
    n, lengths = 30, np.array([0.15, 0.2, 0.3, 0.45, 0.6, 0.9, 1.5, 3.0])
    walkers = len(lengths)
    u = np.tile(np.linspace(-1.7, 1.7, n), (walkers, 1))
    z = np.tanh(u) + 0.05 * rng.standard_normal((walkers, n))
    noise, amp = np.full((walkers, n), 0.05), np.full(walkers, 1.0)
    assert len(set(basis_size(box_half_width(u, lengths), lengths).tolist())) >= 4
    extra = {}
    if corrected:
        extra.update(corr=np.tile(np.repeat([1.0, 0.5, 0.0], n // 3), (walkers, 1)), amp_corr=np.full(walkers, 0.3))
    if with_features:
        extra.update(features=np.repeat(np.eye(3), n // 3, axis=0), feature_sd=np.full((walkers, 3), 0.1))
    together = restricted_basis_loglik(u, z, noise, amp, lengths, **extra)
    alone = [restricted_basis_loglik(u[[w]], z[[w]], noise[[w]], amp[[w]], lengths[[w]],
                                     **{k: v[[w]] if np.ndim(v) and len(v) == walkers else v for k, v in extra.items()})[0]
             for w in range(walkers)]
    np.testing.assert_allclose(together, alone, rtol=1e-9)


@pytest.mark.parametrize("tails, length", [(False, 0.12), (False, 0.5), (False, 2.0),
                                           (True, 0.45), (True, 1.0), (True, 2.0)])
def test_basis_is_the_squared_exponential_process(tails, length):
    # truth: the exact squared-exponential GP (n x n, brute force). The reduced-rank basis must give
    # the same restricted likelihood to 0.01 nats (measured < 1e-3) wherever the ladder of basis sizes
    # reaches (l >= 4.5 B / 96: l >= 0.12 for evenly spread u, max |u| = 1.8; l >= 0.4 for heavy-tailed
    # u, max |u| = 5, as from a wide window at large L); amplitude 3 against noise 0.02 is the hardest
    # case (the data resolve the smallest eigenvalues).
    rng = np.random.default_rng(7)
    x = rng.standard_normal(100) ** 3 if tails else rng.uniform(-1, 1, 100)
    u = standardise(x[None])[0]
    z = np.tanh(2 * u) + 0.02 * rng.standard_normal(100)
    noise = np.full(100, 0.02)
    one = np.ones_like(z)
    for amp in (0.3, 1.0, 3.0):
        cov = _kernel(u, amp, length) + np.diag(noise ** 2)     # restricted likelihood, term by term
        inv_z, inv_1 = np.linalg.solve(cov, z), np.linalg.solve(cov, one)
        exact = (-0.5 * (z @ inv_z - (one @ inv_z) ** 2 / (one @ inv_1)) - 0.5 * np.linalg.slogdet(cov)[1]
                 - 0.5 * np.log(one @ inv_1) - 0.5 * 99 * np.log(2 * np.pi))
        assert _restricted(u, z, noise, amp, length) == pytest.approx(exact, abs=0.01), amp


def test_restricted_likelihood_is_the_flat_mean_limit():
    # truth: with mu ~ N(0, c^2), ln N(z; 0, C + c^2 11') + ln(c sqrt(2 pi)) -> restricted likelihood
    # (C the basis covariance Phi Lambda Phi' + D built as a dense n x n matrix: the Woodbury algebra
    # and the trigonometric sums of basis.py are checked exactly)
    # as c -> infinity; the remainder is O(1/c^2) ~ 1e-8 for c = 1e4 and LU on a matrix of condition ~1e10 loses
    # ~1e-6 relative, so 1e-4 absolute.
    rng = np.random.default_rng(1)
    u = np.sort(rng.uniform(-2, 2, 12))
    z = np.sin(u) + 3.0 + 0.1 * rng.normal(size=12)
    noise = np.full(12, 0.1)
    amp, length, c = 0.8, 0.7, 1e4
    cov = _basis_kernel(u, amp, length) + np.diag(noise ** 2) + c ** 2
    expected = _gauss_logpdf(z, cov) + np.log(c * np.sqrt(2 * np.pi))
    assert _restricted(u, z, noise, amp, length) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("length", [0.3, 1.0, 2.5])
def test_correction_function_is_the_sum_of_two_processes(length):
    # truth: with a correction function the covariance is A^2 K + A_c^2 R K_h R + D (R = diag(r),
    # K_h the same basis cut at CORRECTION_MODES functions), built here as dense n x n matrices from
    # the basis (Phi Lambda Phi'); l = 0.3 needs 48 functions for f, so the cut is exercised; the two-block
    # Woodbury algebra and the weighted trigonometric sums (weights w, w r, w r^2) of basis.py must
    # give the same restricted likelihood to rounding (1e-6 relative of a likelihood of ~100 nats)
    rng = np.random.default_rng(3)
    u = standardise(rng.uniform(-1, 1, 40)[None])[0]
    r = rng.choice([1.0, 0.6, 0.3, 0.0], size=40)
    z = np.tanh(2 * u) + r * np.cos(3 * u) + 0.05 * rng.standard_normal(40)
    noise = np.full(40, 0.05)
    one = np.ones_like(z)
    amp, amp_corr = 1.3, 0.7
    box = box_half_width(u[None], np.array([length]))[0]
    base = _basis_kernel(u, 1.0, length, box)
    base_h = _basis_kernel(u, 1.0, length, box, most=CORRECTION_MODES)
    cov = amp ** 2 * base + amp_corr ** 2 * r[:, None] * base_h * r[None, :] + np.diag(noise ** 2)
    inv_z, inv_1 = np.linalg.solve(cov, z), np.linalg.solve(cov, one)
    exact = (-0.5 * (z @ inv_z - (one @ inv_z) ** 2 / (one @ inv_1)) - 0.5 * np.linalg.slogdet(cov)[1]
             - 0.5 * np.log(one @ inv_1) - 0.5 * 39 * np.log(2 * np.pi))
    got = restricted_basis_loglik(u[None], z[None], noise[None], np.array([amp]), np.array([length]),
                                  corr=r[None], amp_corr=np.array([amp_corr]))[0]
    assert got == pytest.approx(exact, rel=1e-6)
    # and a vanishing correction amplitude is the plain process
    plain = _restricted(u, z, noise, amp, length)
    tiny = restricted_basis_loglik(u[None], z[None], noise[None], np.array([amp]), np.array([length]),
                                   corr=r[None], amp_corr=np.array([1e-9]))[0]
    assert tiny == pytest.approx(plain, abs=1e-9)


def test_nuisance_estimate_recovers_a_known_correction_and_known_offsets_and_tilts():
    # truth: data built as F(x) + r H(x) with r = 1, 1/2, 0 for three sizes (r already on the unit
    # span) and small noise (0.005 against a correction of amplitude ~0.5); the posterior mean of
    # r h (dense GP algebra, what the collapse plot subtracts) must equal r H to within 0.03 -- a
    # few noise units plus the smoothing of a GP with length 0.5 over 30 points per size. Then
    # the sizes shifted by +0.2, -0.1, 0 instead: the estimated offsets must be those shifts up
    # to one common constant (a common shift is the mean mu's), within 0.01 (30 points of noise
    # 0.005 per size pin a size's mean to 0.001; the GP's share of the shift is what is left).
    from statmech_nn.analysis.fss.likelihood import nuisance_estimate, size_features

    x = np.tile(np.linspace(-2, 2, 30), 3)
    r = np.repeat([1.0, 0.5, 0.0], 30)
    truth = r * 0.5 * np.sin(x)
    rng = np.random.default_rng(5)
    y = np.tanh(x) + truth + 0.005 * rng.standard_normal(90)
    err = np.full(90, 0.005)
    got = nuisance_estimate(x, np.zeros(90), y, err, float(np.std(y)), amp=2.0, length=0.5, err_scale=1.0,
                            corr=r, amp_corr=1.0)
    assert np.max(np.abs(got - truth)) < 0.03
    index = np.repeat([0, 1, 2], 30)
    shifts = np.array([0.2, -0.1, 0.0])[index]
    y = np.tanh(x) + shifts + 0.005 * rng.standard_normal(90)
    offsets = size_features(x, index, offsets=True, tilts=False)
    got = nuisance_estimate(x, np.zeros(90), y, err, float(np.std(y)), amp=2.0, length=0.5, err_scale=1.0,
                            features=offsets, feature_sd=np.full(3, 0.3))
    assert np.ptp(got - shifts) < 0.01
    # Tilted too, by 0.1, -0.05, 0 from the middle of each window to its end: offsets and tilts
    # estimated together equal that truth up to one common line in t (a line shared by every size
    # is a part of f, and t = x / 2 here), within the same 0.01.
    t = x / 2
    truth = shifts + np.array([0.1, -0.05, 0.0])[index] * t
    y = np.tanh(x) + truth + 0.005 * rng.standard_normal(90)
    got = nuisance_estimate(x, np.zeros(90), y, err, float(np.std(y)), amp=2.0, length=0.5, err_scale=1.0,
                            features=size_features(x, index, offsets=True, tilts=True), feature_sd=np.full(6, 0.3))
    line = np.column_stack([np.ones(90), t])
    left = (got - truth) - line @ np.linalg.lstsq(line, got - truth, rcond=None)[0]
    assert np.ptp(left) < 0.01


def test_collapse_loglik_is_a_density_of_the_raw_data():
    # truth: y = G^-1 (f + G eps) is Gaussian in y with covariance D (s^2 A^2 K + diag(lam e G)^2 + c^2 11') D,
    # D = diag(1/G). Any error in the Jacobian (sum ln G) or in the unit s would shift the value by
    # O(1); the c -> infinity remainder is ~1e-8 and LU rounding ~1e-6, hence 1e-4.
    rng = np.random.default_rng(2)
    n = 10
    size = np.repeat([8.0, 16.0], n // 2)
    x = rng.uniform(-1, 1, n)
    y = rng.uniform(0.1, 1.0, n)
    err = rng.uniform(0.01, 0.05, n)
    a, amp, length, lam, c = 0.7, 1.3, 0.9, 1.4, 1e4
    log_g = a * np.log(size)
    g = np.exp(log_g)
    s = np.std(y) * np.exp(log_g.mean())
    cov_y = (s ** 2 * _basis_kernel(standardise(x[None])[0], amp, length) + np.diag((lam * err * g) ** 2)
             + c ** 2) / np.outer(g, g)
    expected = _gauss_logpdf(y, cov_y) + np.log(c * np.sqrt(2 * np.pi))
    got = collapse_loglik(x[None], log_g[None], y, err, float(np.std(y)), np.array([amp]), np.array([length]),
                          np.array([lam]))
    assert got[0] == pytest.approx(expected, abs=1e-4)


def test_collapse_loglik_subset_is_the_marginal_of_the_kept_points():
    # truth: the density of a subset under the same units is the Gaussian marginal of those points,
    # so ln p(all) - ln p(kept) is a proper conditional: here checked against the brute-force marginal.
    rng = np.random.default_rng(3)
    n = 8
    size = np.repeat([8.0, 16.0], 4)
    x, y, err = rng.uniform(-1, 1, n), rng.uniform(0, 1, n), np.full(n, 0.05)
    args = (np.std(y), np.array([1.0]), np.array([0.8]), np.array([1.0]))
    keep = size == 8.0
    sub = collapse_loglik(x[None], np.zeros((1, n)), y, err, *args, keep=keep)
    u = standardise(x[None])[0]
    s, c = np.std(y), 1e4
    cov = s ** 2 * _basis_kernel(u, 1.0, 0.8) + np.diag(err ** 2) + c ** 2   # the box is set by all points
    expected = _gauss_logpdf(y[keep], cov[np.ix_(keep, keep)]) + np.log(c * np.sqrt(2 * np.pi))
    assert sub[0] == pytest.approx(expected, abs=1e-4)


def test_overlap_fraction_known_cases():
    # truth by hand: size 0 on [0, 1], size 1 on [0.5, 1.5] -> half of each size's points lie in
    # the other's range (0.5 each, min 0.5); disjoint ranges -> 0; identical ranges -> 1.
    index = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    half = np.array([[0.0, 0.25, 0.75, 1.0, 0.5, 0.9, 1.25, 1.5]])
    disjoint = np.array([[0.0, 0.1, 0.2, 0.3, 1.0, 1.1, 1.2, 1.3]])
    same = np.array([[0.0, 0.1, 0.2, 0.3, 0.0, 0.1, 0.2, 0.3]])
    x = np.vstack([half, disjoint, same])
    np.testing.assert_array_equal(overlap_fraction(x, SizeGroups.of(index, 2)), [0.5, 0.0, 1.0])
    # the points in any order: the grouping by size must find the same answer
    shuffled = np.array([5, 0, 7, 2, 1, 4, 6, 3])
    np.testing.assert_array_equal(overlap_fraction(x[:, shuffled], SizeGroups.of(index[shuffled], 2)), [0.5, 0.0, 1.0])


def test_small_sample_factor_is_students_t_over_the_normal():
    # truth: Student's t quantiles in closed form at the one-sided 1-sigma level p = Phi(1):
    # 1 degree of freedom (Cauchy) tan(pi (p - 1/2)); 2 degrees (2p - 1) / sqrt(2 p (1 - p));
    # many degrees -> the normal (factor 1). Divided by z(p) = 1.
    from scipy.stats import norm

    from statmech_nn.analysis.fss.compare import rank_forms, small_sample_factor

    p = norm.cdf(1.0)
    assert small_sample_factor(2) == pytest.approx(np.tan(np.pi * (p - 0.5)), rel=1e-6)
    assert small_sample_factor(3) == pytest.approx((2 * p - 1) / np.sqrt(2 * p * (1 - p)), rel=1e-6)
    assert small_sample_factor(10_000) == pytest.approx(1.0, abs=1e-3)
    # the comparison's se of 3 per-size differences 1, 2, 6: sqrt(3 var) = sqrt(3 * 7) times the factor
    best, delta, se = rank_forms({"a": np.array([1.0, 2.0, 6.0]), "b": np.zeros(3)})
    assert (best, delta) == ("a", 9.0)
    assert se == pytest.approx(np.sqrt(21.0) * (2 * p - 1) / np.sqrt(2 * p * (1 - p)), rel=1e-6)


def _window_unit(control: np.ndarray, size_index: np.ndarray) -> np.ndarray:
    """``t``: the control value mapped onto [-1, 1] over its own size's points, point by point."""
    t = np.empty_like(control)
    for i, k in enumerate(size_index):
        window = control[size_index == k]
        t[i] = -1.0 + 2.0 * (control[i] - window.min()) / (window.max() - window.min())
    return t


@pytest.mark.parametrize("corrected", [False, True], ids=["plain", "corrected"])
@pytest.mark.parametrize("offsets, tilts", [(True, False), (False, True), (True, True)],
                         ids=["offsets", "tilts", "both"])
def test_size_offsets_and_tilts_add_a_shared_line_per_size(corrected, offsets, tilts):
    # truth: with size offsets the covariance gains tau^2 1[k_i = k_j] (every point of a size
    # shifted by the same unknown delta_k ~ N(0, tau^2)), with size tilts tau_t^2 t_i t_j 1[k_i = k_j]
    # (t the control value mapped onto [-1, 1] over its size's window, computed here point by
    # point), built as a dense n x n matrix on top of the basis covariance (with and without the
    # correction block); the features of size_features, their cross sums with the sines and the
    # Woodbury algebra must give the same restricted likelihood to rounding (1e-6 relative).
    # Vanishing scales are the model without.
    from statmech_nn.analysis.fss.likelihood import size_feature_sd, size_features

    rng = np.random.default_rng(5)
    control = rng.uniform(0.3, 0.7, 36)
    u = standardise(control[None] + 0.1 * rng.standard_normal(36))[0]
    size_index = rng.integers(0, 4, 36)
    r = np.array([1.0, 0.6, 0.3, 0.0])[size_index]
    t = _window_unit(control, size_index)
    z = (np.tanh(2 * u) + 0.3 * rng.standard_normal(4)[size_index] + 0.2 * rng.standard_normal(4)[size_index] * t
         + 0.05 * rng.standard_normal(36))
    noise = np.full(36, 0.05)
    one = np.ones_like(z)
    amp, amp_corr, tau, tau_t, length = 1.3, 0.7, 0.4, 0.25, 0.8
    box = box_half_width(u[None], np.array([length]))[0]
    cov = amp ** 2 * _basis_kernel(u, 1.0, length, box) + np.diag(noise ** 2)
    corr = {}
    if corrected:
        cov += amp_corr ** 2 * r[:, None] * _basis_kernel(u, 1.0, length, box, most=CORRECTION_MODES) * r[None, :]
        corr = {"corr": r[None], "amp_corr": np.array([amp_corr])}
    without = restricted_basis_loglik(u[None], z[None], noise[None], np.array([amp]), np.array([length]), **corr)[0]
    same_size = size_index[:, None] == size_index[None, :]
    cov += (tau ** 2 * offsets + tau_t ** 2 * tilts * t[:, None] * t[None, :]) * same_size
    inv_z, inv_1 = np.linalg.solve(cov, z), np.linalg.solve(cov, one)
    exact = (-0.5 * (z @ inv_z - (one @ inv_z) ** 2 / (one @ inv_1)) - 0.5 * np.linalg.slogdet(cov)[1]
             - 0.5 * np.log(one @ inv_1) - 0.5 * 35 * np.log(2 * np.pi))
    features = size_features(control, size_index, offsets, tilts)
    assert features.shape == (36, 4 * (offsets + tilts))
    got, tiny = (restricted_basis_loglik(
        u[None], z[None], noise[None], np.array([amp]), np.array([length]), features=features,
        feature_sd=size_feature_sd(4, np.array([s * tau]) if offsets else None,
                                   np.array([s * tau_t]) if tilts else None),
        **corr)[0] for s in (1.0, 1e-9))
    assert got == pytest.approx(exact, rel=1e-6)
    assert tiny == pytest.approx(without, abs=1e-9)
