"""The posterior of a collapse: prior box + overlap constraint + GP marginal likelihood.

Parameters, in sampling order: the form's parameters (``p_c`` first), then per observable the
y-exponent ``a`` (when fitted) and the hyperparameters ``amp`` (``A``), ``length`` (``l``),
``err_scale`` (``lambda``), for a corrected form ``amp_corr`` (``A_c``) and with
``size_offsets`` ``size_offset`` (``tau``) and with ``size_tilts`` ``size_tilt`` (``tau_t``) of
:mod:`.likelihood`. With several observables (a
joint fit: shared ``p_c`` and exponents, one unknown ``f`` each) the per-observable names get a
suffix ``_<variable>``. Priors are independent boxes, uniform in the sampling coordinate: the
value itself, or its logarithm for the form's ``log_params`` and the hyperparameters.

Defaults: the form's :meth:`~.forms.ScalingForm.default_priors`; ``a`` on [-3, 3];
``amp`` on [0.1, 10]; ``length`` on [0.05, 5] (units of the spread of ``x``); ``amp_corr`` on
[0.01, 10] (the correction's difference between the smallest and the largest size, in units of
the spread of ``y``: from negligible to dominant); ``err_scale`` on [0.2, 5] (``err_scale = 1``:
the stated errors are right; the freedom absorbs errors that are mis-scaled or correlated along
the control axis); ``size_offset`` on [1e-3, 1] (a size's shift in units of the spread of ``y``:
from negligible to the whole spread); ``size_tilt`` on [1e-3, 1] (a size's tilt, from one end of
its window to the middle, in the same units and over the same range).

The log-posterior is ``-inf`` outside the box, where the form is undefined
(:meth:`~.forms.ScalingForm.valid`), and where the scaled curves overlap less than
``min_overlap`` (:func:`.likelihood.overlap_fraction`): a "collapse" of curves that share no
range of ``x`` says nothing, and is never returned.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import ConfigError, DataError, PluginError
from ...plugin_faults import plugin_call
from .forms import ScalingForm
from .likelihood import SizeGroups, collapse_loglik, overlap_fraction, size_feature_sd, size_features

HYPER_PRIORS: dict[str, tuple[float, float]] = {"amp": (0.1, 10.0), "length": (0.05, 5.0), "err_scale": (0.2, 5.0),
                                                "amp_corr": (0.01, 10.0), "size_offset": (1e-3, 1.0),
                                                "size_tilt": (1e-3, 1.0)}
A_PRIOR = (-3.0, 3.0)
#: the hyperparameters of a form's correction function (only a corrected form has them)
CORRECTION_HYPERPARAMETERS = ("amp_corr",)


def local_name(base: str, observable: str, joint: bool) -> str:
    """The name of an observable's own parameter (``a``, the hyperparameters): ``base_observable``
    in a joint fit of several observables, ``base`` otherwise."""
    return f"{base}_{observable}" if joint else base


@dataclass(frozen=True)
class Observable:
    """One observable's finite points: ``y`` with standard error ``err`` at ``(control, size)``."""

    name: str
    control: np.ndarray
    size: np.ndarray
    y: np.ndarray
    err: np.ndarray
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def y_std(self) -> float:
        return float(np.std(self.y))


@dataclass(frozen=True)
class CollapseData:
    """The points of one or more observables measured on the same systems."""

    observables: tuple[Observable, ...]
    control_name: str = "p"
    size_name: str = "L"
    control_attrs: dict[str, Any] = field(default_factory=dict)
    size_attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.observables:
            raise DataError("no observable given: name at least one variable")
        for obs in self.observables:
            n_sizes = len(np.unique(obs.size))
            if n_sizes < 2:
                raise DataError(f"variable {obs.name!r} has finite data at {n_sizes} size(s) "
                                f"({self.size_name} = {np.unique(obs.size).tolist()}): a collapse needs at least 2")
            if not obs.y_std > 0:
                raise DataError(f"variable {obs.name!r} is constant ({obs.y[0]!r}): nothing to collapse")

    @property
    def sizes(self) -> np.ndarray:
        """Sorted distinct sizes over all observables."""
        return np.unique(np.concatenate([o.size for o in self.observables]))

    @property
    def all_control(self) -> np.ndarray:
        return np.concatenate([o.control for o in self.observables])

    @property
    def all_size(self) -> np.ndarray:
        return np.concatenate([o.size for o in self.observables])


