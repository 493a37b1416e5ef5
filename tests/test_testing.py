"""statmech_nn.testing: the toy experiment passes the conformance checks it illustrates, the
checks catch a broken experiment with the toolkit's PluginError, and the assertions fail when they
should."""

import numpy as np
import pytest

from statmech_nn.errors import PluginError
from statmech_nn.testing import (UniformMean, assert_follows_contract, assert_same_numbers, check_experiment,
                                 synthetic_dataset)


def test_the_toy_experiment_conforms_and_has_its_known_mean():
    ds = check_experiment(UniformMean, grid={"p_train": [0.0, 0.5], "N": [4000], "seed": [0]})
    # truth: the mean of 4000 uniform(0, 1) draws is 1/2 with standard error 1/sqrt(12 * 4000) = 0.0046
    assert np.all(np.abs(ds["loss"].values - 0.5) < 5 * 0.0046)


class _WrongCoordinates(UniformMean):
    name = "toy_wrong_coordinates"

    def run_cell(self, cell, progress=None):
        return super().run_cell(cell).assign_coords(N=[cell["N"][0] + 1])


class _MisdeclaredVariables(UniformMean):
    name = "toy_misdeclared_variables"
    variables = ("loss", "accuracy")


def test_conformance_failures_are_plugin_errors():
    with pytest.raises(PluginError, match="returned coordinates that differ from its cell in 'N'"):
        check_experiment(_WrongCoordinates, grid={"N": [10]})
    # truth: UniformMean writes loss alone, not what this subclass declares
    with pytest.raises(PluginError, match=r"wrote the variables \['loss'\], but 'variables' declares "
                                        r"\['accuracy', 'loss'\]"):
        check_experiment(_MisdeclaredVariables, grid={"N": [10]})


def test_assertions():
    ds = synthetic_dataset(p_train=(0.0,), p_eval=(0.5,), N=(128, 256, 512))
    assert_follows_contract(ds, ("loss",))
    with pytest.raises(AssertionError, match="'loss' lacks the CF attribute 'long_name'"):
        assert_follows_contract(ds.assign(loss=ds.loss.drop_attrs()))
    assert_same_numbers(ds, ds.assign_attrs(history="another command"))
    with pytest.raises(AssertionError):
        assert_same_numbers(ds, ds.assign(loss=ds.loss * 1.0000001))


def test_a_sweep_reports_a_contract_breach_as_the_toolkits_own_error(tmp_path):
    """The breach (a PluginError inside the cell) reaches the caller as the toolkit's CellError,
    naming the cell and the breach, after the other cells finished (issue 9's failure rule)."""
    from statmech_nn import CellCache, run_sweep
    from statmech_nn.errors import CellError

    with pytest.raises(CellError, match="cell .*N=10.* failed: experiment 'toy_wrong_coordinates' returned "
                                        "coordinates that differ from its cell in 'N'"):
        run_sweep(_WrongCoordinates(), {"N": [10]}, CellCache(tmp_path), progress=False)


class _BadPlan(UniformMean):
    """``plan`` from the class attribute ``cells_of(grid)``: a plan-writing mistake per test."""

    name = "toy_bad_plan"
    cells_of = None

    def plan(self, grid):
        return type(self).cells_of(grid)


@pytest.mark.parametrize("cells_of, message", [
    (lambda g: [{"p_train": g["p_train"], "N": (g["N"][0],), "seed": (0,)}] * 2,
     r"puts the grid point p_train=0\.0, N=8, seed=0 in 0 cells"),
    (lambda g: [{"p_train": g["p_train"], "N": g["N"], "seed": (0,)}, {"p_train": g["p_train"], "N": (8,), "seed": (0,)}],
     r"puts the grid point p_train=0\.0, N=8, seed=0 in 2 cells"),
    (lambda g: [{"p_train": g["p_train"], "N": g["N"] + (16,), "seed": (0,)}],
     r"returned a cell with N = 16, which is not in the grid \[4, 8\]"),
    (lambda g: [{"p_train": g["p_train"], "N": g["N"]}],
     r"returned a cell with keys \['N', 'p_train'\]; expected exactly its dims \['p_train', 'N', 'seed'\]"),
], ids=["point-left-out", "point-twice", "value-not-in-grid", "dim-missing"])
def test_a_plan_that_does_not_cover_the_grid_exactly_once_is_refused_before_any_cell(tmp_path, cells_of, message):
    """Truth: the grid N = 4, 8 x seed 0 has two points; each plan breaks the rule "every point in
    exactly one cell" in its own way. A sweep wrote the left-out point as NaN with exit 0 before;
    now the sweep and the conformance check refuse the plan, naming the experiment, and no cell
    is computed."""
    from statmech_nn import CellCache, run_sweep
    _BadPlan.cells_of, _BadPlan.calls = staticmethod(cells_of), 0
    pattern = r"^experiment 'toy_bad_plan': plan\(\) " + message
    with pytest.raises(PluginError, match=pattern):
        run_sweep(_BadPlan(), {"N": [4, 8], "seed": [0]}, CellCache(tmp_path), progress=False)
    assert _BadPlan.calls == 0
    with pytest.raises(PluginError, match=pattern):
        check_experiment(_BadPlan, grid={"N": [4, 8], "seed": [0]})


class _NoLongName(UniformMean):
    name = "toy_no_long_name"
    broken = True

    def run_cell(self, cell, progress=None):
        ds = super().run_cell(cell)
        return ds.assign(loss=ds.loss.drop_attrs()) if type(self).broken else ds


def test_a_cell_that_breaks_the_contract_is_not_cached_so_the_fixed_plugin_computes_it(tmp_path):
    """Truth: the cell's loss lacks its long_name; the sweep used to cache the cell and only then
    validate the merged file, so after the plugin was fixed the rerun read the broken cell back
    and failed the same way. Now the cell fails, naming the experiment, and nothing is cached;
    the fixed plugin's rerun computes and writes it."""
    from statmech_nn import CellCache, run_sweep
    from statmech_nn.errors import CellError

    cache = CellCache(tmp_path)
    _NoLongName.broken = True
    with pytest.raises(CellError, match=r"failed: experiment 'toy_no_long_name': run_cell's dataset breaks the "
                                        r"contract of docs/data_model.md: variable 'loss' lacks the CF attribute "
                                        r"'long_name'; 0 of 1 computed cells are cached"):
        run_sweep(_NoLongName(), {"N": [10]}, cache, progress=False)
    _NoLongName.broken = False
    assert run_sweep(_NoLongName(), {"N": [10]}, cache, progress=False)["loss"].attrs["long_name"] == "sample mean"
