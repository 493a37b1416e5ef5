"""The reference experiment through the sweep runner: extending a grid along p_eval (which the
plugin evaluates together with every other p_eval of a network) computes only the new points,
and they equal a fresh run's."""

import xarray as xr

from statmech_mnist_dropout.experiment import MnistDropoutExperiment
from statmech_nn.cache import CellCache
from statmech_nn.sweep import plan_sweep, run_sweep

OPTIONS = {"training": {"min_steps": 30, "epochs": 1.0}, "evaluation": {"n_masks": 3}}
GRID = {"p_train": [0.0, 0.5], "p_eval": [0.0, 0.5], "N": [128], "width": [16], "depth": [1], "seed": [0]}


def test_extending_p_eval_reuses_finished_points(tmp_path):
    cache = CellCache(tmp_path / "cache")
    small = run_sweep(MnistDropoutExperiment(OPTIONS), GRID, cache, progress=False)
    extended_grid = {**GRID, "p_eval": [0.0, 0.5, 0.9]}
    _, planned = plan_sweep(MnistDropoutExperiment(OPTIONS), extended_grid, cache)
    assert [p.todo["p_eval"] for p in planned] == [(0.9,)]  # only the new p_eval is computed
    extended = run_sweep(MnistDropoutExperiment(OPTIONS), extended_grid, cache, progress=False)
    fresh = run_sweep(MnistDropoutExperiment(OPTIONS), extended_grid, CellCache(tmp_path / "fresh"), progress=False)
    xr.testing.assert_identical(extended["loss"].sel(p_eval=[0.0, 0.5]), small["loss"])
    # the retrained networks are the same networks (every random stream derives from the
    # point's own coordinates), so the new points equal those of an uninterrupted fresh run
    xr.testing.assert_identical(extended.drop_attrs(deep=False), fresh.drop_attrs(deep=False))
