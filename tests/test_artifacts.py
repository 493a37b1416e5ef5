"""The artifact store: arrays come back exactly, and a damaged entry is never trusted."""

import subprocess
import sys
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


# A second process writing artifact KEY exactly as ArtifactStore.save does (np.savez into the
# store's KeyedStore), stopped at the moment between its data file and its digest: it says
# "sealing" and waits for a line on stdin ("die": it exits there instead, as if killed).
WRITER = """
import os, sys
import numpy as np
from statmech_nn.artifacts import ArtifactStore
root, key, mode = sys.argv[1:4]

def pause():
    if mode == "die":
        os._exit(3)
    print("sealing", flush=True)
    sys.stdin.readline()

def write(tmp):
    with open(tmp, "wb") as fh:
        np.savez(fh, w=np.arange(4.0))

ArtifactStore(root).entries.save(key, write, before_sealing=pause)
"""


def _writer(cache, mode):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(cache.artifacts.root), KEY, mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_cache_verify_leaves_alone_an_artifact_another_process_is_writing(tmp_path):
    # Truth: while another (live) process seals an artifact, its data file is on disk without
    # its digest. That entry is not damaged, so verify must keep it and report nothing, and the
    # writer's entry must then read back whole. Before the write lease, verify deleted the data
    # under the writer, which then sealed a digest of a missing file (the weights were lost).
    cache = CellCache(tmp_path)
    with _writer(cache, "pause") as writer:
        try:
            assert writer.stdout.readline().strip() == "sealing"
            assert cache.artifacts.path(KEY).exists() and not cache.artifacts.entries.sidecar(KEY).exists()
            assert cache.verify() == []
            assert cache.artifacts.path(KEY).exists()
            writer.stdin.write("\n")
            writer.stdin.flush()
            assert writer.wait(timeout=60) == 0
        finally:
            writer.kill()
    assert np.array_equal(cache.artifacts.load(KEY)["w"], np.arange(4.0))
    assert cache.verify() == []


def test_cache_verify_deletes_an_artifact_whose_writer_died(tmp_path):
    # Truth: a writer that died mid-write leaves data without digest and a lease of a dead
    # process; that lease is stale at once (statmech_nn.lease), so verify must still find the
    # incomplete entry and delete it -- the write lease must not shield a dead writer's debris.
    cache = CellCache(tmp_path)
    with _writer(cache, "die") as writer:
        assert writer.wait(timeout=60) == 3
    assert cache.artifacts.path(KEY).exists()
    damage = cache.verify()
    assert [(d.kind, d.path) for d in damage] == [("artifact", cache.artifacts.path(KEY))]
    assert "digest file missing" in damage[0].problem and not cache.artifacts.path(KEY).exists()
