"""Turn what a user names as a scaling form (registry name, class or instance) into an instance."""

from __future__ import annotations

from ...errors import ConfigError
from .forms import ScalingForm


def resolve_form(form, registry=None) -> ScalingForm:
    """A :class:`ScalingForm` instance from a name (looked up in ``registry``, default the
    process-wide :func:`statmech_nn.plugins.get_registry`), a subclass, or an instance."""
    if isinstance(form, ScalingForm):
        return form
    if isinstance(form, type) and issubclass(form, ScalingForm):
        return form()
    if isinstance(form, str):
        if registry is None:
            from ...plugins import get_registry

            registry = get_registry()
        return registry.scaling_form(form)()
    raise ConfigError(f"form = {form!r}: expected a scaling-form name, a ScalingForm subclass or instance")
