"""statmech_nn.testing: the toy experiment passes the conformance checks it illustrates, the
checks catch a broken experiment with the toolkit's DataError, and the assertions fail when they
should."""

import numpy as np
import pytest

from statmech_nn.errors import DataError
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


def test_conformance_failures_are_data_errors():
    with pytest.raises(DataError, match="coordinate 'N' differs from the cell"):
        check_experiment(_WrongCoordinates, grid={"N": [10]})
    # truth: UniformMean writes loss alone, not what this subclass declares
    with pytest.raises(DataError, match=r"wrote the variables \['loss'\], but 'variables' declares "
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
