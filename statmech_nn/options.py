"""Declarative, validated option sections (the non-grid part of a sweep configuration).

An experiment declares ``options_spec = {"section": (Option(...), ...), ...}``; a TOML file
or a Python dict supplies values; :func:`resolve_options` returns the complete, typed
configuration or raises a one-line :class:`~statmech_nn.errors.ConfigError` that names the bad
key or value and what is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, PluginError


@dataclass(frozen=True)
class Option:
    """One configurable value.

    ``types`` are the accepted Python types (``bool`` is never accepted for ``int``/``float``;
    a float must be finite: ``inf`` and ``nan`` are refused here, once, rather than overflowing
    later in whatever code uses the value); ``choices`` restricts to a finite set; ``check`` is
    an extra predicate whose failure is reported with ``accepted`` (a short human description
    such as ``"a number > 0"``).
    """

    name: str
    default: Any
    doc: str
    types: tuple[type, ...] = (object,)
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], bool] | None = None
    accepted: str = ""

    def __post_init__(self):
        """The default must be ``None`` (not set: the user may give a value, the code decides
        otherwise) or a value the option accepts (a plugin's mistake, found when the plugin is
        imported rather than in a sweep that ran with it)."""
        if self.default is None:
            return
        try:
            self.validate(self.default, self.name)
        except ConfigError as exc:
            raise PluginError(f"option {self.name!r} has a default it does not accept: {exc}") from None

    def validate(self, value: Any, where: str) -> Any:
        """Return ``value`` (ints promoted to float where float is accepted) or raise."""
        if float in self.types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        type_ok = isinstance(value, self.types) and not (
            isinstance(value, bool) and bool not in self.types
        )
        if not type_ok:
            raise ConfigError(f"{where} = {value!r}: expected {self.describe()}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where} = {value!r}: expected a finite number ({self.describe()})")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{where} = {value!r}: expected {self.describe()}")
        if self.check is not None and not self.check(value):
            raise ConfigError(f"{where} = {value!r}: expected {self.describe()}")
        return value

    def describe(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.accepted:
            return self.accepted
        return " or ".join(t.__name__ for t in self.types)


OptionSpec = Mapping[str, Sequence[Option]]


def describe_options(spec: OptionSpec) -> list[dict[str, Any]]:
    """One JSON-safe row per option: section, name, default, accepted values, doc (what
    ``statmech-nn plugins --options EXPERIMENT`` shows)."""
    check_spec(spec)
    return [{"section": section, "name": opt.name, "default": opt.default, "accepted": opt.describe(),
             "doc": opt.doc} for section, options in spec.items() for opt in options]


def check_spec(spec: OptionSpec) -> None:
    """A :class:`PluginError` when a section declares two options of one name (the second
    would be unreachable, yet listed)."""
    for section, options in spec.items():
        names = [opt.name for opt in options]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise PluginError(f"option section [{section}] declares {twice[0]!r} twice: give each option once")


def resolve_options(spec: OptionSpec, given: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Merge ``given`` (section -> key -> value) over the defaults of ``spec`` and validate.

    Unknown sections and unknown keys are errors, so that a typo never silently falls back to
    a default.
    """
    check_spec(spec)
    given = dict(given or {})
    resolved: dict[str, dict[str, Any]] = {}
    for section, section_given in given.items():
        if section not in spec:
            raise ConfigError(
                f"unknown section [{section}]: expected one of {', '.join(sorted(spec)) or '(none)'}"
            )
        if not isinstance(section_given, Mapping):
            raise ConfigError(f"[{section}] must be a table of options, got {section_given!r}")
    for section, options in spec.items():
        section_given = dict(given.get(section, {}))
        known = {opt.name: opt for opt in options}
        for key in section_given:
            if key not in known:
                raise ConfigError(
                    f"unknown option {section}.{key}: expected one of {', '.join(sorted(known))}"
                )
        resolved[section] = {
            opt.name: opt.validate(section_given[opt.name], f"{section}.{opt.name}")
            if opt.name in section_given
            else opt.default
            for opt in options
        }
    return resolved


def positive(value: Any) -> bool:
    return value > 0


def non_negative(value: Any) -> bool:
    return value >= 0
