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
    * ``param_defaults``: parameters with a natural "absent" value (e.g. a correction 0).
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ("p_c",)
    log_params: ClassVar[frozenset[str]] = frozenset()
    labels: ClassVar[dict[str, str]] = {"p_c": r"$p_c$", "a": r"$a$"}
    #: parameters with a natural "absent" value (a correction amplitude 0), used by the
    #: synthetic-data generator when the truth does not name them
    param_defaults: ClassVar[dict[str, float]] = {}
    x_label: ClassVar[str] = r"$x$"

    def options(self) -> dict[str, object]:
        """Constructor arguments that rebuild this form from its class (stored with a posterior)."""
        return {}

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


#: prior box of the correction amplitude ``c`` of both built-in forms: a correction of up to 100 %
#: at the smallest size, either sign (the same freedom for both classes)
CORRECTION_PRIOR = (-1.0, 1.0)


class _Corrected(ScalingForm):
    """A built-in form whose leading correction (amplitude ``c``) is switched on by
    ``corrections=True``; off, ``c = 0`` and the parameter is absent."""

    base_params: ClassVar[tuple[str, ...]] = ("p_c",)

    def __init__(self, corrections: bool = False):
        self.corrections = bool(corrections)
        self.params = self.base_params + (("c",) if self.corrections else ())

    def options(self):
        return {"corrections": self.corrections}

    def default_priors(self, control, size):
        return {**super().default_priors(control, size), **({"c": CORRECTION_PRIOR} if self.corrections else {})}

    def _c(self, theta) -> np.ndarray:
        return theta["c"] if self.corrections else np.zeros((1, 1))


class SecondOrder(_Corrected):
    """Continuous transition with the leading correction to scaling::

        y = L**(-a) f((p - p_c) L**(1/nu)) (1 + c (L_min / L)**omega),      omega = 1

    The correction is off by default (``c = 0``); ``SecondOrder(corrections=True)`` (CLI
    ``--corrections``) fits it. ``c`` is the relative size of the correction at the smallest size ``L_min`` of the data
    (``omega = 1``: the analytic correction, e.g. from the non-linear scaling fields or a
    boundary; Ising's leading irrelevant exponent is larger and percolation's ~0.9 -- one
    fixed exponent with a fitted amplitude is the same freedom the BKT form gets).
    Default priors: ``nu`` uniform on [0.25, 6]; ``c`` uniform on [-1, 1].
    """

    name = "second_order"
    summary = "second order: x = (p - p_c) L^(1/nu) [correction (1 + c L_min/L)]"
    base_params = ("p_c", "nu")
    labels = {**ScalingForm.labels, "nu": r"$\nu$", "c": r"$c$"}
    x_label = r"$(p - p_c)\,L^{1/\nu}$"
    param_defaults = {"c": 0.0}
    omega = 1.0

    def default_priors(self, control, size):
        return {**super().default_priors(control, size), "nu": (0.25, 6.0)}

    def scaling_variable(self, control, size, theta):
        return (control - theta["p_c"]) * size ** (1.0 / theta["nu"])

    def log_size_factor(self, size, theta):
        """``ln G = a ln L - ln(1 + c (L_min/L)^omega)``."""
        return super().log_size_factor(size, theta) - np.log1p(self._c(theta) * (np.min(size) / size) ** self.omega)

    def valid(self, size, theta):
        return np.ones(np.shape(theta["p_c"])[0], dtype=bool) if not self.corrections else theta["c"][:, 0] > -1.0


