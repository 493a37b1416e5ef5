"""The collapse likelihood against brute-force linear algebra (exact answers, no sampling)."""

import numpy as np
import pytest
import scipy.linalg

from statmech_nn.analysis.fss.likelihood import (
    collapse_loglik, forward_solve, overlap_fraction, restricted_gp_loglik, standardise)


def _gauss_logpdf(z, cov):
    """ln N(z; 0, cov) by LU (scipy's eigh-based version calls cov + c^2 11' singular)."""
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    return -0.5 * (z @ np.linalg.solve(cov, z) + logdet + len(z) * np.log(2 * np.pi))


def _kernel(u, amp, length):
    return amp ** 2 * np.exp(-0.5 * ((u[:, None] - u[None, :]) / length) ** 2)


def test_forward_solve_matches_lapack():
    # truth: scipy's triangular solve; both are exact up to rounding (1e-10 on well-conditioned input)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 6, 6))
    chol = np.linalg.cholesky(a @ np.swapaxes(a, 1, 2) + 6 * np.eye(6))
    rhs = rng.normal(size=(3, 6, 2))
    expected = np.stack([scipy.linalg.solve_triangular(chol[w], rhs[w], lower=True) for w in range(3)])
    np.testing.assert_allclose(forward_solve(chol, rhs), expected, rtol=1e-10, atol=1e-12)


def test_restricted_likelihood_is_the_flat_mean_limit():
    # truth: with mu ~ N(0, c^2), ln N(z; 0, C + c^2 11') + ln(c sqrt(2 pi)) -> restricted likelihood
    # as c -> infinity; the remainder is O(1/c^2) ~ 1e-8 for c = 1e4 and LU on a matrix of condition ~1e10 loses
    # ~1e-6 relative, so 1e-4 absolute.
    rng = np.random.default_rng(1)
    u = np.sort(rng.uniform(-2, 2, 12))
    z = np.sin(u) + 3.0 + 0.1 * rng.normal(size=12)
    noise = np.full(12, 0.1)
    amp, length, c = 0.8, 0.7, 1e4
    cov = _kernel(u, amp, length) + np.diag(noise ** 2) + c ** 2
    expected = _gauss_logpdf(z, cov) + np.log(c * np.sqrt(2 * np.pi))
    got = restricted_gp_loglik(u[None], z[None], noise[None], np.array([amp]), np.array([length]))
    assert got[0] == pytest.approx(expected, abs=1e-4)


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
    cov_y = (s ** 2 * _kernel(standardise(x[None])[0], amp, length) + np.diag((lam * err * g) ** 2) + c ** 2) / np.outer(g, g)
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
    cov = s ** 2 * _kernel(u, 1.0, 0.8) + np.diag(err ** 2) + c ** 2
    expected = _gauss_logpdf(y[keep], cov[np.ix_(keep, keep)]) + np.log(c * np.sqrt(2 * np.pi))
    assert sub[0] == pytest.approx(expected, abs=1e-4)


def test_overlap_fraction_known_cases():
    # truth by hand: size 0 on [0, 1], size 1 on [0.5, 1.5] -> half of each size's points lie in
    # the other's range (0.5 each, min 0.5); disjoint ranges -> 0; identical ranges -> 1.
    index = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    half = np.array([[0.0, 0.25, 0.75, 1.0, 0.5, 0.9, 1.25, 1.5]])
    disjoint = np.array([[0.0, 0.1, 0.2, 0.3, 1.0, 1.1, 1.2, 1.3]])
    same = np.array([[0.0, 0.1, 0.2, 0.3, 0.0, 0.1, 0.2, 0.3]])
    got = overlap_fraction(np.vstack([half, disjoint, same]), index, 2)
    np.testing.assert_array_equal(got, [0.5, 0.0, 1.0])
