"""Scaling forms: how (control value p, size L, parameters) map to the collapse ``Y = f(x)``.

A finite-size-scaling ansatz says that an observable ``y(p, L)`` measured at control value ``p``
and system size ``L`` collapses onto one unknown function ``f``::

    y(p, L) * G(L; theta) = f(x(p, L; theta))

A :class:`ScalingForm` supplies the scaling variable ``x`` and the log size factor ``ln G``.
The generic y-exponent ``a`` (``G = L**a``, i.e. ``y = L**(-a) f(x)``) is added by the fitter
when asked for (``fit_a=True``); forms only override :meth:`ScalingForm.log_size_factor` to
add more (e.g. a correction to scaling). Built in:

* :class:`SecondOrder` (``"second_order"``): ``x = (p - p_c) L**(1/nu)``
  (correlation length ``xi ~ |p - p_c|**(-nu)``).
* :class:`BKT` (``"bkt"``): ``x = (p - p_c) ln(L/L0)**(1/sigma)``
  (``xi ~ exp(b / |p - p_c|**sigma)``); needs ``0 < L0 < min L``.

Third parties register more through the ``register_scaling_forms`` hook; the command line
looks a registered name up once and hands the form *object* down. The numerics take a form
object, or the name of a built-in form (:data:`BUILTIN_FORMS`, through :func:`as_form`): they
never reach up to the plugin registry. All methods are
vectorised: ``control`` and ``size`` have shape ``(n,)``; each entry of ``theta`` has shape
``(W, 1)`` (one row per walker), and results broadcast to ``(W, n)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from ...errors import ConfigError

Theta = Mapping[str, np.ndarray]


class ScalingForm:
    """Base class of scaling forms (see the module docstring for the contract).

    Class attributes:

    * ``name``: unique registry name; ``summary``: one line for listings.
    * ``params``: parameter names, ``p_c`` first.
    * ``log_params``: parameters that must be positive; they are sampled as ``ln(value)``
      with a log-uniform prior.
    * ``labels``: matplotlib mathtext label of each parameter; ``x_label``: of ``x``.
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ("p_c",)
    log_params: ClassVar[frozenset[str]] = frozenset()
    labels: ClassVar[dict[str, str]] = {"p_c": r"$p_c$", "a": r"$a$"}
    x_label: ClassVar[str] = r"$x$"

    def default_priors(self, control: np.ndarray, size: np.ndarray) -> dict[str, tuple[float, float]]:
        """Uniform (log-uniform for ``log_params``) prior box ``(lo, hi)`` of each parameter.

        Default for ``p_c``: the range of the control values (a critical point outside the
        measured range cannot be located by a collapse).
        """
        return {"p_c": (float(np.min(control)), float(np.max(control)))}

    def scaling_variable(self, control: np.ndarray, size: np.ndarray, theta: Theta) -> np.ndarray:
        """The scaling variable ``x(p, L; theta)``, shape ``(W, n)``."""
        raise NotImplementedError(f"scaling form {self.name!r} does not define scaling_variable")

    def log_size_factor(self, size: np.ndarray, theta: Theta) -> np.ndarray:
        """``ln G(L; theta)`` with ``y G = f(x)``; default ``a ln L`` (0 when ``a`` is not fitted)."""
        a = theta.get("a", np.zeros((1, 1)))
        return a * np.log(size)

    def valid(self, size: np.ndarray, theta: Theta) -> np.ndarray:
        """Boolean ``(W,)``: where the form is defined (beyond the prior box). Default: all."""
        return np.ones(np.shape(theta["p_c"])[0], dtype=bool)

    def label(self, param: str) -> str:
        return self.labels.get(param, param)


class SecondOrder(ScalingForm):
    """Continuous transition: ``y = L**(-a) f((p - p_c) L**(1/nu))``.

    Default prior: ``nu`` uniform on [0.25, 6].
    """

    name = "second_order"
    summary = "second order: x = (p - p_c) L^(1/nu)"
    params = ("p_c", "nu")
    labels = {**ScalingForm.labels, "nu": r"$\nu$"}
    x_label = r"$(p - p_c)\,L^{1/\nu}$"

    def default_priors(self, control, size):
        return {**super().default_priors(control, size), "nu": (0.25, 6.0)}

    def scaling_variable(self, control, size, theta):
        return (control - theta["p_c"]) * size ** (1.0 / theta["nu"])


class BKT(ScalingForm):
    """Berezinskii-Kosterlitz-Thouless-like: ``y = L**(-a) f((p - p_c) ln(L/L0)**(1/sigma))``.

    Default priors: ``sigma`` uniform on [0.2, 3] (pure BKT: 1/2); ``L0`` log-uniform on
    [1e-3 min L, 0.95 min L] (``ln(L/L0)`` must be positive for every size).
    """

    name = "bkt"
    summary = "BKT: x = (p - p_c) ln(L/L0)^(1/sigma)"
    params = ("p_c", "sigma", "L0")
    log_params = frozenset({"L0"})
    labels = {**ScalingForm.labels, "sigma": r"$\sigma$", "L0": r"$L_0$"}
    x_label = r"$(p - p_c)\,\ln(L/L_0)^{1/\sigma}$"

    def default_priors(self, control, size):
        lmin = float(np.min(size))
        return {**super().default_priors(control, size), "sigma": (0.2, 3.0),
                "L0": (1e-3 * lmin, 0.95 * lmin)}

    def scaling_variable(self, control, size, theta):
        log_ratio = np.log(size / theta["L0"])
        return (control - theta["p_c"]) * np.abs(log_ratio) ** (1.0 / theta["sigma"])

    def valid(self, size, theta):
        return np.all(theta["L0"] < np.min(size), axis=-1)


#: the built-in forms by name (the table :func:`as_form` reads; plugins' forms come as objects)
BUILTIN_FORMS: dict[str, type[ScalingForm]] = {form.name: form for form in (SecondOrder, BKT)}


def as_form(form: ScalingForm | type[ScalingForm] | str) -> ScalingForm:
    """A :class:`ScalingForm` instance from an instance, a subclass, or a built-in name.

    A name outside :data:`BUILTIN_FORMS` (a plugin's form) is an error here: resolve it where
    the name comes in (``statmech_nn.plugins.get_registry().scaling_form(name)``) and pass the
    class or instance.
    """
    if isinstance(form, ScalingForm):
        return form
    if isinstance(form, type) and issubclass(form, ScalingForm):
        return form()
    if isinstance(form, str):
        if form in BUILTIN_FORMS:
            return BUILTIN_FORMS[form]()
        raise ConfigError(f"unknown scaling form {form!r}: the built-in forms are {', '.join(BUILTIN_FORMS)}; "
                          "pass a plugin's form as an object (registry.scaling_form(name))")
    raise ConfigError(f"form = {form!r}: expected a ScalingForm subclass or instance, or a built-in form name "
                      f"({', '.join(BUILTIN_FORMS)})")
