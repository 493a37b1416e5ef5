"""The marginal likelihood of a finite-size-scaling collapse (pure numpy, vectorised over walkers).

Model, for the points ``i`` of one observable (``y_i`` measured with standard error ``e_i`` at
control ``p_i`` and size ``L_i``; ``x_i`` and ``G_i`` from the scaling form)::

    Y_i = y_i G_i = f(x_i) + G_i eps_i,        eps_i ~ N(0, (lambda e_i)^2)
    f ~ GP(mu, A^2 s^2 exp(-(u - u')^2 / (2 l^2))),   u = (x - mean x) / std x
    mu ~ flat (improper; marginalised analytically -- "restricted" likelihood)

``s = std(y) * exp(mean_i ln G_i)`` sets the unit of ``Y``, so the amplitude ``A``, the length
scale ``l`` (in units of the spread of ``x``) and the error scale ``lambda`` are dimensionless.
With ``C = A^2 K(u; l) + diag((lambda e G / s)^2)`` and ``z = Y / s`` (n points)::

    ln p(y | theta) = -1/2 [z' C^-1 z - (1' C^-1 z)^2 / (1' C^-1 1)] - 1/2 ln|C|
                      - 1/2 ln(1' C^-1 1) - (n - 1)/2 ln(2 pi) - (n - 1) ln s + sum_i ln G_i

The last two terms are the Jacobian from ``z`` back to the data ``y``: without them a fitted
y-exponent could buy likelihood by rescaling the data. ``f`` is never fitted point by point:
it is integrated out, so the likelihood rewards a collapse only as far as one smooth function
explains all sizes together (the Occam factor is ``ln|C|``).

**Correction function** (forms with ``corrections``): ``Y_i = f(x_i) + r_i h(x_i) + G_i eps_i``,
``r_i`` the form's leading correction ``r(L_i)`` rescaled to run from 1 at the smallest size of
the data to 0 at the largest (:func:`span_unit`), and ``h`` a second unknown function, an
independent process with the same length scale and its own amplitude ``A_c`` (``amp_corr``):
``C = A^2 K + A_c^2 diag(r) K diag(r) + noise``. Like ``f``, ``h`` is integrated out; it is the
leading correction to scaling with an unknown amplitude *at every x* (a single amplitude times
``f`` is the special case ``h = c f``).

**Size offsets** (``size_offsets=True``): ``Y_i = f(x_i) + delta_(k_i) + G_i eps_i`` with one
unknown offset per size, ``delta_k ~ N(0, tau^2)`` (``size_offset``, in the units of ``z``),
integrated out: ``C`` gains ``tau^2 E E'``, ``E`` the indicators of the sizes. This is the
leading part of errors correlated along the control axis within a size (every point of a size
measured on the same samples or the same trained networks, so a whole curve is shifted by its
own fluctuation), which the independent errors ``eps_i`` cannot describe: held out, such a size
is predicted with the width of that shift instead of with far too much confidence.

**Size tilts** (``size_tilts=True``): ``+ gamma_(k_i) t_i`` with one unknown slope per size,
``gamma_k ~ N(0, tau_t^2)`` (``size_tilt``), ``t_i`` the control value mapped linearly onto
[-1, 1] over its own size's window: the next, linear term of a smooth per-size error (a
size's networks a little better at one end of the control axis than the other). With offsets
the two are the first two Legendre terms of that error, ``delta_k + gamma_k t``. Both are
fixed features ``E`` (:func:`size_features`) with independent Gaussian coefficients:
``C`` gains ``E diag(s^2) E'``.

The covariance ``K`` is evaluated through the reduced-rank basis of :mod:`.basis` (``m = 40``
eigenfunctions, ``O(n m)`` per evaluation instead of the ``O(n^3)`` of a dense Cholesky factor),
which is the squared-exponential kernel to within rounding for the length scales a collapse
takes, and a slightly smoother process below them. Everything takes arrays of shape ``(W, n)``
(``W`` walkers) and returns ``(W,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .basis import box_half_width, restricted_basis_loglik


def standardise(x: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` along the last axis; a zero spread maps every point to 0."""
    centred = x - x.mean(axis=-1, keepdims=True)
    spread = np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True))     # numpy's std, its mean not recomputed
    return centred / np.where(spread > 0, spread, 1.0)


def span_unit(r: np.ndarray) -> np.ndarray:
    """``(r - min r) / (max r - min r)`` along the last axis: the correction factor measured from
    the largest size (0) to the smallest (1), so that ``A_c`` is the size of the correction's
    *difference* across the sizes of the data (a constant part of ``r h`` is a part of ``f``)."""
    low = r.min(axis=-1, keepdims=True)
    spread = r.max(axis=-1, keepdims=True) - low
    return (r - low) / np.where(spread > 0, spread, 1.0)


