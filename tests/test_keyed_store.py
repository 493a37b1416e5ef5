"""The keyed store (statmech_nn.keyed_store) shared by processes: a reader that comes while
another process seals an entry neither deletes it nor breaks the write. Real files; the other
process's reader runs at the exact moment between data and digest (the ``before_sealing`` hook)."""

import warnings
from pathlib import Path

from statmech_nn.keyed_store import KeyedStore
from statmech_nn.lease import held, try_acquire

KEY = "ab" + "0" * 62


def _store(root):
    return KeyedStore(root, ".txt", lambda path: path.read_text(), "entry")


def _save_while_read(store, text):
    """Save ``text`` under KEY; return what a concurrent reader got while it was being sealed."""
    during = []
    store.save(KEY, lambda tmp: Path(tmp).write_text(text), before_sealing=lambda: during.append(store.load(KEY)))
    return during[0]


def test_a_new_entry_read_while_sealed_is_absent_then_complete(tmp_path):
    # Truth: between its data and its digest an entry is incomplete, not corrupt: another
    # process loading it then must get None, without a warning and without deleting the data
    # (which made the writer fail with FileNotFoundError while sealing); once sealed it reads back.
    store = _store(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _save_while_read(store, "new") is None
    assert [str(w.message) for w in caught] == []
    assert store.load(KEY) == "new" and store.problem(KEY) is None


def test_an_entry_replaced_while_read_is_absent_then_the_new_one(tmp_path):
    # Truth: saving a key that holds a sealed entry (two processes computing the same artifact)
    # must not show a reader the new data beside the old digest -- a "corrupt" entry the reader
    # would delete under the writer -- but an incomplete one (None), then the new entry.
    store = _store(tmp_path)
    store.save(KEY, lambda tmp: Path(tmp).write_text("old"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _save_while_read(store, "new") is None
    assert [str(w.message) for w in caught] == []
    assert store.load(KEY) == "new" and store.problem(KEY) is None


def test_a_corrupt_entry_is_left_to_the_process_that_is_rewriting_it(tmp_path):
    # Truth: a reader deletes a corrupt entry only under the entry's write lease. While a writer
    # holds it (here: the lease file taken for real, as a writer's save takes it) the reader
    # gets None and deletes nothing -- in a three-process race its delete could otherwise hit
    # the data file the writer is sealing; once the lease is free it reports and deletes.
    store = _store(tmp_path)
    store.save(KEY, lambda tmp: Path(tmp).write_text("sound"))
    store.path(KEY).write_text("bit rot")
    lease = store.write_lease(KEY)
    assert try_acquire(lease)
    with held(lease), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.load(KEY) is None
    assert caught == [] and store.path(KEY).exists() and store.sidecar(KEY).exists()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.load(KEY) is None
    assert [str(w.message).split(" (")[0] for w in caught] == [f"entry {KEY}.txt is corrupt"]
    assert not store.path(KEY).exists() and not store.sidecar(KEY).exists()
