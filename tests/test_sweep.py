"""Sweeps through the content-addressed cache: resume after interruption, reuse on extension,
corrupt entries detected, identical results, partial grids as NaN."""

import numpy as np
import pytest
import xarray as xr

from statmech_nn.cache import CellCache
from statmech_nn.io import read_netcdf, write_netcdf
from statmech_nn.sweep import plan_sweep, run_sweep

from toy_experiment import UniformMean

GRID = {"p_train": [0.0, 0.5], "N": [10, 100, 1000], "seed": [0, 1]}


@pytest.fixture(autouse=True)
def fresh_counter():
    UniformMean.calls = 0
    UniformMean.fail_after = None
    yield
    UniformMean.fail_after = None


def data_only(ds):
    """What must be identical between runs: everything but the creation time / command line."""
    return ds.drop_attrs(deep=False)


def test_sweep_result_has_full_grid_and_known_mean(tmp_path):
    ds = run_sweep(UniformMean(), GRID, CellCache(tmp_path), progress=False)
    assert dict(ds.sizes) == {"p_train": 2, "N": 3, "seed": 2}
    # mean of n uniforms: 1/2 with standard error 1/sqrt(12 n); 5 sigma over 12 points never trips by chance
    n = ds["N"]
    assert float(abs((ds["loss"] - 0.5) / np.sqrt(1 / (12 * n))).max()) < 5
    assert ds.attrs["config_sha256"] and "toy_uniform_mean" in ds.attrs["config_json"]
    assert ds["p_train"].attrs["long_name"] == "training dropout rate"


def test_source_names_the_experiments_installed_distribution(tmp_path):
    """Truth: percolation comes from the installed distribution statmech-nn-percolation (its
    version from the package metadata), so a collaborator's file says which plugin release made
    it; an experiment defined in a script or test belongs to no installed distribution and says
    nothing more."""
    from importlib import metadata

    from statmech_percolation.experiment import PercolationExperiment

    ds = run_sweep(PercolationExperiment({"sampling": {"n_samples": 20}}), {"p": [0.5], "L": [8]}, CellCache(tmp_path),
                   progress=False)
    version = metadata.version("statmech-nn-percolation")
    assert ds.attrs["source"].endswith(f"; experiment percolation 1 (statmech-nn-percolation {version})")
    class ScriptToy(UniformMean):
        """UniformMean (of statmech_nn.testing) as a script would define it."""

    toy = run_sweep(ScriptToy(), GRID, CellCache(tmp_path), progress=False)
    assert toy.attrs["source"].endswith(f"; experiment toy_uniform_mean {UniformMean.version}")


def test_same_config_and_seed_give_identical_numbers(tmp_path):
    a = run_sweep(UniformMean(), GRID, CellCache(tmp_path / "a"), progress=False)
    b = run_sweep(UniformMean(), GRID, CellCache(tmp_path / "b"), progress=False)
    xr.testing.assert_identical(data_only(a), data_only(b))
    c = run_sweep(UniformMean({"sampling": {"scale": 2.0}}), GRID, CellCache(tmp_path / "a"), progress=False)
    assert not np.allclose(a["loss"], c["loss"])  # options are part of the cache key


def test_interrupted_sweep_resumes_without_recomputing_and_matches(tmp_path):
    cache = CellCache(tmp_path / "cache")
    UniformMean.fail_after = 2
    with pytest.raises(KeyboardInterrupt):
        run_sweep(UniformMean(), GRID, cache, progress=False)
    _, planned = plan_sweep(UniformMean(), GRID, cache)
    assert sum(p.todo is None for p in planned) == 2  # the two finished cells were kept
    UniformMean.fail_after, UniformMean.calls = None, 0
    resumed = run_sweep(UniformMean(), GRID, cache, progress=False)
    assert UniformMean.calls == len(planned) - 2  # only the missing cells ran
    fresh = run_sweep(UniformMean(), GRID, CellCache(tmp_path / "fresh"), progress=False)
    write_netcdf(resumed, tmp_path / "resumed.nc")
    write_netcdf(fresh, tmp_path / "fresh.nc")
    xr.testing.assert_identical(data_only(read_netcdf(tmp_path / "resumed.nc")),
                                data_only(read_netcdf(tmp_path / "fresh.nc")))


def test_extending_the_grid_reuses_finished_cells(tmp_path):
    cache = CellCache(tmp_path)
    small = run_sweep(UniformMean(), GRID, cache, progress=False)
    UniformMean.calls = 0
    bigger = run_sweep(UniformMean(), {**GRID, "N": [10, 100, 1000, 5000]}, cache, progress=False)
    assert UniformMean.calls == 2  # only N=5000 for the two seeds
    xr.testing.assert_identical(bigger["loss"].sel(N=[10, 100, 1000]), small["loss"])


def test_extending_a_dimension_inside_cells_computes_only_the_new_points(tmp_path, monkeypatch):
    # the toy puts every p_train of an (N, seed) into one cell, so a new p_train changes every
    # cell's composition; the point index must still find the old points
    cache = CellCache(tmp_path)
    small = run_sweep(UniformMean(), GRID, cache, progress=False)
    computed = []
    original = UniformMean.run_cell
    monkeypatch.setattr(UniformMean, "run_cell", lambda self, cell, progress=None: (
        computed.append(cell), original(self, cell, progress))[1])
    bigger = run_sweep(UniformMean(), {**GRID, "p_train": [0.0, 0.25, 0.5]}, cache, progress=False)
    assert computed and all(cell["p_train"] == (0.25,) for cell in computed)
    xr.testing.assert_identical(bigger["loss"].sel(p_train=[0.0, 0.5]), small["loss"])
    assert not bigger["loss"].isnull().any()


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_digest"])
def test_corrupt_cache_entry_is_detected_and_recomputed(tmp_path, damage):
    cache = CellCache(tmp_path)
    good = run_sweep(UniformMean(), GRID, cache, progress=False)
    victim = sorted(tmp_path.rglob("*.nc"))[0]
    if damage == "truncate":
        victim.write_bytes(victim.read_bytes()[:100])
    elif damage == "flip":
        raw = bytearray(victim.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        victim.write_bytes(bytes(raw))
    else:
        victim.with_suffix(".sha256").unlink()
    UniformMean.calls = 0
    with pytest.warns(RuntimeWarning, match="corrupt"):
        again = run_sweep(UniformMean(), GRID, cache, progress=False)
    assert UniformMean.calls == 1
    xr.testing.assert_identical(data_only(again), data_only(good))


def test_without_a_terminal_each_finished_cell_is_one_log_line_with_an_eta(tmp_path, capsys):
    # Truth: pytest's captured stderr is not a terminal, so progress=None must log, not draw a
    # bar: one line per computed cell (6 here), counting up to 100 % and giving an ETA.
    run_sweep(UniformMean(), GRID, CellCache(tmp_path), progress=None)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 6 and all("ETA" in line for line in lines)
    assert [line.split(": ")[1].split(" cells")[0] for line in lines] == [f"{k}/6" for k in range(1, 7)]
    assert lines[-1].startswith("toy_uniform_mean sweep: 6/6 cells (100%)")
    run_sweep(UniformMean(), GRID, CellCache(tmp_path), progress=None)
    assert capsys.readouterr().err == ""  # nothing computed, nothing logged