def _in_units(log_g: np.ndarray, y: np.ndarray, err: np.ndarray, y_std: float,
              err_scale: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ln s, z = y G / s, lambda e G / s)`` of the module docstring along the last axis, with
    ``s = std(y) exp(mean ln G)`` (``ln s`` has the shape of ``log_g`` without its last axis)."""
    log_s = np.log(y_std) + log_g.mean(axis=-1)
    g_over_s = np.exp(log_g - log_s[..., None])
    return log_s, y * g_over_s, err_scale * err * g_over_s


def collapse_loglik(x: np.ndarray, log_g: np.ndarray, y: np.ndarray, err: np.ndarray, y_std: float,
                    amp: np.ndarray, length: np.ndarray, err_scale: np.ndarray,
                    keep: np.ndarray | None = None, corr: np.ndarray | None = None,
                    amp_corr: np.ndarray | None = None, features: np.ndarray | None = None,
                    feature_sd: np.ndarray | None = None) -> np.ndarray:
    """``ln p(y | theta)`` of the module docstring, shape ``(W,)``.

    ``x, log_g``: ``(W, n)`` scaling variable and ``ln G`` of every point; ``y, err``: ``(n,)``;
    ``y_std``: ``std(y)`` over all points of the observable; ``amp, length, err_scale``: ``(W,)``.
    ``keep`` (boolean ``(n,)``) evaluates the density of a subset of the points with the units
    (``u``, ``s``) still set by all of them -- used for leave-one-size-out predictions.
    ``corr`` (``(W, n)``) and ``amp_corr`` (``(W,)``): the correction function of the module
    docstring (``Y_i = f(x_i) + r_i h(x_i) + ...``); ``None``: no correction.
    ``features`` (``(n, F)``, :func:`size_features`) and ``feature_sd`` (``(W, F)``,
    :func:`size_feature_sd`): the size offsets and tilts of the module docstring; ``None``: none.
    """
    u = standardise(x)
    half_width = box_half_width(u, length)
    log_s, z, noise_sd = _in_units(log_g, y, err, y_std, err_scale[:, None])
    if corr is not None:
        corr = span_unit(corr)
    if keep is not None:
        u, z, noise_sd, log_g = u[:, keep], z[:, keep], noise_sd[:, keep], log_g[:, keep]
        corr = None if corr is None else corr[:, keep]
        features = None if features is None else features[keep]
    m = u.shape[-1]
    extra = {} if corr is None else {"corr": corr, "amp_corr": amp_corr}
    if features is not None:
        extra.update(features=features, feature_sd=feature_sd)
    return (restricted_basis_loglik(u, z, noise_sd, amp, length, half_width, **extra)
            - (m - 1) * log_s + log_g.sum(axis=-1))


def size_features(control: np.ndarray, size_index: np.ndarray, offsets: bool, tilts: bool) -> np.ndarray | None:
    """The per-size error features ``E`` of the module docstring, ``(n, F)``: the ``K`` size
    indicators ``1[k_i = k]`` (``offsets``), then ``t_i 1[k_i = k]`` (``tilts``) with
    ``t_i = 2 (p_i - min_k p) / (max_k p - min_k p) - 1`` over the points of size ``k = k_i``
    (0 for a size measured at one control value). ``None`` when neither is asked for."""
    if not (offsets or tilts):
        return None
    onehot = (size_index[:, None] == np.arange(size_index.max() + 1)[None, :]).astype(float)   # (n, K)
    low = np.array([control[size_index == k].min() for k in range(onehot.shape[1])])[size_index]
    span = np.array([np.ptp(control[size_index == k]) for k in range(onehot.shape[1])])[size_index]
    tilt = np.where(span > 0, 2.0 * (control - low) / np.where(span > 0, span, 1.0) - 1.0, 0.0)
    return np.concatenate(([onehot] if offsets else []) + ([onehot * tilt[:, None]] if tilts else []), axis=1)


def size_feature_sd(n_sizes: int, offset_sd: np.ndarray | None, tilt_sd: np.ndarray | None) -> np.ndarray:
    """Prior scales of the columns of :func:`size_features`, ``(W, F)``: ``tau`` (``offset_sd``,
    ``(W,)``) for each of the ``K = n_sizes`` offsets, then ``tau_t`` (``tilt_sd``) for each tilt;
    ``None`` leaves a kind out, as there."""
    return np.concatenate([np.repeat(np.asarray(sd, dtype=float).reshape(-1, 1), n_sizes, axis=1)
                           for sd in (offset_sd, tilt_sd) if sd is not None], axis=1)


@dataclass(frozen=True)
class SizeGroups:
    """The points of an observable grouped by size (fixed by the data, so computed once):
    ``order`` sorts them by size index, ``index`` is the sorted size indices, ``starts`` where
    each size begins in that order and ``counts`` its number of points (float)."""

    order: np.ndarray
    index: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, size_index: np.ndarray, n_sizes: int) -> SizeGroups:
        """From every point's size index (``0 .. n_sizes - 1``, each size present)."""
        order = np.argsort(size_index, kind="stable")
        index = size_index[order]
        starts = np.searchsorted(index, np.arange(n_sizes))
        return cls(order, index, starts, np.diff(np.append(starts, len(index))).astype(float))


