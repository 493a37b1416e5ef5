"""The BKT form's too-narrow, too-low p_c interval with a critical phase (docs/fss.md): two probes of
the collapse likelihood with a dense Gaussian process of a chosen covariance, no sampler, no basis.

    python scripts/fss_kernel_probe.py offset   [--kappa 0.2] [--window scaled|fixed] [--kernel se|m52|m32]
    python scripts/fss_kernel_probe.py coverage [--kappa 0.2] [--kernel se|m52|m32] [--replicas 40]

Data: the SBC design's synthetic BKT data (sizes 8-64, 10 control values per size, jitter 1;
sigma = 0.5, L0 = 1; the errors those of 2 % noise); every form parameter but p_c at its truth.

* ``offset``: p_c = 0.5 and y = f(x) *exactly* (no noise), so the truth collapses the points
  perfectly. For each p_c offset on a grid the restricted likelihood of
  ``statmech_nn.analysis.fss.likelihood`` (error scale 1) is maximised over the amplitude and the
  length scale; printed: the offset where it peaks, per data seed.
* ``coverage``: replicas with p_c uniform on [0.45, 0.55] and 2 % noise; the posterior of p_c on
  a grid, the hyperparameters integrated out on a grid under the fitter's priors (log-uniform
  amplitude [0.1, 10], length [0.05, 5], error scale [0.2, 5]); printed: the mean z-score of
  the median ((median - truth) / half-width of the 68 % interval) and the 68 % coverage.

``--kernel`` swaps the squared-exponential covariance the fitter uses (``se``) for a rougher
Matern one (``m52``, ``m32``), to test whether the prior's smoothness is what moves p_c.
"""

from __future__ import annotations

import argparse

import numpy as np

from statmech_nn.analysis.fss.api import prepare_data
from statmech_nn.analysis.fss.forms import as_form
from statmech_nn.analysis.fss.likelihood import standardise
from statmech_nn.analysis.fss.synthetic import collapse_dataset, logistic

TRUTH = {"p_c": 0.5, "sigma": 0.5, "L0": 1.0}
OFFSETS = np.linspace(-0.006, 0.006, 25)
AMPS = np.geomspace(0.3, 3.0, 25)
LENGTHS = np.geomspace(0.2, 6.0, 25)
PRIOR_AMPS, PRIOR_LENGTHS, PRIOR_ERR_SCALES = np.geomspace(0.1, 10, 10), np.geomspace(0.05, 5, 16), np.geomspace(0.2, 5, 8)
POSTERIOR_OFFSETS = np.linspace(-0.025, 0.025, 51)


def kernel(distance: np.ndarray, length: float, kind: str) -> np.ndarray:
    """Unit-amplitude stationary covariance of ``distance`` at ``length``."""
    r = np.abs(distance) / length
    if kind == "se":
        return np.exp(-0.5 * r**2)
    if kind == "m52":
        return (1 + np.sqrt(5) * r + 5 * r**2 / 3) * np.exp(-np.sqrt(5) * r)
    return (1 + np.sqrt(3) * r) * np.exp(-np.sqrt(3) * r)


