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

A writer holds the entry's *write lease* (``<root>/<key[:2]>/.<key>.writing``, a
:mod:`statmech_nn.lease`) from before it removes the old sidecar until the new one is in place.
:meth:`KeyedStore.discard_if_damaged` (``statmech-nn cache verify``) deletes an incomplete or
corrupt entry, and :meth:`KeyedStore.load` a corrupt one, only while holding that lease itself,
so neither ever deletes the data file of an entry another process is sealing, nor an entry
sealed between its check and its deletion; an entry whose writer died (a stale lease, broken as
:mod:`statmech_nn.lease` says) is deleted.
The two-character fan-out keeps directories small at 10^5 entries.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from .digest import digest_problem, file_sha256, write_digest
from .errors import DataError
from .io import write_atomically
from .lease import held, try_acquire, wait_until_released

T = TypeVar("T")
SIDECAR = ".sha256"
WRITING = ".writing"


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

    def write_lease(self, key: str) -> Path:
        """The lease held while entry ``key`` is written (module docstring); a dot file, so
        :meth:`keys` never lists it."""
        return self.root / key[:2] / f".{key}{WRITING}"

    @contextmanager
    def _writing(self, key: str) -> Iterator[None]:
        """Hold the write lease of ``key`` for the block (waiting while another process holds it)."""
        lease = self.write_lease(key)
        while not try_acquire(lease):
            wait_until_released(lease)
        with held(lease):
            yield

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
        digest: list[str] = []

        def fill(tmp: str) -> None:
            write(tmp)
            digest.append(file_sha256(Path(tmp)))

        with self._writing(key):
            self.sidecar(key).unlink(missing_ok=True)
            write_atomically(path, fill)
            before_sealing()
            write_digest(self.sidecar(key), digest[0])
        return path

    def discard_if_damaged(self, key: str) -> str | None:
        """Delete entry ``key`` if it is incomplete or corrupt and no process is writing it;
        return what was wrong (one phrase), or ``None`` if it is sound or being written. The
        verdict is re-checked under the entry's write lease, which no writer holds meanwhile."""
        if self.problem(key) is None:
            return None
        lease = self.write_lease(key)
        if not try_acquire(lease):
            return None  # another process is writing it right now
        with held(lease):
            problem = self.problem(key)
            if problem is not None:
                self.drop(key)
            return problem

    def load(self, key: str) -> T | None:
        """The entry, or ``None`` if absent, incomplete or damaged, never a damaged one.

        No sidecar: absent or incomplete (perhaps being sealed by another process this moment),
        left alone without a word. A damaged entry (digest mismatch, missing data file, or
        ``read`` raising :class:`~statmech_nn.errors.DataError`) is re-checked under its write
        lease, then reported as a ``RuntimeWarning`` naming the store's label and deleted; while
        another process holds that lease (it is rewriting the entry) it is left to that process.
        """
        if not self.sidecar(key).exists():
            return None
        value, problem = self._read(key)
        if problem is None:
            return value
        lease = self.write_lease(key)
        if not try_acquire(lease):
            return None
        with held(lease):
            if not self.sidecar(key).exists():
                return None
            value, problem = self._read(key)
            if problem is None:  # sealed by a writer between the two looks
                return value
            warnings.warn(f"{self.label} {self.path(key).name} is corrupt ({problem}); recomputing it",
                          RuntimeWarning, stacklevel=2)
            self.drop(key)
            return None

    def _read(self, key: str) -> tuple[T | None, str | None]:
        """``(read(data file), None)`` if the entry matches its sidecar and reads, else
        ``(None, what is wrong)``."""
        problem = self.problem(key)
        if problem is None:
            try:
                return self.read(self.path(key)), None
            except DataError as exc:
                problem = str(exc)
        return None, problem

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
