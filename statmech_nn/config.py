"""Sweep configuration files (TOML).

Layout::

    experiment = "mnist_dropout"    # optional; default: the reference experiment
    device = "cpu"                  # optional; overridden by --device
    p_train = [0.0, 0.5, 0.9]       # grid keys: the experiment's dimension names,
    p_eval = [0.0, 0.5, 0.9]        # each a value or a list of values
    N = [256, 2048, 16384]
    seed = [0, 1]

    [training]                      # option sections, as declared by the experiment
    epochs = 10

Unknown keys and sections are errors (a typo never falls back to a default silently).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_EXPERIMENT = "mnist_dropout"
TOP_LEVEL_KEYS = ("experiment", "device")


@dataclass
class SweepConfig:
    """A parsed (not yet validated against the experiment) sweep configuration."""

    experiment: str = DEFAULT_EXPERIMENT
    device: str | None = None
    grid: dict[str, Any] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)


def parse_config(raw: dict[str, Any], where: str = "config") -> SweepConfig:
    """Split a TOML document into experiment name, device, grid keys and option sections."""
    config = SweepConfig()
    for key, value in raw.items():
        if key == "experiment":
            if not isinstance(value, str):
                raise ConfigError(f"{where}: experiment = {value!r}: expected a plugin name (a string)")
            config.experiment = value
        elif key == "device":
            if not isinstance(value, str):
                raise ConfigError(f"{where}: device = {value!r}: expected 'cpu' or 'cuda'")
            config.device = value
        elif isinstance(value, dict):
            config.options[key] = value
        else:
            config.grid[key] = value
    return config


def read_toml(path: str | Path, what: str = "configuration file") -> tuple[dict[str, Any], str]:
    """The parsed table and the text of the TOML file ``path``; a missing, unreadable or invalid
    file is a one-line :class:`ConfigError` (``what`` names the kind of file in it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such {what}: {str(path)!r}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a TOML text file (TOML is UTF-8; byte {exc.start} is "
                          f"{exc.object[exc.start:exc.start + 1]!r})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_config(path: str | Path) -> SweepConfig:
    """Read and parse a sweep TOML file, with one-line errors for unreadable or invalid TOML."""
    raw, _ = read_toml(path)
    if isinstance(raw.get("grids"), dict):
        raise ConfigError(f"{path}: a study file (it has [grids.NAME] tables), not a sweep file: run it with "
                          f"'statmech-nn study {path} -o DIR'")
    return parse_config(raw, where=str(path))


def parse_value(text: str) -> Any:
    """A command-line value as TOML (``3``, ``0.5``, ``true``, ``"adam"``), else a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignment(text: str, what: str, form: str = "KEY=VALUE") -> tuple[str, str]:
    """Split ``key=value`` (both non-empty); a one-line error naming ``form`` otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ConfigError(f"{what} {text!r}: expected {form}")
    return key.strip(), value.strip()


def parse_assignments(items: list[str], what: str, form: str = "KEY=VALUE") -> dict[str, str]:
    """:func:`parse_assignment` of each of a repeatable option's ``items``, in order; a key given
    twice is a one-line error (the later value would silently win)."""
    found: dict[str, str] = {}
    for item in items:
        key, value = parse_assignment(item, what, form)
        if key in found:
            raise ConfigError(f"{what} {key} given twice ({key}={found[key]} and {key}={value}): give each once")
        found[key] = value
    return found
