"""Provenance of the study's files: configuration hash, package versions, git commit.

Until the core provenance helper lands, this is the study's own: :func:`study_attrs` returns the
global attributes of every analysis file (CF ``Conventions``, ``title``, ``source``,
``history``, ``date_created`` and the study's ``config_json`` / ``config_sha256`` through
:func:`statmech_nn.schema.provenance_attrs`), plus ``package_versions_json`` and
``git_commit`` (of the repository holding this package, when there is one; else "").
"""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from .. import __version__
from ..schema import canonical_json, provenance_attrs

PACKAGES = ("statmech_nn", "numpy", "scipy", "xarray", "netCDF4", "lmfit", "emcee", "matplotlib", "torch")


@functools.cache
def package_versions() -> dict[str, str]:
    """Installed versions of the packages whose code produced the numbers."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@functools.cache
def git_commit() -> str:
    """``git rev-parse HEAD`` of the source tree of this package ("" outside a git checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def study_attrs(*, title: str, config: Any, history: str, **extra: Any) -> dict[str, Any]:
    """Global attributes of one analysis file of a study."""
    return provenance_attrs(title=title, source=f"statmech_nn {__version__} study", config=config,
                            history=history, package_versions_json=canonical_json(package_versions()),
                            git_commit=git_commit(), **extra)
