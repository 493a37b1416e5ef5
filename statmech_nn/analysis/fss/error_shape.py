"""Which per-size error terms do the data need? The shape of the replica-to-replica deviations.

When every point of a size comes from the same networks (or samples), its error is a smooth
function along the control axis, and the likelihood models its first Legendre terms: the offset
(``size_offsets``) and the tilt (``size_tilts``; :mod:`.likelihood`). Independent replicas (the
seeds of a sweep) show that error directly: for size ``k``, replica ``r`` and control points
``x_1 .. x_n`` (those finite in every replica), the deviation from the mean over replicas::

    d_(r,i) = y_(r,i) - mean_r y_(r,i)

has the shape of the error of the replica mean (scaled by a constant). With ``t_i`` the control
mapped linearly onto [-1, 1] over the size's own points (as in :func:`.likelihood.size_features`)
and ``q_0 .. q_(n-1)`` the orthonormal basis of R^n made from the Legendre polynomials
``P_j(t_i)`` (QR of their Vandermonde matrix, so ``q_j`` is degree ``j`` made orthogonal to the
lower degrees), the energy of degree ``j``::

    E_(k,j) = sum_r (d_r . q_j)^2,        sum_j E_(k,j) = sum_(r,i) d_(r,i)^2

split into ``offset`` (j = 0), ``tilt`` (1), ``curvature`` (2) and ``higher`` (j >= 3). A fraction
is ``E / sum E``, per size and pooled over sizes (energies summed). Errors independent from point
to point with equal variances spread evenly, ``1/n`` per degree (``white_noise_fraction``); an
error shared by a size's points piles up in the low degrees. What the offsets and tilts leave,
the likelihood treats as independent: ``curvature`` and ``higher`` well above their white-noise
share say that this is not so. From a few replicas the fractions scatter (3 seeds, 5 sizes of
7 points: a white-noise fraction of 1/7 lies below 0.25 in 95 % of data sets), so the pooled
fractions come with their 99th percentile under independent equal-variance Gaussian errors at
the same points and replicas (``pooled_null_q99``, exact: :func:`null_quantile`), and
:func:`error_model_hints` says where a term the error model lacks exceeds it.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import xarray as xr
from numpy.polynomial import legendre

from ...errors import ConfigError, DataError

#: the terms of :func:`error_shape`, by Legendre degree: 0, 1, 2, and every degree above
TERMS = ("offset", "tilt", "curvature", "higher")


def legendre_basis(control: np.ndarray) -> np.ndarray:
    """``(n, n)``: column ``j`` is ``q_j`` of the module docstring at ``n`` distinct control values."""
    t = 2.0 * (control - control.min()) / np.ptp(control) - 1.0
    basis, _ = np.linalg.qr(legendre.legvander(t, len(t) - 1))
    return basis


def degree_energies(deviations: np.ndarray, control: np.ndarray) -> np.ndarray:
    """``E_j`` (module docstring) of deviations ``(..., R, n)`` at ``n`` distinct control values:
    ``(..., n)``, degree ``j = 0 .. n - 1``; they sum to the total energy exactly."""
    return ((deviations @ legendre_basis(control)) ** 2).sum(axis=-2)


def _terms(energies: np.ndarray) -> np.ndarray:
    """Energies by degree (last axis) -> by :data:`TERMS` (``higher``: degrees 3 and up, 0 if none)."""
    pad = np.zeros(energies.shape[:-1] + (3 - min(3, energies.shape[-1]),))
    return np.concatenate([energies[..., :3], pad, energies[..., 3:].sum(axis=-1, keepdims=True)], axis=-1)


def null_quantile(n_points: list[int], n_replicas: int, q: float = 0.99) -> np.ndarray:
    """The ``q`` quantile of each pooled fraction over :data:`TERMS` when every point of sizes
    with ``n_points`` points carries an independent error of one variance in each of
    ``n_replicas`` replicas. Exact: each degree's energy of a size is then ``sigma^2`` times an
    independent chi^2 with ``R - 1`` degrees of freedom, so a term holding ``d`` of the ``D``
    (size, degree) pairs has the pooled fraction Beta((R-1) d / 2, (R-1) (D - d) / 2)."""
    held = sum(_terms(np.ones(n)) for n in n_points)
    return scipy.stats.beta.ppf(q, (n_replicas - 1) * held / 2, (n_replicas - 1) * (held.sum() - held) / 2)


def error_shape(data: xr.DataArray, *, size_dim: str, control_dim: str, replica_dim: str) -> xr.Dataset:
    """The energy fractions of the module docstring for ``data`` over exactly ``(size_dim,
    control_dim, replica_dim)`` (select other dimensions first; give the observable the
    collapse fits, e.g. ``np.log(loss)``). Returns ``energy_fraction`` and
    ``white_noise_fraction`` over ``(size_dim, term)``, ``pooled_fraction`` and
    ``pooled_white_noise_fraction`` and ``pooled_null_q99`` (:func:`null_quantile`) over
    ``term``, and ``rms_deviation`` and ``n_points`` over ``size_dim``. A size with fewer than
    3 points finite in every replica, or none that deviate, is left out of the pool (its
    fractions NaN)."""
    dims = (size_dim, control_dim, replica_dim)
    for dim in dims:
        if dim not in data.dims:
            raise ConfigError(f"error_shape: no dimension {dim!r} in the data; it has {list(data.dims)}")
    if set(data.dims) != set(dims):
        extra = sorted(set(data.dims) - set(dims))
        raise ConfigError(f"error_shape: select the dimensions {extra} first (the data must be over {list(dims)} only)")
    if data.sizes[replica_dim] < 2:
        raise DataError(f"error_shape: {replica_dim!r} has {data.sizes[replica_dim]} value; deviations need at least 2")
    values = data.transpose(*dims).values.astype(float)
    control = data[control_dim].values.astype(float)
    energy = np.full((data.sizes[size_dim], len(TERMS)), np.nan)
    white = np.full_like(energy, np.nan)
    rms = np.full(data.sizes[size_dim], np.nan)
    n_points = np.zeros(data.sizes[size_dim], dtype=int)
    for k, curves in enumerate(values):                          # curves: (n_control, R)
        keep = np.isfinite(curves).all(axis=1)
        n_points[k] = keep.sum()
        deviations = (curves[keep] - curves[keep].mean(axis=1, keepdims=True)).T    # (R, n)
        if n_points[k] < 3 or not np.any(deviations):
            continue
        energy[k] = _terms(degree_energies(deviations, control[keep]))
        white[k] = _terms(np.ones(n_points[k]))
        rms[k] = np.sqrt(np.mean(deviations ** 2))
    used = np.isfinite(energy[:, 0])
    if not used.any():
        raise DataError("error_shape: no size has 3 or more control points finite in every replica, with deviations")
    coords = {size_dim: data[size_dim].values, "term": list(TERMS)}
    return xr.Dataset(
        {"energy_fraction": ((size_dim, "term"), energy / energy.sum(axis=1, keepdims=True)),
         "white_noise_fraction": ((size_dim, "term"), white / white.sum(axis=1, keepdims=True)),
         "pooled_fraction": ("term", energy[used].sum(axis=0) / energy[used].sum()),
         "pooled_white_noise_fraction": ("term", white[used].sum(axis=0) / white[used].sum()),
         "pooled_null_q99": ("term", null_quantile(list(n_points[used]), data.sizes[replica_dim])),
         "rms_deviation": (size_dim, rms),
         "n_points": (size_dim, n_points)},
        coords=coords,
        attrs={"description": "replica-to-replica deviations of each size's curve split by Legendre degree "
                              "along the control axis (statmech_nn.analysis.fss.error_shape)",
               "replica_dim": replica_dim, "control_dim": control_dim})


def error_model_hints(shape: xr.Dataset, *, size_offsets: bool, size_tilts: bool) -> list[str]:
    """One sentence for each term of ``shape`` (:func:`error_shape`) whose pooled fraction
    exceeds ``pooled_null_q99`` while the error model (``size_offsets``, ``size_tilts``) lacks
    it: the offset, the tilt, and the curvature, which no error model here has."""
    replica, control = shape.attrs["replica_dim"], shape.attrs["control_dim"]
    modelled = {"offset": size_offsets, "tilt": size_tilts, "curvature": False}
    advice = {"offset": "an error model with size offsets (and tilts) describes it (size_offsets, size_tilts; "
                        "in a study error_models = [..., \"offsets_tilts\"])",
              "tilt": "an error model with size tilts describes it (size_tilts; in a study error_models = "
                      "[..., \"offsets_tilts\"])",
              "curvature": "no error model here has that term, so the comparison may be off by more than its standard error"}
    hints = []
    for term, has in modelled.items():
        fraction, q99 = (float(shape[v].sel(term=term)) for v in ("pooled_fraction", "pooled_null_q99"))
        if not has and fraction > q99:
            hints.append(f"the {replica}-to-{replica} deviations of each size's curve along {control} are "
                         f"{100 * fraction:.0f} % {term} (independent errors: up to {100 * q99:.0f} % in 99 of 100 "
                         f"data sets): the errors of a size are shared along {control}; {advice[term]} "
                         "(docs/fss.md, 'Which per-size error terms')")
    return hints