def overlap_fraction(x: np.ndarray, groups: SizeGroups) -> np.ndarray:
    """Worst-size overlap of the scaled curves, shape ``(W,)``.

    For each size ``k``: the fraction of its points whose ``x`` lies inside ``[min, max]`` of
    ``x`` over all *other* sizes. The result is the minimum over sizes: 0 when some size's
    scaled curve shares no range with the rest (nothing constrains the collapse there), 1 when
    every point of every size has neighbours of other sizes on both sides. Vectorised: points
    grouped by size (``groups``), per-size extremes by ``reduceat``, the others' extremes from
    prefix and suffix extremes.
    """
    xs = x[:, groups.order]
    lows = np.minimum.reduceat(xs, groups.starts, axis=1)          # (W, K)
    highs = np.maximum.reduceat(xs, groups.starts, axis=1)
    pad_lo, pad_hi = np.full((x.shape[0], 1), np.inf), np.full((x.shape[0], 1), -np.inf)
    before_lo = np.concatenate([pad_lo, np.minimum.accumulate(lows, axis=1)[:, :-1]], axis=1)
    after_lo = np.concatenate([np.minimum.accumulate(lows[:, ::-1], axis=1)[:, ::-1][:, 1:], pad_lo], axis=1)
    before_hi = np.concatenate([pad_hi, np.maximum.accumulate(highs, axis=1)[:, :-1]], axis=1)
    after_hi = np.concatenate([np.maximum.accumulate(highs[:, ::-1], axis=1)[:, ::-1][:, 1:], pad_hi], axis=1)
    others_lo = np.minimum(before_lo, after_lo)[:, groups.index]   # (W, n): the other sizes' range
    others_hi = np.maximum(before_hi, after_hi)[:, groups.index]
    inside = (xs >= others_lo) & (xs <= others_hi)
    return np.min(np.add.reduceat(inside, groups.starts, axis=1) / groups.counts, axis=1)


def nuisance_estimate(x: np.ndarray, log_g: np.ndarray, y: np.ndarray, err: np.ndarray, y_std: float,
                      amp: float, length: float, err_scale: float, corr: np.ndarray | None = None,
                      amp_corr: float | None = None, features: np.ndarray | None = None,
                      feature_sd: np.ndarray | None = None) -> np.ndarray:
    """Posterior mean of what is not the scaling function -- the correction ``r_i h(x_i)`` and
    the size offsets and tilts, whichever the model has -- at one parameter point, in the
    units of ``y G`` (``(n,)``; ``features`` ``(n, F)`` and ``feature_sd`` ``(F,)`` as in
    :func:`collapse_loglik`, the other arrays ``(n,)``): subtracting it from ``y G`` leaves the
    collapse onto ``f`` that a plot should show. Exact (dense) Gaussian-process algebra, with
    ``N`` the covariance of those terms (``A_c^2 R K R + E diag(s^2) E'``, ``R = diag(r)``,
    ``r`` rescaled by :func:`span_unit`)::

        E[r h + delta | z] = N C^-1 (z - mu 1),    mu = 1' C^-1 z / 1' C^-1 1,    C = A^2 K + N + noise

    ``O(n^3)``: meant for figures, not for sampling.
    """
    u = standardise(x)
    log_s, z, noise_sd = _in_units(log_g, y, err, y_std, err_scale)
    kernel = np.exp(-0.5 * ((u[:, None] - u[None, :]) / length) ** 2)
    nuisance = np.zeros_like(kernel)
    if corr is not None:
        r = span_unit(corr)
        nuisance += amp_corr ** 2 * r[:, None] * kernel * r[None, :]
    if features is not None:
        nuisance += (features * np.asarray(feature_sd) ** 2) @ features.T
    cov = amp ** 2 * kernel + nuisance + np.diag(noise_sd ** 2)
    factor = scipy.linalg.cho_factor(cov, lower=True)
    solved = scipy.linalg.cho_solve(factor, np.column_stack([z, np.ones_like(z)]))
    mean = solved[:, 0].sum() / solved[:, 1].sum()
    return np.exp(log_s) * nuisance @ (solved[:, 0] - mean * solved[:, 1])
