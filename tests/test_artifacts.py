"""The artifact store: arrays come back exactly, and a damaged entry is never trusted."""

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


@pytest.mark.parametrize("damage", ["truncate", "flip", "no_digest"])
def test_damaged_entry_is_detected_deleted_and_absent(tmp_path, damage):
    # Truth: the sidecar digest is written after the data, so a truncated or altered file, or
    # one whose digest was never written (a crash mid-save), must read as absent.
    store = ArtifactStore(tmp_path)
    store.save(KEY, {"w0": np.ones((100, 100), np.float32)})
    path = store.path(KEY)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
    else:
        path.with_suffix(".sha256").unlink()
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert store.load(KEY) is None
    assert not path.exists()


def test_cache_keeps_artifacts_beside_its_cells(tmp_path):
    assert CellCache(tmp_path).artifacts.root == tmp_path / "artifacts"
