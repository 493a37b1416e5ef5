"""The reference experiment through the sweep runner: extending a grid along p_eval (which the
plugin evaluates together with every other p_eval of a network) computes only the new points,
from the stored trained networks, and they equal a fresh run's."""

import sqlite3
from contextlib import closing

import xarray as xr

from statmech_mnist_dropout import cell
from statmech_mnist_dropout.experiment import MnistDropoutExperiment
from statmech_nn.cache import CellCache, point_key
from statmech_nn.sweep import cell_point_list, plan_sweep, run_sweep

OPTIONS = {"training": {"min_steps": 30, "epochs": 1.0}, "evaluation": {"n_masks": 3}}
GRID = {"p_train": [0.0, 0.5], "p_eval": [0.0, 0.5], "N": [128], "width": [16], "depth": [1], "seed": [0]}


def counting_training(monkeypatch) -> list:
    """Record every call of the real trainer of a cell part (a spy: it still trains)."""
    calls = []
    real = cell.train_part

    def spy(part, *args, **kwargs):
        calls.append(part)
        return real(part, *args, **kwargs)

    monkeypatch.setattr(cell, "train_part", spy)
    return calls


def test_extending_p_eval_reuses_finished_points(tmp_path, monkeypatch):
    cache = CellCache(tmp_path / "cache")
    trained = counting_training(monkeypatch)
    small = run_sweep(MnistDropoutExperiment(OPTIONS), GRID, cache, progress=False)
    assert trained  # the first sweep trains
    extended_grid = {**GRID, "p_eval": [0.0, 0.5, 0.9]}
    _, planned = plan_sweep(MnistDropoutExperiment(OPTIONS), extended_grid, cache)
    assert [p.todo["p_eval"] for p in planned] == [(0.9,)]  # only the new p_eval is computed
    trained.clear()
    extended = run_sweep(MnistDropoutExperiment(OPTIONS), extended_grid, cache, progress=False)
    assert trained == []  # ... from the stored networks: nothing is trained again
    fresh = run_sweep(MnistDropoutExperiment(OPTIONS), extended_grid, CellCache(tmp_path / "fresh"), progress=False)
    xr.testing.assert_identical(extended["loss"].sel(p_eval=[0.0, 0.5]), small["loss"])
    # the retrained networks are the same networks (every random stream derives from the
    # point's own coordinates), so the new points equal those of an uninterrupted fresh run
    xr.testing.assert_identical(extended.drop_attrs(deep=False), fresh.drop_attrs(deep=False))


def test_new_evaluation_options_reuse_trained_networks_but_new_training_options_do_not(tmp_path, monkeypatch):
    # Truth: the stored networks are keyed by what training depends on (weights.py), not by
    # the evaluation options; a changed learning rate must train anew.
    cache = CellCache(tmp_path / "cache")
    trained = counting_training(monkeypatch)
    run_sweep(MnistDropoutExperiment(OPTIONS), GRID, cache, progress=False)
    trained.clear()
    more_masks = {**OPTIONS, "evaluation": {"n_masks": 5}}
    with_store = run_sweep(MnistDropoutExperiment(more_masks), GRID, cache, progress=False)
    assert trained == []
    without = run_sweep(MnistDropoutExperiment(more_masks), GRID, CellCache(tmp_path / "fresh"), progress=False)
    xr.testing.assert_identical(with_store.drop_attrs(deep=False), without.drop_attrs(deep=False))
    run_sweep(MnistDropoutExperiment({**OPTIONS, "training": {**OPTIONS["training"], "lr": 2e-3}}), GRID, cache,
              progress=False)
    assert trained


def test_a_lost_point_index_recomputes_the_point_within_the_stated_bound(tmp_path, monkeypatch):
    # A lost point-index entry of a cell stored whole is found again under the cell's own key and
    # re-indexed: nothing is computed. Where the points are planned into another cell (here a
    # sub-grid, seed 0 of two), the lost point is recomputed alone, in a smaller cell, from the
    # stored trained network (nothing is retrained). Evaluation then runs in another batching
    # (fewer networks per batched product), so float32 products are rounded in another order:
    # the bound stated in docs/mnist_dropout.md ("Seeds and common random numbers") is a
    # relative 1e-6 on the loss (float32 per-image losses ~1e-7 relative, averaged in float64;
    # 2.6e-9 absolute was seen) and at most 2 test images changing their argmax on the accuracy
    # (a near-tie flipped by rounding). Truth: the first sweep's values.
    experiment = MnistDropoutExperiment(OPTIONS)
    grid = {**GRID, "p_eval": [0.0, 0.5, 0.9], "seed": [0, 1]}
    cache = CellCache(tmp_path / "cache")
    first = run_sweep(experiment, grid, cache, progress=False)
    index = tmp_path / "cache" / "points.sqlite"
    sub = {**grid, "seed": [0]}
    keys = [point_key(experiment.result_identity(), p) for p in cell_point_list(experiment.validate_grid(sub))]

    def lose(key: str) -> None:
        with closing(sqlite3.connect(index)) as db, db:
            assert db.execute("DELETE FROM points WHERE point = ?", (key,)).rowcount == 1

    lose(keys[0])
    _, planned = plan_sweep(experiment, grid, cache)
    assert all(p.todo is None for p in planned)                     # re-indexed from the whole cell
    trained = counting_training(monkeypatch)
    for lost in (keys[0], keys[len(keys) // 2]):
        lose(lost)
        _, planned = plan_sweep(experiment, sub, cache)
        todo = [p.todo for p in planned if p.todo is not None]
        assert len(todo) == 1 and all(len(v) == 1 for v in todo[0].values())  # one point alone
        again = run_sweep(experiment, sub, cache, progress=False)
        assert trained == []  # evaluated from the stored network
        expected = first.sel(seed=[0])
        xr.testing.assert_allclose(again["loss"], expected["loss"], rtol=1e-6, atol=0)
        xr.testing.assert_allclose(again["accuracy"], expected["accuracy"], rtol=0, atol=2 / 10_000)