def restricted_loglik(cov: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``-1/2 [z'C^-1 z - (1'C^-1 z)^2 / (1'C^-1 1)] - 1/2 ln|C| - 1/2 ln(1'C^-1 1)`` (flat mean
    integrated out) for a stack of covariances ``cov`` ``(..., n, n)``; shape ``(...)``."""
    factor = np.linalg.cholesky(cov)
    a = np.linalg.solve(factor, np.broadcast_to(z, cov.shape[:-1])[..., None])[..., 0]
    b = np.linalg.solve(factor, np.ones((*cov.shape[:-1], 1)))[..., 0]
    bb, ab = (b * b).sum(-1), (a * b).sum(-1)
    return (-0.5 * ((a * a).sum(-1) - ab ** 2 / bb) - 0.5 * np.log(bb)
            - np.log(np.diagonal(factor, axis1=-2, axis2=-1)).sum(-1))


def design(kappa: float, p_c: float, window: str, seed: int):
    """One data set: its points (control, size, noisy ``y``, stated error), the true
    parameters as ``theta`` and the noise-free ``y``."""
    truth = {**TRUTH, "p_c": p_c, "kappa": kappa}
    ds = collapse_dataset("bkt", truth, sizes=(8, 16, 32, 64), n_control=10, jitter=1.0, noise=0.02,
                          window=window, seed=seed)
    obs = prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p").observables[0]
    theta = {k: np.array([[v]]) for k, v in truth.items()}
    return obs, theta, logistic(as_form("bkt").scaling_variable(obs.control, obs.size, theta)[0])


def scaled_u(obs, theta, p_c: float) -> np.ndarray:
    """Standardised scaling variable of the points at ``p_c``, the other parameters as in ``theta``."""
    return standardise(as_form("bkt").scaling_variable(obs.control, obs.size, {**theta, "p_c": np.array([[p_c]])}))[0]


def peak_offset(kappa: float, window: str, kind: str, seed: int) -> float:
    """The p_c offset (from the truth) at which the likelihood, maximised over amplitude and
    length scale, peaks for one noise-free data set."""
    obs, theta, y = design(kappa, TRUTH["p_c"], window, seed)
    z, noise_sd = y / y.std(), obs.err / y.std()
    noise = np.diag(noise_sd ** 2)
    best = []
    for offset in OFFSETS:
        u = scaled_u(obs, theta, TRUTH["p_c"] + offset)
        best.append(max(restricted_loglik(AMPS[:, None, None] ** 2 * kernel(u[:, None] - u[None, :], length, kind)
                                          + noise, z).max() for length in LENGTHS))
    return float(OFFSETS[int(np.argmax(best))])


def p_c_z_score(kappa: float, kind: str, replica: int, rng: np.random.Generator) -> tuple[float, bool]:
    """``(median - truth) / half-width of the 68 % interval`` of one noisy replica's grid
    posterior, and whether that interval holds the truth."""
    p_c = rng.uniform(0.45, 0.55)
    obs, theta, _ = design(kappa, p_c, "scaled", replica)
    z, noise_sd, n = obs.y / obs.y.std(), obs.err / obs.y.std(), len(obs.y)
    grid = p_c + POSTERIOR_OFFSETS
    log_post = np.empty((len(grid), len(PRIOR_LENGTHS), len(PRIOR_AMPS), len(PRIOR_ERR_SCALES)))
    for i, value in enumerate(grid):
        u = scaled_u(obs, theta, value)
        for k, length in enumerate(PRIOR_LENGTHS):
            cov = (PRIOR_AMPS[:, None, None, None] ** 2 * kernel(u[:, None] - u[None, :], length, kind)
                   + (PRIOR_ERR_SCALES[None, :, None, None] * noise_sd) ** 2 * np.eye(n))
            log_post[i, k] = restricted_loglik(cov, z)
    weights = np.exp(log_post - log_post.max()).sum(axis=(1, 2, 3))
    cdf = np.cumsum(weights / weights.sum())
    lo, median, hi = (np.interp(q, cdf, grid) for q in (0.16, 0.5, 0.84))
    return float((median - p_c) / (0.5 * (hi - lo))), bool(lo <= p_c <= hi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("probe", choices=("offset", "coverage"))
    parser.add_argument("--kappa", type=float, default=0.2)
    parser.add_argument("--window", choices=("scaled", "fixed"), default="scaled", help="offset only")
    parser.add_argument("--kernel", choices=("se", "m52", "m32"), default="se")
    parser.add_argument("--seeds", type=int, default=4, help="offset: noise-free data sets")
    parser.add_argument("--replicas", type=int, default=40, help="coverage: noisy replicas")
    args = parser.parse_args()
    if args.probe == "offset":
        offsets = [peak_offset(args.kappa, args.window, args.kernel, seed) for seed in range(args.seeds)]
        print(f"kappa {args.kappa}, {args.window} windows, {args.kernel} kernel: likelihood peaks at p_c - truth = "
              + ", ".join(f"{o:+.4f}" for o in offsets) + f" (grid step {OFFSETS[1] - OFFSETS[0]:.4f})")
        return
    rng = np.random.default_rng(7)
    z, hits = np.array([p_c_z_score(args.kappa, args.kernel, r, rng) for r in range(args.replicas)]).T
    print(f"kappa {args.kappa}, {args.kernel} kernel, {args.replicas} replicas: p_c bias {z.mean():+.2f} +- "
          f"{z.std(ddof=1) / np.sqrt(len(z)):.2f} half-widths, 68 % coverage {hits.mean():.2f}")


if __name__ == "__main__":
    main()
