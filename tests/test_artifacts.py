"""The artifact store: arrays come back exactly, and a damaged entry is never trusted."""

import warnings

import numpy as np
import pytest

from statmech_nn.artifacts import ArtifactStore
from statmech_nn.cache import CellCache

KEY = "ab" + "0" * 62


def test_round_trip_is_exact(tmp_path):
    # Truth: npz stores the raw bytes, so float32 weights come back bit for bit.
    store = ArtifactStore(tmp_path)
    arrays = {"w0": np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32), "b0": np.arange(5.0)}
    assert store.load(KEY) is None
    store.save(KEY, arrays)
    back = store.load(KEY)
    assert back.keys() == arrays.keys()
    for name in arrays:
        assert back[name].dtype == arrays[name].dtype and np.array_equal(back[name], arrays[name])


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_entry_is_detected_deleted_and_absent(tmp_path, damage):
    # Truth: the sidecar digest is written after the data, so a truncated or altered file must
    # read as absent, and be reported and deleted.
    store = ArtifactStore(tmp_path)
    store.save(KEY, {"w0": np.ones((100, 100), np.float32)})
    path = store.path(KEY)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert store.load(KEY) is None
    assert not path.exists()


def test_entry_without_digest_is_absent_and_replaced_by_the_next_save(tmp_path):
    # Truth: data without its digest is an entry a crash interrupted or another process is
    # sealing right now (tests/test_keyed_store.py): it must read as absent, be left alone
    # (no warning: it may be fine a moment later), and the next save must make it whole.
    store = ArtifactStore(tmp_path)
    store.save(KEY, {"w0": np.ones((100, 100), np.float32)})
    path = store.path(KEY)
    path.with_suffix(".sha256").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert store.load(KEY) is None
    assert path.exists()
    store.save(KEY, {"w0": np.zeros(3)})
    assert np.array_equal(store.load(KEY)["w0"], np.zeros(3))


def test_cache_keeps_artifacts_beside_its_cells(tmp_path):
    assert CellCache(tmp_path).artifacts.root == tmp_path / "artifacts"
