"""Damaged files are detected, not read as other numbers: every array of a written NetCDF file
carries HDF5's Fletcher-32 checksum (statmech_nn.io.with_checksums). A tester flipped one bit of
a sweep file and `analyze powerlaw` gave another alpha with exit 0."""

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis.fss.layout import read_posterior
from statmech_nn.cli import main
from statmech_nn.errors import DataError
from statmech_nn.io import read_netcdf, write_netcdf

#: values whose float64 bytes occur once in the file: the damaged byte hits this array's data
VALUES = np.linspace(0.1234567, 9.8765432, 500)


def _flip_a_bit_of(path, values: np.ndarray, at: int) -> None:
    """Flip one bit of the stored bytes of ``values[at]`` (raw little-endian data in a chunk)."""
    data = bytearray(path.read_bytes())
    start = bytes(data).find(values.tobytes())
    assert start > 0, "the array's bytes are stored as they are (no compression)"
    data[start + 8 * at + 2] ^= 0x10
    path.write_bytes(bytes(data))


def test_a_flipped_bit_in_an_array_is_one_line_naming_the_damage(tmp_path, capsys):
    """Truth: the file differs from what was written in one bit of one value; unchecked, it reads
    back as a different number (the undamaged copy reads back exactly)."""
    ds = xr.Dataset({"loss": (("N",), VALUES)}, coords={"N": np.arange(1, 501)})
    good, bad = tmp_path / "good.nc", tmp_path / "bad.nc"
    write_netcdf(ds, good)
    write_netcdf(ds, bad)
    _flip_a_bit_of(bad, VALUES, 123)
    np.testing.assert_array_equal(read_netcdf(good)["loss"].values, VALUES)
    with pytest.raises(DataError, match=r"bad\.nc' as NetCDF: .*HDF error \(the file is damaged: a checksum"):
        read_netcdf(bad)
    assert main(["analyze", "powerlaw", str(bad), "--var", "loss", "--size", "N"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "the file is damaged" in err and "Traceback" not in err


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
