"""SHA-256 digests: of configurations (cache keys) and of stored files (sidecars).

A configuration is hashed as :func:`canonical_json` (sorted keys, no whitespace), so the same
configuration always gives the same key (:func:`sha256_of`).

A stored data file ``X`` is accompanied by a sidecar holding its SHA-256, written atomically
*after* the data file. A file without a sidecar is incomplete: another process is writing it
right now, or a process stopped while writing it (the next write replaces it); a file whose
digest differs from the sidecar's was truncated or altered. Neither is ever trusted.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

from .io import write_atomically


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same configuration gives the same bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256_of(obj: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def data_sha256(ds: Any) -> str:
    """SHA-256 (hex) of an ``xarray.Dataset``'s numbers: every variable and coordinate, by name,
    with its dims, dtype, shape and values (C-order bytes; object arrays as JSON), attributes
    left out. The same numbers give the same digest in any process."""
    import numpy as np

    digest = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        values = np.asarray(var.values)
        digest.update(canonical_json([name, list(map(str, var.dims)), str(values.dtype), list(values.shape)]).encode())
        digest.update(json.dumps(values.tolist()).encode() if values.dtype == object
                      else np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of the bytes of ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_sha256(cls: type) -> str:
    """SHA-256 (hex) of the source file that defines ``cls`` (``""`` where there is none, e.g. a
    class made at an interactive prompt): a result computed by a plugin's class is recomputed
    when that file changes, although plugins carry no version of their code."""
    try:
        path = inspect.getsourcefile(cls)
    except TypeError:
        return ""
    return file_sha256(Path(path)) if path and Path(path).is_file() else ""


def write_digest(sidecar: Path, digest: str) -> None:
    """Record the SHA-256 ``digest`` (hex) in ``sidecar`` (:func:`statmech_nn.io.write_atomically`)."""
    write_atomically(sidecar, lambda tmp: Path(tmp).write_text(digest + "\n"))


def digest_problem(path: Path, sidecar: Path) -> str | None:
    """What is wrong with ``path`` against its ``sidecar`` (one phrase), or ``None`` if nothing."""
    if not path.exists():
        return "data file missing"
    if not sidecar.exists():
        return "digest file missing: the write was interrupted"
    recorded = sidecar.read_text().strip()
    actual = file_sha256(path)
    if recorded != actual:
        return f"sha256 {actual[:12]}... does not match the recorded {recorded[:12]}..."
    return None