class BKT(_Corrected):
    """Berezinskii-Kosterlitz-Thouless transition, with its critical phase and log corrections::

        y = L**(-a) f(x) (1 + c / ln(L/L0))
        x = (p - p_c) S_L,                                   S_L = ln(L/L0)**(1/sigma)   (p > p_c)
        x = (p - p_c) (S_min + kappa (S_L - S_min))          in the critical phase        (p < p_c)

    Disordered side: ``xi ~ exp(b / (p - p_c)**sigma)`` (Kosterlitz 1974; ``sigma = 1/2``), so
    ``L / xi`` is a function of ``(p - p_c) ln(L/L0)**(1/sigma)``. Critical phase: a line of
    fixed points, where the curves of different sizes *merge* instead of fanning out (at fixed
    ``p`` the observable tends to a ``p``-dependent limit): ``kappa = 0``, the scaling variable
    is the same for every size (the smallest size's factor ``S_min``, so ``x`` is continuous at
    ``p_c``). ``kappa = 1`` is the symmetric BKT-like scaling ``(p - p_c) ln(L/L0)**(1/sigma)`` on
    both sides (curves fanning out both ways, as a BKT-like crossover without a critical phase
    would give); ``kappa`` in [0, 1] is fitted. The factor ``1 + c / ln(L/L0)`` is the standard
    logarithmic correction: at ``T_BKT`` of the XY model ``xi_2nd / L = 0.7507 (1 + 0.283 /
    ln(L/L0))`` (Hasenbusch 2005) and ``Upsilon = 2 T / pi (1 + 1 / (2 ln(L/L0)))`` (Weber &
    Minnhagen 1988).

    ``critical_phase = "below"`` (the XY model in temperature); a subclass with ``"above"``
    puts the critical phase at ``p > p_c``. ``L_min`` is the smallest of the sizes passed in
    (all the points of the observable). The correction is off by default (``c = 0``);
    ``BKT(corrections=True)`` (CLI ``--corrections``) fits it. Default priors: ``sigma``
    uniform on [0.2, 3] (pure BKT: 1/2); ``L0`` log-uniform on [1e-3 min L, 0.95 min L];
    ``kappa`` uniform on [0, 1]; ``c`` uniform on [-1, 1]. Synthetic data default to
    ``kappa = 1``, ``c = 0``.
    """

    name = "bkt"
    summary = "BKT: x = (p - p_c) ln(L/L0)^(1/sigma), curves merge below p_c [correction (1 + c/ln(L/L0))]"
    base_params = ("p_c", "sigma", "L0", "kappa")
    log_params = frozenset({"L0"})
    labels = {**ScalingForm.labels, "sigma": r"$\sigma$", "L0": r"$L_0$", "kappa": r"$\kappa$", "c": r"$c$"}
    x_label = r"$(p - p_c)\,\ln(L/L_0)^{1/\sigma}$"
    param_defaults = {"c": 0.0, "kappa": 1.0}
    critical_phase = "below"

    def default_priors(self, control, size):
        lmin = float(np.min(size))
        return {**super().default_priors(control, size), "sigma": (0.2, 3.0), "L0": (1e-3 * lmin, 0.95 * lmin),
                "kappa": (0.0, 1.0)}

    def scaling_variable(self, control, size, theta):
        distance = control - theta["p_c"]
        power = 1.0 / theta["sigma"]
        running = np.abs(np.log(size / theta["L0"])) ** power
        merged = np.abs(np.log(np.min(size) / theta["L0"])) ** power
        critical = distance < 0 if self.critical_phase == "below" else distance > 0
        return distance * np.where(critical, merged + theta["kappa"] * (running - merged), running)

    def log_size_factor(self, size, theta):
        """``ln G = a ln L - ln(1 + c / ln(L/L0))``."""
        return super().log_size_factor(size, theta) - np.log1p(self._c(theta) / np.log(size / theta["L0"]))

    def valid(self, size, theta):
        smallest = np.min(size)
        below = theta["L0"][:, 0] < smallest
        if not self.corrections:
            return below
        return below & (1.0 + theta["c"][:, 0] / np.log(smallest / theta["L0"][:, 0]) > 0)


#: the built-in forms by name (the table :func:`as_form` reads; plugins' forms come as objects)
BUILTIN_FORMS: dict[str, type[ScalingForm]] = {form.name: form for form in (SecondOrder, BKT)}


def rebuild_form(form: ScalingForm | type[ScalingForm] | str, options: dict | None = None) -> ScalingForm:
    """The form a posterior was fitted with: :func:`as_form`, then rebuilt from its class with the
    recorded ``options`` (:meth:`ScalingForm.options`, the posterior's ``form_options_json``)."""
    form = as_form(form)
    return type(form)(**options) if options else form


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
