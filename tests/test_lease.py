"""Leases (statmech_nn.lease): one holder at a time; a dead holder's lease is broken, a live
one's respected -- judged by process id on this host, by renewal age from another host."""

import json
import os
import socket
import subprocess
import sys
import time

from statmech_nn import lease


def test_one_holder_at_a_time_and_release(tmp_path):
    path = tmp_path / "leases" / "k"
    assert lease.try_acquire(path)
    assert not lease.try_acquire(path)  # held by this (live) process
    with lease.held(path):
        assert path.exists()
    assert not path.exists() and lease.try_acquire(path)


def test_a_lease_of_a_dead_process_on_this_host_is_broken_at_once(tmp_path):
    path = tmp_path / "k"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert lease.try_acquire(path)
    holder = json.loads(path.read_text())
    path.write_text(json.dumps({**holder, "pid": int(dead.stdout)}))  # the holder has exited
    assert lease.try_acquire(path)
    assert json.loads(path.read_text())["pid"] == os.getpid()


def test_a_lease_from_another_host_is_broken_only_when_not_renewed(tmp_path):
    path = tmp_path / "k"
    path.write_text(json.dumps({"host": "some-other-node", "pid": 1, "since": time.time()}))
    assert not lease.try_acquire(path)  # renewed recently: its holder may be computing
    stale = time.time() - lease.STALE_AFTER - 5
    os.utime(path, (stale, stale))
    assert lease.try_acquire(path)  # not renewed for STALE_AFTER: the node is gone
    assert not list(tmp_path.glob("*.broken"))


def _dead_pid() -> int:
    run = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(run.stdout)


def test_a_late_breaker_leaves_the_new_holders_lease_alone(tmp_path):
    # Truth: two waiters B and A both judge a dead holder's lease stale; A breaks it first and
    # takes the lease (it computes the cell). B's break, coming second, must not remove A's
    # lease -- else a third process could take it and compute the same cell at the same time.
    path = tmp_path / "k"
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid(), "since": time.time()}))
    seen_by_b = lease._stale(path)
    assert seen_by_b is not None  # B: the holder is dead
    assert lease.try_acquire(path)  # A breaks it and takes it
    taken_by_a = path.read_text()
    lease._break(path, seen_by_b)  # B breaks what it judged stale
    assert path.read_text() == taken_by_a
    assert not lease.try_acquire(path)  # A's lease is respected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]  # nothing left behind


def test_releasing_leaves_a_lease_another_process_took_after_breaking_it(tmp_path):
    # Truth: a holder that stopped renewing (frozen longer than STALE_AFTER) has its lease
    # broken and taken by another process; when it wakes and finishes, releasing must remove
    # only its own lease, not the new holder's.
    path = tmp_path / "k"
    assert lease.try_acquire(path)
    other = json.dumps({"host": "some-other-node", "pid": 1, "since": time.time()})
    with lease.held(path):
        path.unlink()  # broken by the other process ...
        path.write_text(other)  # ... which took the lease
    assert path.read_text() == other
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k"]