def observable_parameters(form: ScalingForm, *, fit_a: bool = False, fit_err_scale: bool = True,
                          size_offsets: bool = False, size_tilts: bool = False) -> list[str]:
    """The parameters each observable adds to ``form.params`` in a :class:`CollapseModel`, in
    order: ``a`` (with ``fit_a``), the Gaussian process's ``amp`` and ``length``, ``err_scale``
    (with ``fit_err_scale``), the correction function's hyperparameters (a corrected form), and
    the scales ``size_offset``, ``size_tilt`` of the per-size error terms. A model has
    ``len(form.params) + n_observables * len(...)`` parameters."""
    return ((["a"] if fit_a else []) + ["amp", "length"] + (["err_scale"] if fit_err_scale else [])
            + (list(CORRECTION_HYPERPARAMETERS) if form.corrected else [])
            + (["size_offset"] if size_offsets else []) + (["size_tilt"] if size_tilts else []))


class CollapseModel:
    """Log-posterior of ``form`` on ``data``, vectorised: ``log_prob(vectors (W, D)) -> (W,)``.

    ``priors`` maps a parameter name (or, in a joint fit, a per-observable base name such as
    ``"a"`` for all observables) to a box ``(lo, hi)`` in natural units.
    :meth:`leaving_out` gives the posterior of the same model given all sizes but one.
    """

    #: the size whose points the likelihood leaves out (``None``: every point counts)
    drop_size: float | None = None

    def __init__(self, form: ScalingForm, data: CollapseData, *, fit_a: bool = False,
                 fit_err_scale: bool = True, priors: Mapping[str, Any] | None = None,
                 min_overlap: float = 0.25, size_offsets: bool = False, size_tilts: bool = False):
        if not 0.0 <= min_overlap <= 1.0:
            raise ConfigError(f"min_overlap = {min_overlap!r}: expected a fraction in [0, 1]")
        self.form, self.data = form, data
        self.fit_a, self.fit_err_scale, self.min_overlap = fit_a, fit_err_scale, float(min_overlap)
        if not form.params or form.params[0] != "p_c":
            raise PluginError(f"scaling form {form.name!r}: params = {form.params!r}: expected 'p_c' first")
        with plugin_call("scaling form", type(form)):
            base = {**form.default_priors(data.all_control, data.all_size), **HYPER_PRIORS}
        if fit_a:
            base["a"] = A_PRIOR
        local = observable_parameters(form, fit_a=fit_a, fit_err_scale=fit_err_scale, size_offsets=size_offsets,
                                      size_tilts=size_tilts)
        joint = len(data.observables) > 1
        self.names: list[str] = list(form.params)
        self.log_names: set[str] = set(form.log_params)
        self.local_names: list[dict[str, str]] = []
        boxes: dict[str, tuple[float, float]] = {p: base[p] for p in form.params if p in base}
        for obs in data.observables:
            mapping = {b: local_name(b, obs.name, joint) for b in local}
            self.local_names.append(mapping)
            for b, full in mapping.items():
                self.names.append(full)
                boxes[full] = base[b]
                if b != "a":
                    self.log_names.add(full)
        self.priors = self._apply_user_priors(boxes, dict(priors or {}), local)
        unbounded = [name for name in self.names if name not in self.priors]
        if unbounded:
            raise ConfigError(f"scaling form {form.name!r} gives no prior box for {', '.join(unbounded)}: its "
                              "default_priors must return (lo, hi) for every parameter but those the fitter adds, "
                              "or pass priors={name: (lo, hi)}")
        lower, upper = [], []
        for name in self.names:
            lo, hi = self.priors[name]
            lower.append(np.log(lo) if name in self.log_names else lo)
            upper.append(np.log(hi) if name in self.log_names else hi)
        self.lower, self.upper = np.array(lower), np.array(upper)
        self._size_index = [np.unique(obs.size, return_inverse=True) for obs in data.observables]
        self._size_groups = [SizeGroups.of(index, len(sizes)) for sizes, index in self._size_index]
        self._size_features = [size_features(obs.control, index, size_offsets, size_tilts)
                               for obs, (_, index) in zip(data.observables, self._size_index)]
        self._check_pc_prior()
        self._check_form()

    def _check_form(self) -> None:
        """Evaluate the form once for two walkers inside the prior box: a plugin's form that
        raises, or returns the wrong shape, is one line naming it (module docstring of
        :mod:`.forms`: ``(W, n)`` arrays, ``valid`` ``(W,)``) instead of a failure deep in the
        optimiser."""
        vectors = self.lower + np.array([[0.5], [0.25]]) * (self.upper - self.lower)
        theta = self._theta(vectors)
        with plugin_call("scaling form", type(self.form)):
            for j, obs in enumerate(self.data.observables):
                x = self.form.scaling_variable(obs.control, obs.size, self._local_theta(theta, j))
                if np.shape(x) != (2, obs.y.size):
                    raise PluginError(f"scaling form {self.form.name!r}: scaling_variable returned shape "
                                      f"{np.shape(x)} for 2 walkers and {obs.y.size} points; expected (W, n) = "
                                      f"(2, {obs.y.size})")
                self._scaled(theta, j)  # ln G and r broadcast to x's shape
            valid = self.form.valid(self.data.all_size, theta)
            if np.shape(valid) != (2,):
                raise PluginError(f"scaling form {self.form.name!r}: valid returned shape {np.shape(valid)} "
                                  "for 2 walkers; expected (W,) = (2,)")

    def leaving_out(self, size: float) -> "CollapseModel":
        """The same prior and model with the likelihood of every size but ``size``:
        ``p(theta | y_-k) ∝ p(theta) p(y_-k | theta)``, the marginal of the full model (the
        scaling variable and the units are still those of all points, as in :meth:`loglik`)."""
        held_out = copy.copy(self)
        held_out.drop_size = float(size)
        return held_out

    # -- priors ---------------------------------------------------------------------------
    def _apply_user_priors(self, boxes, given, local) -> dict[str, tuple[float, float]]:
        accepted = list(self.names) + [b for b in local if b not in self.names]
        for key, box in given.items():
            if key not in accepted:
                raise ConfigError(f"prior for unknown parameter {key!r} of form {self.form.name!r}: "
                                  f"expected one of {', '.join(accepted)}")
            targets = [m[key] for m in self.local_names] if key in local and key not in self.names else [key]
            try:
                lo, hi = (float(v) for v in box)
            except (TypeError, ValueError):
                raise ConfigError(f"prior {key} = {box!r}: expected two numbers (lo, hi)") from None
            positive = any(t in self.log_names for t in targets)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi) or (positive and lo <= 0):
                need = "0 < lo < hi" if positive else "finite lo < hi"
                raise ConfigError(f"prior {key} = ({lo}, {hi}): expected {need}")
            for t in targets:
                boxes[t] = (lo, hi)
        return boxes

    def _check_pc_prior(self) -> None:
        lo, hi = self.priors["p_c"]
        cmin, cmax = float(self.data.all_control.min()), float(self.data.all_control.max())
        if hi < cmin or lo > cmax:
            raise ConfigError(f"prior p_c = ({lo}, {hi}) excludes the data: the measured "
                              f"{self.data.control_name} spans [{cmin}, {cmax}]")

    # -- coordinates ----------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.names)

    def to_physical(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Sampling coordinates ``(W, D)`` -> ``{name: (W,)}`` in natural units."""
        vectors = np.atleast_2d(vectors)
        return {n: (np.exp(vectors[:, i]) if n in self.log_names else vectors[:, i])
                for i, n in enumerate(self.names)}

    def to_vector(self, values: Mapping[str, float]) -> np.ndarray:
        """``{name: value}`` in natural units (every parameter) -> sampling coordinates ``(D,)``."""
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ConfigError(f"start point lacks {', '.join(missing)}: expected values for {', '.join(self.names)}")
        return np.array([np.log(values[n]) if n in self.log_names else float(values[n]) for n in self.names])

    # -- pieces ---------------------------------------------------------------------------
    def _theta(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v[:, None] for k, v in self.to_physical(vectors).items()}

    def _local_theta(self, theta, j: int) -> dict[str, np.ndarray]:
        """``theta`` as the form sees it for observable ``j``: its own ``a``, if fitted."""
        names = self.local_names[j]
        return {**theta, "a": theta[names["a"]]} if "a" in names else {k: v for k, v in theta.items() if k != "a"}

    def _scaled(self, theta, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        obs, local = self.data.observables[j], self._local_theta(theta, j)
        x = self.form.scaling_variable(obs.control, obs.size, local)
        log_g = np.broadcast_to(self.form.log_size_factor(obs.size, local), x.shape)
        corr = np.broadcast_to(self.form.correction_factor(obs.size, local), x.shape) if self.form.corrected else None
        return x, log_g, corr

    def scaled(self, vectors: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """Per observable: ``(x, ln G, r)`` of every point, each ``(W, n)`` (``r``, the correction
        factor, ``None`` for a form without correction)."""
        theta = self._theta(np.atleast_2d(vectors))
        return [self._scaled(theta, j) for j in range(len(self.data.observables))]

    def overlap(self, vectors: np.ndarray) -> np.ndarray:
        """Worst overlap of the scaled curves over observables, ``(W,)``."""
        return self._overlap(self.scaled(vectors))

    def _overlap(self, scaled) -> np.ndarray:
        worst = np.ones(scaled[0][0].shape[0])
        for groups, (x, *_) in zip(self._size_groups, scaled):
            worst = np.minimum(worst, overlap_fraction(x, groups))
        return worst

    def loglik(self, vectors: np.ndarray, drop_size: float | None = None) -> np.ndarray:
        """``ln p(y | theta)`` summed over observables (``(W,)``); with ``drop_size``, of the
        points at every other size only (units still set by all points)."""
        vectors = np.atleast_2d(vectors)
        theta = self._theta(vectors)
        scaled = [self._scaled(theta, j) for j in range(len(self.data.observables))]
        return self._loglik(theta, scaled, drop_size)

    def _loglik(self, theta, scaled, drop_size=None) -> np.ndarray:
        total = np.zeros(scaled[0][0].shape[0])
        for obs, names, (sizes, _), features, (x, log_g, corr) in zip(
                self.data.observables, self.local_names, self._size_index, self._size_features, scaled):
            err_scale = theta[names["err_scale"]][:, 0] if "err_scale" in names else np.ones(len(total))
            keep = None if drop_size is None else obs.size != drop_size
            amp_corr = theta[names["amp_corr"]][:, 0] if corr is not None else None
            per_size = {} if features is None else {"features": features, "feature_sd": size_feature_sd(
                len(sizes), *(theta[names[b]][:, 0] if b in names else None for b in ("size_offset", "size_tilt")))}
            total += collapse_loglik(x, log_g, obs.y, obs.err, obs.y_std, theta[names["amp"]][:, 0],
                                     theta[names["length"]][:, 0], err_scale, keep=keep, corr=corr, amp_corr=amp_corr,
                                     **per_size)
        return total

    def log_prob(self, vectors: np.ndarray) -> np.ndarray:
        """Log-posterior (up to a constant) of each row of ``vectors`` ``(W, D)``."""
        vectors = np.atleast_2d(vectors)
        out = np.full(vectors.shape[0], -np.inf)
        rows = np.flatnonzero(np.all((vectors >= self.lower) & (vectors <= self.upper), axis=1))
        with np.errstate(all="ignore"):
            if rows.size:
                theta = self._theta(vectors[rows])
                valid = self.form.valid(self.data.all_size, theta)
                rows, theta = rows[valid], {k: v[valid] for k, v in theta.items()}
            if rows.size:
                scaled = [self._scaled(theta, j) for j in range(len(self.data.observables))]
                good = np.all([np.isfinite(x).all(axis=1) & np.isfinite(g).all(axis=1) for x, g, _ in scaled], axis=0)
                good &= self._overlap(scaled) >= self.min_overlap
                if good.any():
                    theta = {k: v[good] for k, v in theta.items()}
                    out[rows[good]] = self._loglik(theta, [tuple(None if a is None else a[good] for a in parts)
                                                           for parts in scaled], self.drop_size)
        return np.where(np.isfinite(out), out, -np.inf)
