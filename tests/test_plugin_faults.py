"""A fault in a plugin's own code is one line naming the plugin's class, its package and where it
raised -- not a traceback into the core (a plugin author's review: an analyzer raising in a
study, a form of the wrong shape, a form that needs constructor arguments each ended in a
traceback from xarray, scipy or the CLI, exit 1). ``STATMECH_NN_DEBUG=1`` adds the traceback."""

import numpy as np
import pytest
import xarray as xr

from statmech_nn.analysis import Analyzer
from statmech_nn.analysis.base import run_analyzer
from statmech_nn.analysis.fss import SecondOrder, collapse_dataset, fit_fss
from statmech_nn.cli import main
from statmech_nn.errors import PluginError
from statmech_nn.hookspecs import hookimpl
from statmech_nn.plugin_faults import describe_failure
from statmech_nn.plugins import PluginRegistry

DATA = xr.Dataset({"y": (("L",), np.array([1.0, 2.0]), {"long_name": "y", "units": "1"})},
                  coords={"L": ("L", [8, 16], {"long_name": "size", "units": "1"})})


class _Raises(Analyzer):
    name = "raises"

    def run(self, data, **options):
        return data["no_such_variable"]


class _ReturnsFloat(Analyzer):
    name = "returns_float"

    def run(self, data, **options):
        return float(data["y"].mean())


class _Mutates(Analyzer):
    name = "mutates"

    def run(self, data, **options):
        data["y"] *= 2
        return data


class _Keeps(Analyzer):
    name = "keeps"

    def run(self, data, **options):
        return data.assign(z=data["y"] * 2)


@pytest.mark.parametrize("cls, message", [
    (_Raises, r"^analyzer 'raises' \(test_plugin_faults\) failed: KeyError: .*no_such_variable.* "
              r"\(at .+\.py:\d+\)$"),
    (_ReturnsFloat, r"^analyzer 'returns_float': run returned float, expected an xarray\.Dataset$"),
    (_Mutates, r"^analyzer 'mutates': run changed its input dataset"),
], ids=["raises", "returns-a-float", "mutates-its-input"])
def test_an_analyzer_breaking_its_contract_is_one_line_naming_it(cls, message):
    # Truth: each analyzer breaks one rule of analysis/base.py's contract; a well-behaved one
    # passes and its input is untouched.
    data = DATA.copy(deep=True)
    with pytest.raises(PluginError, match=message):
        run_analyzer(cls, data)
    xr.testing.assert_equal(run_analyzer(_Keeps, DATA)["z"], (DATA["y"] * 2).rename("z"))


def test_the_failure_names_the_innermost_frame():
    # Truth: the line that raised is the innermost frame of the traceback (this file, the line
    # of the division), where a plugin author starts looking.
    try:
        1 / 0
    except ZeroDivisionError as exc:
        line = exc.__traceback__.tb_lineno
        assert describe_failure(exc) == f"ZeroDivisionError: division by zero (at tests/test_plugin_faults.py:{line})"


class _FlatForm(SecondOrder):
    """Second order, but with the walker axis dropped: shape (n,) instead of (W, n)."""

    name = "flat"

    def __init__(self):  # no correction to switch
        super().__init__()

    def scaling_variable(self, control, size, theta):
        return super().scaling_variable(control, size, theta)[0]


class _NeedsArgs(SecondOrder):
    name = "needs_args"

    def __init__(self, k):
        super().__init__()


class _FormPlugin:
    @hookimpl
    def register_scaling_forms(self):
        return [_FlatForm, _NeedsArgs]


def test_a_form_of_the_wrong_shape_is_one_line_before_the_fit():
    # Truth: the form contract is (W, n) arrays; (n,) made scipy's differential evolution fail
    # with "The map-like callable must be of the form f(func, iterable)".
    ds = collapse_dataset("second_order", sizes=(8, 16), n_control=6, seed=1)
    with pytest.raises(PluginError, match=r"^scaling form 'flat': scaling_variable returned shape \(12,\) for 2 "
                                          r"walkers and 12 points; expected \(W, n\) = \(2, 12\)$"):
        fit_fss(ds, "y", err="y_err", size_dim="L", control_dim="p", form=_FlatForm(), n_walkers=8, n_tau=2,
                max_steps=50)


def test_cli_forms_that_cannot_be_built_or_switched_are_one_line(tmp_path, monkeypatch, capsys):
    # Truth: a registered form whose constructor needs an argument (the contract: none) is the
    # plugin's fault, named with its package; --no-corrections over a form without a correction
    # is that form as it is (a comparison with a form that has one must accept the flag), while
    # --corrections cannot switch on what it lacks.
    from statmech_nn import plugins

    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(_FormPlugin(), "form_plugin")
    monkeypatch.setattr(plugins, "_REGISTRY", registry)
    path = tmp_path / "d.nc"
    collapse_dataset("second_order", sizes=(8, 16), n_control=6, seed=1).to_netcdf(path)
    base = ["analyze", "fss", str(path), "--var", "y", "--err", "y_err", "--size", "L", "--control", "p",
            "--walkers", "12", "--n-tau", "2", "--max-steps", "50"]
    assert main([*base, "--form", "needs_args"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "scaling form 'needs_args' (test_plugin_faults) failed: TypeError:" in err and "missing 1 required" in err
    assert main([*base, "--form", "flat", "--corrections"]) == 2
    assert "--corrections: scaling form 'flat' has no correction to switch on" in capsys.readouterr().err
    assert main([*base, "--compare", "flat,second_order", "--no-corrections"]) == 2   # accepted; the shape is not
    assert "scaling form 'flat': scaling_variable returned shape (12,)" in capsys.readouterr().err
