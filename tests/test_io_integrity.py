"""Damaged files are detected, not read as other numbers: every array of a written NetCDF file
carries HDF5's Fletcher-32 checksum, every array of a Zarr store a CRC32C after its compression
(statmech_nn.io.with_checksums). A tester flipped one bit of a sweep file and `analyze powerlaw`
gave another alpha with exit 0; a Zarr store without the CRC read back other numbers for 27 of
30 flipped bytes of a chunk (zstd checks only its frame's structure)."""

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis.fss.layout import read_posterior
from statmech_nn.cli import main
from statmech_nn.errors import DataError
from statmech_nn.io import read_dataset, read_netcdf, write_netcdf, write_zarr

#: values whose float64 bytes occur once in the file: the damaged byte hits this array's data
VALUES = np.linspace(0.1234567, 9.8765432, 500)


def _flip_a_bit_of(path, values: np.ndarray, at: int) -> None:
    """Flip one bit of the stored bytes of ``values[at]`` (raw little-endian data in a chunk)."""
    data = bytearray(path.read_bytes())
    start = bytes(data).find(values.tobytes())
    assert start > 0, "the array's bytes are stored as they are (no compression)"
    data[start + 8 * at + 2] ^= 0x10
    path.write_bytes(bytes(data))


def loss_dataset(loss: np.ndarray) -> xr.Dataset:
    """The 500-point dataset the tests write: ``loss`` over ``N = 1 .. 500``."""
    return xr.Dataset({"loss": (("N",), loss)}, coords={"N": np.arange(1, 501)})


def assert_analysis_refuses(path, damage: str, capsys) -> None:
    """`analyze powerlaw PATH` exits 2 with one line saying ``damage``, no traceback."""
    assert main(["analyze", "powerlaw", str(path), "--var", "loss", "--size", "N"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and damage in err and "Traceback" not in err


def test_a_flipped_bit_in_an_array_is_one_line_naming_the_damage(tmp_path, capsys):
    """Truth: the file differs from what was written in one bit of one value; unchecked, it reads
    back as a different number (the undamaged copy reads back exactly)."""
    ds = loss_dataset(VALUES)
    good, bad = tmp_path / "good.nc", tmp_path / "bad.nc"
    write_netcdf(ds, good)
    write_netcdf(ds, bad)
    _flip_a_bit_of(bad, VALUES, 123)
    np.testing.assert_array_equal(read_netcdf(good)["loss"].values, VALUES)
    with pytest.raises(DataError, match=r"bad\.nc' as NetCDF: .*HDF error \(the file is damaged: a checksum"):
        read_netcdf(bad)
    assert_analysis_refuses(bad, "the file is damaged", capsys)


def test_a_damaged_group_of_a_tree_file_is_detected_too(tmp_path):
    """Truth: checksums cover every group of a DataTree file (a posterior keeps its draws in a
    group below the root, which the root-only read does not touch)."""
    root = xr.Dataset(attrs={"form": "second_order"})
    tree = xr.DataTree.from_dict({"/": root, "/posterior": xr.Dataset({"p_c": (("draw",), VALUES)})})
    path = tmp_path / "tree.nc"
    write_netcdf(tree, path)
    _flip_a_bit_of(path, VALUES, 7)
    read_netcdf(path)                                           # the root group is intact
    with pytest.raises(DataError, match="the file is damaged"):
        read_posterior(path)


def test_every_flipped_byte_of_a_zarr_chunk_is_one_line_naming_the_damage(tmp_path, capsys):
    """Truth: the store differs from what was written in one bit of the loss array's one chunk
    file; 40 positions spread over the whole file (compressed data and the checksum at its end)
    each fail the read with the one line, and the undamaged store reads back exactly."""
    ds = loss_dataset(VALUES)
    store = tmp_path / "sweep.zarr"
    write_zarr(ds, store)
    np.testing.assert_array_equal(read_dataset(store)["loss"].values, VALUES)
    [chunk] = [f for f in (store / "loss").rglob("*") if f.is_file() and f.name != "zarr.json"]
    intact = chunk.read_bytes()
    for at in np.linspace(0, len(intact) - 1, 40).astype(int):
        damaged = bytearray(intact)
        damaged[at] ^= 0x10
        chunk.write_bytes(bytes(damaged))
        with pytest.raises(DataError, match=r"sweep\.zarr' as Zarr: the store is damaged"):
            read_dataset(store)
    assert_analysis_refuses(store, "the store is damaged", capsys)


def test_every_group_of_a_zarr_tree_carries_the_checksum(tmp_path):
    """Truth: the codec chain of each array, as the store's own metadata lists it, ends in
    crc32c -- in the root and in a group below it (a posterior's draws)."""
    import zarr
    from zarr.codecs import Crc32cCodec

    tree = xr.DataTree.from_dict({"/": xr.Dataset({"loss": (("N",), VALUES)}),
                                  "/posterior": xr.Dataset({"p_c": (("draw",), VALUES)})})
    write_zarr(tree, tmp_path / "tree.zarr")
    for array in ("loss", "posterior/p_c"):
        assert isinstance(zarr.open_array(tmp_path / "tree.zarr" / array).metadata.codecs[-1], Crc32cCodec)


def test_a_lost_chunk_of_a_zarr_store_is_detected_not_read_as_unmeasured(tmp_path):
    """Truth: zarr reads a missing chunk as the fill value, NaN, which in a sweep means "not
    measured"; a store written here has every chunk, an all-NaN one too, so a chunk lost in a
    copy is a one-line error naming the array and how many chunks it has of how many."""
    loss = np.where(np.arange(500) < 250, np.nan, VALUES)   # first chunk all NaN: written anyway
    ds = loss_dataset(loss)
    ds["loss"].encoding = {"chunks": (250,)}
    store = tmp_path / "sweep.zarr"
    write_zarr(ds, store)
    np.testing.assert_array_equal(read_dataset(store)["loss"].values, loss)
    chunks = sorted(f for f in (store / "loss").rglob("*") if f.is_file() and f.name != "zarr.json")
    assert len(chunks) == 2
    chunks[1].unlink()
    with pytest.raises(DataError, match=r"sweep\.zarr' as Zarr: the store is damaged \(array 'loss' has 1 of its 2 "
                                        r"chunks\)$"):
        read_dataset(store)
