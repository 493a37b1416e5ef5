"""Moderated (empirical-Bayes) variances: per-point spreads from a few replicas, shrunk towards a trend.

With ``R`` replicas (seeds) per point, the sample variance ``s_i^2`` rests on ``d = R - 1`` degrees
of freedom: ``s_i^2 / sigma_i^2 ~ chi2_d / d``. For ``d = 2`` that is an exponential law, so one
point in ten gets ``s^2 < 0.1 sigma^2`` and, as a fit's weight, ten times its due: a few points
then decide a fit. Moderation (Smyth 2004, Stat. Appl. Genet. Mol. Biol. 3:3, "limma"; with a
trend as in limma-trend) assumes the true variances scatter about a smooth trend,

    1 / sigma_i^2 ~ chi2_(d0) / (d0 s0_i^2),        ln s0_i^2 = X_i beta + const,

estimates the prior's degrees of freedom ``d0`` and the trend from all points together, and
replaces each ``s_i^2`` by its posterior estimate

    s~_i^2 = (d0 s0_i^2 + d_i s_i^2) / (d0 + d_i),

which rests on ``d0 + d_i`` degrees of freedom. Estimation (method of moments on logarithms):
``e_i = ln s_i^2 - psi(d_i / 2) + ln(d_i / 2)`` has mean ``X_i beta`` (``beta`` absorbs the
constant ``ln s0^2 - psi(d0 / 2) + ln(d0 / 2)``) and variance ``psi'(d_i / 2) + psi'(d0 / 2)``
(``psi`` the digamma function). ``beta`` is the least-squares fit of ``e`` on ``X``; the
residual variance ``v = |r|^2 / (n - k)`` gives ``psi'(d0 / 2) = v - mean_i psi'(d_i / 2)``; where
that is ``<= 0``, the spreads scatter no more than sampling alone makes them and ``d0 = inf``
(every point gets the trend). Points with ``s_i^2 = 0`` or fewer than two replicas do not enter
the estimation; ``s~^2`` is given wherever ``d_i >= 1``.

:func:`size_control_trend` is the trend used for finite-size-scaling data: one level per size
(the spread changes with the size) and a common polynomial along the control axis, the control
mapped onto [-1, 1] over each size's own window; :func:`moderated_grid` moderates the variances of
such a grid towards it. :func:`moderated_errors` applies all this to a
DataArray with a replica dim and returns standard errors of the replica mean, ``s~ / sqrt(R)``;
:func:`replica_errors` gives either those or each point's own ``s / sqrt(R)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.special
import xarray as xr

from ..errors import ConfigError, DataError
from ._options import ERROR_METHODS


@dataclass(frozen=True)
class Moderation:
    """``variance``: the moderated ``s~_i^2``; ``prior_variance``: the trend ``s0_i^2``;
    ``prior_dof``: ``d0`` (``inf``: the spreads are no more scattered than sampling makes them);
    ``n_used``: how many points entered the estimation."""

    variance: np.ndarray
    prior_variance: np.ndarray
    prior_dof: float
    n_used: int

    def trend_weight(self, dof: float) -> float:
        """``d0 / (d0 + d)``: the share of a moderated variance on ``dof`` degrees of freedom that
        comes from the trend (1 when ``d0 = inf``; 0 would be the point's own spread alone)."""
        return 1.0 if np.isinf(self.prior_dof) else self.prior_dof / (self.prior_dof + dof)


def inverse_trigamma(value: float) -> float:
    """The ``y > 0`` with ``psi'(y) = value`` (``value > 0``; ``psi'`` falls from ``inf`` to 0)."""
    if not value > 0:
        raise ValueError(f"inverse_trigamma({value!r}): expected a value > 0")
    return float(scipy.optimize.brentq(lambda y: scipy.special.polygamma(1, y) - value, 1e-12, 1e12,
                                       xtol=1e-14, rtol=1e-12))


def moderate(variance: np.ndarray, dof: np.ndarray, design: np.ndarray) -> Moderation:
    """Moderate the sample variances ``variance`` (``(n,)``, each on ``dof`` degrees of freedom,
    a scalar or ``(n,)``) towards the log-linear trend spanned by the columns of ``design``
    (``(n, k)``) -- module docstring. Raises :class:`DataError` when fewer than ``k + 2`` points
    have a positive variance on ``dof >= 1`` (too few to estimate the trend and its scatter)."""
    variance = np.asarray(variance, dtype=float)
    dof = np.broadcast_to(np.asarray(dof, dtype=float), variance.shape)
    design = np.asarray(design, dtype=float)
    used = np.isfinite(variance) & (variance > 0) & (dof >= 1) & np.all(np.isfinite(design), axis=1)
    n_used, k = int(used.sum()), design.shape[1]
    if n_used < k + 2:
        raise DataError(f"{n_used} points with a positive spread: moderation with a trend of {k} terms needs "
                        f"at least {k + 2}")
    half = dof[used] / 2
    e = np.log(variance[used]) - scipy.special.digamma(half) + np.log(half)
    beta, *_ = np.linalg.lstsq(design[used], e, rcond=None)
    residual = e - design[used] @ beta
    rank = np.linalg.matrix_rank(design[used])
    excess = residual @ residual / (n_used - rank) - np.mean(scipy.special.polygamma(1, half))
    prior_dof = 2 * inverse_trigamma(excess) if excess > 0 else np.inf
    shift = 0.0 if np.isinf(prior_dof) else scipy.special.digamma(prior_dof / 2) - np.log(prior_dof / 2)
    prior_variance = np.exp(design @ beta + shift)
    if np.isinf(prior_dof):
        moderated = np.where(dof >= 1, prior_variance, np.nan)
    else:
        moderated = np.where(dof >= 1, (prior_dof * prior_variance + dof * np.nan_to_num(variance))
                             / (prior_dof + dof), np.nan)
    return Moderation(moderated, prior_variance, float(prior_dof), n_used)


def size_control_trend(size_index: np.ndarray, control: np.ndarray, degree: int) -> np.ndarray:
    """The trend design of finite-size-scaling data, ``(n, K + degree)``: the ``K`` size
    indicators, then ``t^1 .. t^degree`` with ``t`` the control mapped linearly onto [-1, 1]
    over the points of the point's own size (0 for a size with one control value)."""
    if degree < 0:
        raise ConfigError(f"trend degree = {degree!r}: expected an integer >= 0")
    sizes = np.unique(size_index)
    columns = [(size_index == k).astype(float) for k in sizes]
    t = np.zeros(len(control))
    for k in sizes:
        mine = size_index == k
        span = np.ptp(control[mine])
        if span > 0:
            t[mine] = 2.0 * (control[mine] - control[mine].min()) / span - 1.0
    columns += [t**j for j in range(1, degree + 1)]
    return np.column_stack(columns)


def replica_errors(y: xr.DataArray, *, replica_dim: str, size_dim: str, control_dim: str, how: str,
                   degree: int = 0) -> tuple[xr.DataArray, Moderation | None]:
    """Standard errors of the ``replica_dim`` mean of ``y``, over the other dims in their order:
    ``std / sqrt(n)`` of each point (``how="per_point"``; no :class:`Moderation`) or
    :func:`moderated_errors` (``"moderated"``); NaN where fewer than 2 replicas are finite."""
    if how not in ERROR_METHODS:
        raise ConfigError(f"errors {how!r}: expected one of {', '.join(ERROR_METHODS)}")
    count = y.count(replica_dim)
    if how == "per_point":
        return (y.std(replica_dim, ddof=1) / np.sqrt(count)).where(count >= 2), None
    err, moderation = moderated_errors(y, replica_dim=replica_dim, size_dim=size_dim, control_dim=control_dim,
                                       degree=degree)
    return err.transpose(*count.dims), moderation


def moderated_grid(variance: xr.DataArray, dof: xr.DataArray | float, *, size_dim: str, control_dim: str,
                   degree: int = 0) -> tuple[xr.DataArray, Moderation]:
    """:func:`moderate` on a grid over ``size_dim`` and ``control_dim`` (in either order): the
    sample variances ``variance`` on ``dof`` degrees of freedom (per point, or one number for all),
    towards :func:`size_control_trend` of ``degree`` over the points where ``dof`` is finite (NaN:
    no point there). Returns the moderated variances in ``variance``'s layout (NaN where
    ``dof < 1`` or no point) and the :class:`Moderation`."""
    def flat(values) -> np.ndarray:
        return np.asarray(xr.DataArray(values).broadcast_like(variance).transpose(*variance.dims).values,
                          dtype=float).ravel()

    dof = flat(dof)
    present = np.isfinite(dof)
    size_index = flat(xr.DataArray(np.arange(variance.sizes[size_dim]), dims=size_dim))[present].astype(int)
    control = flat(variance[control_dim])[present]
    result = moderate(variance.values.ravel()[present], dof[present], size_control_trend(size_index, control, degree))
    moderated = np.full(variance.size, np.nan)
    moderated[present] = result.variance
    return variance.copy(data=moderated.reshape(variance.shape)), result


def moderated_errors(y: xr.DataArray, *, replica_dim: str, size_dim: str, control_dim: str,
                     degree: int = 0) -> tuple[xr.DataArray, Moderation]:
    """Standard errors of the replica mean of ``y`` (dims ``size_dim``, ``control_dim``,
    ``replica_dim``; NaN for a missing replica), ``sqrt(s~^2 / R_i)`` with ``s~^2`` moderated
    towards :func:`size_control_trend` of ``degree`` (:func:`moderated_grid`); NaN where fewer
    than 2 replicas are finite. Returns the errors over ``(size_dim, control_dim)`` and the
    :class:`Moderation`."""
    for dim in (replica_dim, size_dim, control_dim):
        if dim not in y.dims:
            raise DataError(f"moderated errors need a dim {dim!r}: the data have {', '.join(map(str, y.dims))}")
    y = y.transpose(size_dim, control_dim, replica_dim)
    count = y.count(replica_dim)
    variance, result = moderated_grid(y.var(replica_dim, ddof=1).where(count >= 2), (count - 1.0).where(count >= 1),
                                      size_dim=size_dim, control_dim=control_dim, degree=degree)
    return np.sqrt(variance / count).where(count >= 2), result
