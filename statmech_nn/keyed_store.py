"""One store of files under SHA-256 keys, each proven complete by a digest sidecar.

Both the cell cache (:mod:`statmech_nn.cache`) and the artifact store
(:mod:`statmech_nn.artifacts`) are a :class:`KeyedStore`: entry ``key`` is the data file
``<root>/<key[:2]>/<key><suffix>`` plus its sidecar ``<key>.sha256`` (:mod:`statmech_nn.digest`).
Writing: the old sidecar (if any) removed, the data file atomically
(:func:`statmech_nn.io.write_atomically`, its digest taken from the temporary before the
rename), then whatever must happen before the entry counts (the cache indexes its points), then
the sidecar. An entry counts only once its sidecar matches its data, so a crash at any moment
leaves either a complete entry or an incomplete one (data without sidecar) that reads as absent
and is replaced by the next write -- never a trusted bad one. A reader that comes while another
process writes sees the entry incomplete, never a data file beside the old digest, so it leaves
the entry alone instead of deleting it as corrupt under the writer.
The two-character fan-out keeps directories small at 10^5 entries.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

from .digest import digest_problem, file_sha256, read_verified, write_digest
from .io import write_atomically

T = TypeVar("T")
SIDECAR = ".sha256"


class KeyedStore(Generic[T]):
    """Entries ``<root>/<key[:2]>/<key><suffix>`` read by ``read`` (which raises
    :class:`~statmech_nn.errors.DataError` on an unreadable file); ``label`` names an entry in
    warnings ("cache entry", "artifact")."""

    def __init__(self, root: str | os.PathLike, suffix: str, read: Callable[[Path], T], label: str):
        self.root, self.suffix, self.read, self.label = Path(root), suffix, read, label

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{self.suffix}"

    def sidecar(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SIDECAR}"

    def contains(self, key: str) -> bool:
        """Cheap presence test (both halves there; no digest check)."""
        return self.path(key).exists() and self.sidecar(key).exists()

    def problem(self, key: str) -> str | None:
        """What is wrong with entry ``key`` after re-hashing it (one phrase), or ``None``."""
        return digest_problem(self.path(key), self.sidecar(key))

    def save(self, key: str, write: Callable[[str], object], before_sealing: Callable[[], object] = lambda: None) -> Path:
        """``write(tmp)`` fills the data file (atomically); ``before_sealing()`` runs once it is
        in place; then the digest sidecar seals the entry. Returns the data file's path."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sidecar(key).unlink(missing_ok=True)
        digest: list[str] = []

        def fill(tmp: str) -> None:
            write(tmp)
            digest.append(file_sha256(Path(tmp)))

        write_atomically(path, fill)
        before_sealing()
        write_digest(self.sidecar(key), digest[0])
        return path

    def load(self, key: str) -> T | None:
        """The entry, or ``None`` if absent, incomplete (left alone) or corrupt (reported and
        deleted); see :func:`statmech_nn.digest.read_verified`."""
        return read_verified(self.path(key), self.sidecar(key), self.read, self.label)

    def drop(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
        self.sidecar(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every key with a data file or a sidecar (complete or not)."""
        seen: set[str] = set()
        for pattern in (f"??/*{self.suffix}", f"??/*{SIDECAR}"):
            for file in self.root.glob(pattern):
                key = file.name[: -len(file.suffix)]
                if key not in seen and not file.name.startswith("."):
                    seen.add(key)
                    yield key

    def files(self) -> Iterator[Path]:
        """Every file of the store (entries, sidecars, stray temporaries)."""
        return (f for f in self.root.glob("??/*") if f.is_file())
