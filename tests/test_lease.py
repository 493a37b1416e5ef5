"""Leases (statmech_nn.lease): one holder at a time; a dead holder's lease is broken, a live
one's respected -- judged by process id on this host, by renewal age from another host."""

import json
import os
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
