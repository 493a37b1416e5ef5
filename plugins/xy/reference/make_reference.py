"""Make a reference dataset of this directory from its TOML: ``python make_reference.py NAME``.

Runs ``statmech-nn sweep NAME.toml`` (through the ordinary cell cache, so an interrupted run
resumes and a larger grid reuses finished cells), squeezes the one-valued ``seed`` dimension to
a scalar coordinate (so that the finite-size-scaling analyzer sees only ``T`` and ``L``), records
the wall time in the ``wall_time_s`` attribute and writes ``NAME.nc`` atomically beside the TOML
(coordinates without ``_FillValue``, as CF 2.5.1 requires). The wall time counts only the cells
computed in this run (cells already in the cache are read back).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from statmech_nn.io import read_netcdf, write_netcdf
from statmech_nn.schema import without_coordinate_fill

HERE = Path(__file__).resolve().parent


def main(name: str) -> Path:
    config = HERE / f"{name}.toml"
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "sweep.nc"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "statmech_nn", "sweep", str(config), "-o", str(raw)], check=True)
        wall = time.perf_counter() - start
        ds = without_coordinate_fill(read_netcdf(raw).squeeze("seed"))
    ds.attrs["wall_time_s"] = round(wall, 1)
    ds.attrs["reference_command"] = f"python plugins/xy/reference/make_reference.py {name}"
    out = write_netcdf(ds, HERE / f"{name}.nc")
    print(f"{out}: {wall:.0f} s wall")
    return out


if __name__ == "__main__":
    main(sys.argv[1])
