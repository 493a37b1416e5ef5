"""The SQLite point index (statmech_nn.point_index) under the interleavings that concurrent
sweeps and Dask workers produce on one cache: real SQLite files, real connections."""

import sqlite3
from contextlib import closing

from statmech_nn.point_index import PointIndex


def test_an_index_file_another_process_is_still_creating_is_usable(tmp_path):
    # Truth: a connection creates the (empty, 0-byte) database file before its holder creates
    # the table. A second process that finds the file in that moment must still record and look
    # up points -- not fail with "no such table: points" because the file already exists.
    index = PointIndex(tmp_path)
    with closing(sqlite3.connect(index.path)):  # the other process, between connect and CREATE
        assert index.path.exists() and index.path.stat().st_size == 0
        assert index.lookup(["p1"]) == {}
        index.record("cell-a", ["p1", "p2"])
        assert index.lookup(["p1", "p2", "p3"]) == {"p1": "cell-a", "p2": "cell-a"}
        assert index.count() == 2
