"""Prior boxes as a user names them, ``[FORM:]NAME`` -> ``(lo, hi)``, sorted out over the fitted
forms: ``--prior [FORM:]NAME=LO,HI`` on the command line, ``"[FORM:]NAME" = [LO, HI]`` in a
study's ``[analysis.fss.priors]``.

Without ``FORM`` a box applies to every fitted form that has the parameter (the fitter's own
parameters, :data:`GENERIC_PARAMS`, every form has); with it, to that form only, and it wins over
a box without (a general box narrowed for one form), whatever the order. The same parameter
given twice at one level is an error. Whether a box is inside what a form accepts is checked by
the fit (:class:`~.model.CollapseModel`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...errors import ConfigError

#: parameters the fitter adds to every form (so a box without FORM reaches each of them)
GENERIC_PARAMS = ("p_c", "a", "amp", "length", "err_scale", "amp_corr")

#: one box as given: (how the error names it, "[FORM:]NAME", (lo, hi))
PriorEntry = tuple[str, str, tuple[float, float]]


def prior_boxes(entries: Iterable[PriorEntry], forms: Sequence) -> dict[str, dict[str, tuple[float, float]]]:
    """``{form name: {parameter: (lo, hi)}}`` for every form in ``forms`` (the fitted
    :class:`~.forms.ScalingForm` objects) from ``entries``; one-line :class:`ConfigError`
    naming the entry (its label) for a form not fitted, a parameter no fitted form has, or a
    box given twice."""
    params = {f.name: f.params for f in forms}
    out: dict[str, dict[str, tuple[float, float]]] = {f.name: {} for f in forms}
    specific: set[tuple[str, str]] = set()         # (form, name) set by a FORM:NAME entry
    for label, head, box in entries:
        form, colon, name = head.rpartition(":")
        if not name:
            raise ConfigError(f"{label}: expected [FORM:]NAME, e.g. nu or bkt:sigma")
        if colon:
            if form not in out:
                raise ConfigError(f"{label}: form {form!r} is not fitted (expected one of {', '.join(out)})")
            targets = [form]
        else:
            targets = [f for f in out if name in GENERIC_PARAMS or name in params[f]]
            if not targets:
                raise ConfigError(f"{label}: no fitted form has a parameter {name!r}")
        for target in targets:
            if name in out[target] and ((target, name) in specific) == bool(colon):
                raise ConfigError(f"{label}: a prior for {name} of {target} is given twice: give it once")
            if colon or (target, name) not in specific:
                out[target][name] = (float(box[0]), float(box[1]))
            if colon:
                specific.add((target, name))
    return out
